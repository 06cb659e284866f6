#include "data/progress.h"

#include <fmt/format.h>

#include <cstdio>

namespace digits {

Progress::Progress(bool bar, double line_interval_s) : bar_(bar), line_interval_s_(line_interval_s) {}

Progress::~Progress() {
  if (bar_visible_) std::fputc('\n', stderr);
}

void Progress::start(const std::string& label, int64_t total) {
  label_ = label;
  total_ = total;
  done_ = 0;
  active_ = true;
  start_ = last_draw_ = Clock::now();
  if (bar_) draw(false);
}

void Progress::update(int64_t done) {
  done_ = done;
  if (!active_) return;
  double since = std::chrono::duration<double>(Clock::now() - last_draw_).count();
  if (since >= (bar_ ? 0.1 : line_interval_s_)) draw(false);
}

void Progress::finish() {
  if (!active_) return;
  draw(true);
  active_ = false;
}

void Progress::message(const std::string& line) {
  if (bar_visible_) {
    std::fputs("\r\033[K", stderr);
    bar_visible_ = false;
  }
  std::fputs(line.c_str(), stderr);
  std::fputc('\n', stderr);
  if (bar_ && active_) draw(false);
}

void Progress::draw(bool final) {
  last_draw_ = Clock::now();
  double seconds = std::chrono::duration<double>(last_draw_ - start_).count();
  double rate = seconds > 0 ? static_cast<double>(done_) / seconds : 0.0;
  double fraction = total_ > 0 ? static_cast<double>(done_) / static_cast<double>(total_) : 1.0;
  if (bar_) {
    constexpr int width = 30;
    int filled = static_cast<int>(fraction * width);
    std::string bar(static_cast<size_t>(filled), '#');
    bar.resize(width, ' ');
    std::string eta;
    if (!final && rate > 0 && done_ < total_)
      eta = fmt::format(", {:.0f}s left", static_cast<double>(total_ - done_) / rate);
    fmt::print(stderr, "\r\033[K{} [{}] {}/{} {:.0f}/s{}", label_, bar, done_, total_, rate, eta);
    bar_visible_ = true;
    if (final) {
      std::fputc('\n', stderr);
      bar_visible_ = false;
    }
  } else {
    fmt::print(stderr, "{}: {}/{} ({:.0f}%), {:.0f}/s, {:.1f}s\n", label_, done_, total_, 100.0 * fraction,
               rate, seconds);
  }
  std::fflush(stderr);
}

}  // namespace digits
