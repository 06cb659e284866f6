#include "infer/topn.h"

#include <algorithm>

#include "core/error.h"
#include "infer/draw.h"
#include "infer/preprocess.h"

namespace digits {

namespace {
// Larger pictures are refused before allocating (3 bytes per pixel).
constexpr int64_t kMaxGridPixels = int64_t(1) << 28;
}  // namespace

TopNCollector::TopNCollector(int64_t classes, int64_t n) : n_(n) {
  DIGITS_CHECK(classes > 0 && n > 0, "top-N over {} classes, n = {}", classes, n);
  per_class_.resize(static_cast<size_t>(classes));
}

void TopNCollector::add(int64_t item, const float* probs) {
  for (size_t c = 0; c < per_class_.size(); ++c) {
    std::vector<TopNEntry>& best = per_class_[c];
    const float p = probs[c];
    if (static_cast<int64_t>(best.size()) == n_ && !(p > best.back().probability)) continue;
    // After every entry at least as good: earlier items win ties.
    auto at = std::find_if(best.begin(), best.end(),
                           [p](const TopNEntry& e) { return p > e.probability; });
    best.insert(at, TopNEntry{item, p});
    if (static_cast<int64_t>(best.size()) > n_) best.pop_back();
  }
}

Image topn_grid(const Classifier& classifier, const std::vector<ImageItem>& items,
                const std::vector<std::vector<TopNEntry>>& per_class, int64_t n) {
  const Preprocess& pre = classifier.preprocess();
  const int64_t rows = static_cast<int64_t>(per_class.size());
  const int64_t gap = 2, scale = pre.height >= 48 ? 2 : 1;
  const int64_t label_w = number_length(std::max<int64_t>(0, rows - 1), scale) + 2 * gap;
  const int64_t width = label_w + n * (pre.width + gap) + gap;
  const int64_t height = rows * (pre.height + gap) + gap;
  if (width * height > kMaxGridPixels)
    fail_usage("top-N grid of {} classes x {} images of {}x{} would be {}x{} pixels (at most {}): "
               "use a smaller -n",
               rows, n, pre.width, pre.height, width, height, kMaxGridPixels);
  Image canvas = make_canvas(width, height, Rgb{48, 48, 48});
  DecodeOptions decode;
  decode.channels = static_cast<int>(pre.channels);
  decode.target_width = pre.width;
  decode.target_height = pre.height;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t y = gap + r * (pre.height + gap);
    draw_number(canvas, gap, y + (pre.height - 5 * scale) / 2, r, scale, Rgb{230, 230, 230});
    for (size_t i = 0; i < per_class[r].size(); ++i) {
      const ImageItem& item = items[per_class[r][i].item];
      Image tile = resize_to_record(read_image_file(item.path, decode), pre);
      paste_image(canvas, tile, label_w + static_cast<int64_t>(i) * (pre.width + gap), y);
    }
  }
  return canvas;
}

std::string topn_listing(const Classifier& classifier, const std::vector<ImageItem>& items,
                         const std::vector<std::vector<TopNEntry>>& per_class) {
  std::string out;
  for (size_t c = 0; c < per_class.size(); ++c)
    for (size_t i = 0; i < per_class[c].size(); ++i)
      out += fmt::format("{}\t{}\t{}\t{:.6f}\t{}\n", c, classifier.labels()[c], i + 1,
                         per_class[c][i].probability, items[per_class[c][i].item].path);
  return out;
}

}  // namespace digits
