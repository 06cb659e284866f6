// `digits-infer evaluate`: a snapshot run over a dataset split's LMDB records, with the
// transforms training used for validation (BatchLoader, centre crop, no mirror, no shuffle):
// top-1 and top-5 accuracy, per-class precision and recall, and the confusion matrix as text,
// JSON and an image.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/image.h"
#include "infer/classifier.h"

namespace digits {

struct EvaluateOptions {
  ClassifierOptions classifier;
  std::string dataset;          // dataset directory (digits-dataset create -o, or DIGITS's)
  std::string split = "val";    // val | test | train
};

// Counts for one evaluation; add() is the only way in, so the numbers always agree.
struct Evaluation {
  std::string job_dir, weights, dataset, split;
  std::vector<std::string> labels;
  int64_t count = 0;
  int64_t top1_correct = 0, topk_correct = 0;
  int64_t top_k = 5;                           // min(5, classes)
  std::vector<std::vector<int64_t>> confusion;  // [true class][predicted class]
  std::vector<std::string> notes;              // warnings (class names that differ, ...)

  explicit Evaluation(std::vector<std::string> class_names = {});
  // One image with its true class and its probabilities (classes). Ties rank the lower class
  // index first.
  void add(int true_class, const float* probs);

  double accuracy() const;       // top-1; 0 when empty
  double topk_accuracy() const;
  int64_t support(int c) const;    // images whose true class is c (row sum)
  int64_t predicted(int c) const;  // images predicted as c (column sum)
  // NaN when undefined (no image predicted as c / no image of class c).
  double precision(int c) const;
  double recall(int c) const;
};

// Loads the job's snapshot and runs every record of the split. Error(usage) for a split the
// dataset does not have (naming the ones it has), Error(data) when the dataset's records or
// classes do not match the job (shape, class count) or a record's label is out of range.
Evaluation evaluate(const EvaluateOptions& options);

// For people: accuracy lines, a per-class table (precision, recall, support) and the confusion
// matrix (rows: true class, columns: predicted).
std::string evaluation_text(const Evaluation& evaluation);
// One JSON object: job, weights, dataset, split, count, accuracy, top_k, top_k_accuracy,
// classes [{index, name, precision, recall, support, predicted}] (null precision/recall when
// undefined), confusion [[...], ...].
std::string evaluation_json(const Evaluation& evaluation);
// The confusion matrix as a picture: one square cell per (true, predicted) pair, rows top to
// bottom by true class, columns left to right by predicted class, shaded white (0) to dark blue
// (every image of the row) by the fraction of the row; class numbers drawn along the top and
// left edges when the cells are large enough. RGB.
Image confusion_matrix_image(const Evaluation& evaluation);

}  // namespace digits
