// Batches for training and validation, from a dataset split (an LMDB of Caffe Datum records),
// decoded and transformed on a background thread so compute rarely waits on data.
//
// The sample stream is the concatenation of per-epoch permutations of the split (seeded by
// (seed, epoch); the identity when not shuffling), and batch g holds stream positions
// [g * batch, (g + 1) * batch). Every random choice for a sample (crop offset, mirror) derives
// from (seed, stream position) only. So the data cursor is just the batch index: resuming at
// batch g reproduces exactly the batches an uninterrupted run would have seen.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "data/lmdb_store.h"

namespace digits {

// What a training job needs to know about a dataset directory. Works for directories made by
// NVIDIA DIGITS too (no dataset.yaml): the shape comes from the first record.
struct DatasetView {
  std::string dir;
  std::vector<std::string> labels;   // labels.txt, line i = class i
  int64_t channels = 0, height = 0, width = 0;
  std::vector<float> mean;           // (C, H, W) BGR from mean.binaryproto; empty if none
  bool has_split(const std::string& split) const;
  std::string db_path(const std::string& split) const;  // DIR/<split>_db
};
DatasetView open_dataset_view(const std::string& dir);

struct BatchLoaderOptions {
  std::string db_dir;           // DIR/train_db
  int64_t batch_size = 64;
  int64_t channels = 1, height = 28, width = 28;  // the records' shape
  int64_t crop = 0;             // 0: none; else output is crop x crop
  bool random_crop = false;     // train: random offsets; otherwise centre
  bool mirror = false;          // random horizontal flips
  bool shuffle = false;         // per-epoch permutation
  uint64_t seed = 1;
  std::string mean_mode = "none";  // none | image | pixel
  std::vector<float> mean;      // (C, H, W), needed unless mean_mode is none
  float scale = 1.0f;           // applied after mean subtraction (network's data_scale)
  // Leave the transform (crop, mirror, mean, scale) to the backend, for a GPU: batches then
  // carry the raw records with each sample's crop corner and mirror flag (Batch::pixels, ...)
  // instead of floats, for Backend::upload_transform. The draws are the same either way.
  bool device_transform = false;
  int64_t cache_bytes = int64_t(2) << 30;  // decoded records kept in memory up to this size
};

struct Batch {
  std::vector<float> data;    // (N, C, out_h, out_w); empty with device_transform
  // With device_transform instead of data: the records (N, C, H, W) uint8 as stored, and each
  // sample's crop corner and mirror flag (N each), as transform_sample would take them.
  std::vector<uint8_t> pixels;
  std::vector<int32_t> crop_y, crop_x;
  std::vector<uint8_t> mirror;
  std::vector<float> labels;  // (N)
  std::vector<int64_t> records;  // (N) record numbers (BatchLoader::key() names them)
  int64_t index = 0;          // global batch index
  int64_t count = 0;          // N (the last validation batch may be short)
};

class BatchLoader {
 public:
  explicit BatchLoader(const BatchLoaderOptions& options);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  int64_t size() const { return static_cast<int64_t>(keys_.size()); }
  const std::string& key(int64_t record) const { return keys_[static_cast<size_t>(record)]; }
  int64_t out_height() const;
  int64_t out_width() const;

  // Starts producing batches first_batch, first_batch + 1, ... in the background. With
  // `one_pass`, the stream is one epoch in order and the last batch is short (validation).
  void start(int64_t first_batch, bool one_pass = false);
  // The next batch (blocks until ready); count 0 after the end of a one-pass stream.
  // Adds the time spent blocked to waited_seconds().
  const Batch& next();
  double waited_seconds() const { return waited_; }
  void stop();

 private:
  void produce();
  void fill(int64_t batch_index, Batch& batch);
  void load_record(int64_t record, uint8_t* out) const;  // (C, H, W) uint8

  BatchLoaderOptions options_;
  std::unique_ptr<LmdbReader> reader_;
  std::vector<std::string> keys_;
  std::vector<int32_t> record_labels_;
  std::vector<uint8_t> cache_;  // decoded records, when they fit in cache_bytes
  bool cached_ = false;

  // Epoch permutation, computed on demand by the producer.
  std::vector<int64_t> permutation_;
  int64_t permutation_epoch_ = -1;
  const std::vector<int64_t>& permutation(int64_t epoch);

  static constexpr int kSlots = 3;
  Batch slots_[kSlots];
  int64_t produced_ = 0, consumed_ = 0;  // batches since start()
  int64_t first_batch_ = 0;
  bool one_pass_ = false;
  bool stopping_ = false;
  std::string error_;
  int64_t error_index_ = -1;  // the batch (counted from start()) that failed
  std::mutex mutex_;
  std::condition_variable changed_;
  std::thread worker_;
  double waited_ = 0;
};

}  // namespace digits
