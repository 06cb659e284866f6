// A trained classifier loaded from a job directory (train/job_dir.h): the network built for the
// deploy phase, a snapshot's weights in it, the class names and the preprocessing, ready to
// turn batches of preprocessed images into class probabilities.
//
// What can go wrong, and the exit status it maps to (DESIGN.md section 5):
//  - JOBDIR is not a job directory, the snapshot asked for does not exist: Error(usage), 2;
//  - the job directory is incomplete (no network.yaml, labels.txt, preprocess.yaml, mean) or
//    the weights do not fit the network (a tensor missing, another shape: every one is named),
//    the network's output does not match labels.txt: Error(data), 3;
//  - no GPU where --device asks for one: Error(missing), 4.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nn/net.h"
#include "train/job_dir.h"
#include "train/safetensors.h"

namespace digits {

struct ClassifierOptions {
  std::string job_dir;
  std::string snapshot = "last";  // "last", "best" or an epoch number ("3", "2.5")
  std::string device = "cpu";     // cpu | gpu | gpu:N | auto (backend_for)
  int64_t batch_size = 64;        // images per forward pass
};

// Copies every parameter of `net` from the tensor of the same name ("<layer>.<param>") in
// `weights`. All problems are collected first, then reported in one Error(data) naming the file
// and each missing tensor and each shape mismatch (with both shapes). Returns the names of
// tensors in the file that the net has no parameter for (not an error: the caller may warn).
std::vector<std::string> load_net_weights(Net& net, const SafetensorsFile& weights);

// The job's class names (labels.txt, line i = class i). Error(data) when missing or empty.
std::vector<std::string> read_job_labels(const std::string& job_dir);

class Classifier {
 public:
  explicit Classifier(const ClassifierOptions& options);
  Classifier(const Classifier&) = delete;
  Classifier& operator=(const Classifier&) = delete;

  const std::string& job_dir() const { return options_.job_dir; }
  const Preprocess& preprocess() const { return preprocess_; }
  const std::vector<float>& mean() const { return mean_; }  // (C, H, W); empty for mean none
  const std::vector<std::string>& labels() const { return labels_; }
  const SnapshotInfo& snapshot() const { return snapshot_; }
  int64_t num_classes() const { return static_cast<int64_t>(labels_.size()); }
  int64_t batch_size() const { return options_.batch_size; }
  // Floats per preprocessed image: channels * out_h * out_w.
  int64_t sample_size() const { return sample_size_; }
  const std::string& output_name() const { return output_name_; }
  // Warnings found while loading (tensors in the weights file the network does not use).
  const std::vector<std::string>& notes() const { return notes_; }

  // samples: n preprocessed images, (n, C, out_h, out_w), 1 <= n <= batch_size().
  // Returns probabilities (n, num_classes), each row summing to 1: the network's Softmax output,
  // or the softmax of its last output when the network ends without one.
  std::vector<float> classify_batch(const float* samples, int64_t n);

 private:
  ClassifierOptions options_;
  Preprocess preprocess_;
  std::vector<float> mean_;
  std::vector<std::string> labels_;
  SnapshotInfo snapshot_;
  std::unique_ptr<Net> net_;
  std::string input_name_, output_name_;
  bool output_is_softmax_ = false;
  int64_t sample_size_ = 0;
  std::vector<std::string> notes_;
};

// Indices of the k largest values of probs[0 .. count), largest first; ties keep the lower index
// first. k is clamped to count.
std::vector<int> top_k_indices(const float* probs, int64_t count, int64_t k);

}  // namespace digits
