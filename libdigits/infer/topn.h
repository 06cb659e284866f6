// `digits-infer topn` (DIGITS's "Top N Predictions per Category"): for each class, the N images
// of a list that score highest for it, tiled into one picture with one row per class.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "data/image.h"
#include "infer/classify.h"

namespace digits {

struct TopNEntry {
  int64_t item = 0;         // index into the items
  float probability = 0.0f;  // the class's probability for that image
};

// Keeps, for each of `classes` classes, the n items with the highest probability for it
// (ties: the earlier item first).
class TopNCollector {
 public:
  TopNCollector(int64_t classes, int64_t n);
  void add(int64_t item, const float* probs);  // probs: (classes)
  // Best first, at most n entries per class.
  const std::vector<std::vector<TopNEntry>>& per_class() const { return per_class_; }

 private:
  int64_t n_;
  std::vector<std::vector<TopNEntry>> per_class_;
};

// The picture: row c holds class c's entries left to right, best first; each tile is the image
// as the network saw it before the mean (resized to the job's record size, preprocess's
// resize mode), tiles `gap` pixels apart, the class number at the left of each row. Images are
// read again from items[entry.item].path. RGB.
Image topn_grid(const Classifier& classifier, const std::vector<ImageItem>& items,
                const std::vector<std::vector<TopNEntry>>& per_class, int64_t n);

// One line per tile, in grid order: "CLASS_INDEX<TAB>CLASS<TAB>RANK<TAB>PROBABILITY<TAB>PATH".
std::string topn_listing(const Classifier& classifier, const std::vector<ImageItem>& items,
                         const std::vector<std::vector<TopNEntry>>& per_class);

}  // namespace digits
