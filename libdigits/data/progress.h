// Progress on stderr (DESIGN.md section 5): a bar redrawn in place when stderr is a terminal,
// plain periodic lines otherwise (logs, CI, Slurm output files). Messages printed through
// message() never garble the bar. Single-threaded: call from the thread that owns the loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace digits {

class Progress {
 public:
  // bar: redraw in place (use isatty(2)); line_interval_s: seconds between plain lines.
  explicit Progress(bool bar, double line_interval_s = 5.0);
  ~Progress();

  // Begins a phase of `total` units ("train", 45000).
  void start(const std::string& label, int64_t total);
  // Cheap when called often: draws at most 10 times a second (bar) or once per interval (lines).
  void update(int64_t done);
  // Draws the final state of the phase (a bar ends with a newline).
  void finish();
  // One line of text on stderr, above the bar when one is showing.
  void message(const std::string& line);

 private:
  void draw(bool final);

  using Clock = std::chrono::steady_clock;
  bool bar_;
  double line_interval_s_;
  std::string label_;
  int64_t total_ = 0, done_ = 0;
  bool active_ = false;
  bool bar_visible_ = false;
  Clock::time_point start_, last_draw_;
};

}  // namespace digits
