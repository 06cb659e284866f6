// Classifying many images (DIGITS's "Classify One" and "Classify Many"): the inputs (files,
// folders, DIGITS's `path [label]` lists, paths on stdin), batched inference that answers every
// good item and reports each bad one, and the output formats.
#pragma once

#include <cstdint>
#include <functional>
#include <istream>
#include <string>
#include <vector>

#include "infer/classifier.h"

namespace digits {

struct ImageItem {
  std::string path;
  int32_t label = -1;   // ground truth class index; -1 when the input gave none
  std::string origin;   // where it came from, for messages: "list.txt:12", or the path itself
  std::string problem;  // set when the input itself is bad (an out-of-range label): not run
};

// DIGITS's list format, one image per line: "PATH" or "PATH LABEL" where LABEL is a
// non-negative integer separated from the path by whitespace (the path may contain spaces).
// Blank lines and lines starting with '#' are skipped. Relative paths are joined to `folder`
// when it is not empty. A label >= num_classes makes the item bad (ImageItem::problem);
// num_classes 0 ignores labels (topn: accepted, not used).
std::vector<ImageItem> parse_image_list(std::istream& in, const std::string& origin,
                                        const std::string& folder, int64_t num_classes);
// The same from a file; Error(usage) when it cannot be opened.
std::vector<ImageItem> read_image_list(const std::string& path, const std::string& folder,
                                       int64_t num_classes);
// Every file with an image extension (data/dataset_sources.h) under `dir`, recursively, sorted.
std::vector<ImageItem> list_image_folder(const std::string& dir);
// Command-line arguments: a file is one item, a directory all images under it (as
// list_image_folder), "-" a list read from `stdin_list` (parse_image_list).
std::vector<ImageItem> collect_image_items(const std::vector<std::string>& args,
                                           std::istream& stdin_list, int64_t num_classes);

struct ItemResult {
  const ImageItem* item = nullptr;
  const float* probs = nullptr;  // (num_classes) probabilities; nullptr when the item failed
  std::string error;             // why it failed: "path: cannot open: No such file or directory"
};

struct ClassifySummary {
  int64_t items = 0, failed = 0;
  int64_t labelled = 0;              // answered items that carried a label
  int64_t top1_correct = 0, top5_correct = 0;
  int64_t top5 = 5;                  // the k of "top-5": min(5, classes)
};

// Runs the items through the classifier in batches of classifier.batch_size() (decoding and
// preprocessing in parallel), calling on_result once per item in input order; a bad item
// (unreadable, corrupt, a bad list line) gets its error and the others are still answered.
ClassifySummary classify_items(Classifier& classifier, const std::vector<ImageItem>& items,
                               const std::function<void(const ItemResult&)>& on_result);

enum class ResultFormat { table, csv, jsonl };
ResultFormat parse_result_format(const std::string& name);  // usage error listing the choices

// One line per answered image (each ends with '\n'):
//  table: "PATH  CLASS (97.12%)  CLASS (2.10%) ..." with, when with_labels, the true class name
//         after the path in square brackets ("[-]" for an item without one);
//  csv:   header "image,label,class_1,probability_1,...,class_N,probability_N" (label column
//         only with_labels; RFC 4180 quoting);
//  jsonl: {"image": PATH, "label": I, "label_name": NAME, "top": [{"class": NAME, "index": I,
//         "probability": P}, ...]} ("label"/"label_name" only for items with a label).
class ResultFormatter {
 public:
  ResultFormatter(ResultFormat format, const std::vector<std::string>& labels, int64_t top,
                  bool with_labels);
  std::string header() const;  // csv: the header line; "" for the others
  std::string line(const ItemResult& result) const;

 private:
  ResultFormat format_;
  const std::vector<std::string>& labels_;
  int64_t top_;
  bool with_labels_;
};

// "top-1 accuracy 0.9000 (9/10), top-5 accuracy 1.0000 (10/10) over 10 labelled images".
std::string accuracy_summary(const ClassifySummary& summary);

}  // namespace digits
