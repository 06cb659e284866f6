#include "data/batch_loader.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/fs.h"
#include "core/rng.h"
#include "data/datum.h"
#include "data/image.h"
#include "data/transform.h"

namespace digits {

namespace fs = std::filesystem;

bool DatasetView::has_split(const std::string& split) const {
  return fs::exists(fs::path(db_path(split)) / "data.mdb");
}

std::string DatasetView::db_path(const std::string& split) const {
  return (fs::path(dir) / (split + "_db")).string();
}

DatasetView open_dataset_view(const std::string& dir) {
  DatasetView view;
  view.dir = dir;
  if (!fs::is_directory(dir)) fail_usage("dataset {}: no such directory", dir);
  std::string labels_path = (fs::path(dir) / "labels.txt").string();
  if (!fs::exists(labels_path))
    fail_data("dataset {}: labels.txt is missing (not a dataset made by digits-dataset or DIGITS)",
              dir);
  std::ifstream labels(labels_path);
  for (std::string line; std::getline(labels, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) view.labels.push_back(line);
  }
  if (view.labels.empty()) fail_data("{}: no class names", labels_path);
  if (!view.has_split("train")) fail_data("dataset {}: train_db is missing", dir);

  // The shape comes from the first training record (DIGITS datasets have no manifest).
  LmdbReader reader(view.db_path("train"));
  bool found = false;
  reader.for_each([&](std::string_view key, std::string_view value) {
    std::string what = fmt::format("{} record {}", reader.dir(), key);
    Datum datum = parse_datum(value, what);
    if (datum.encoded) {
      Image image = decode_image(reinterpret_cast<const uint8_t*>(datum.data.data()),
                                 datum.data.size(), DecodeOptions{});
      view.channels = datum.channels > 0 ? datum.channels : image.channels;
      view.height = image.height;
      view.width = image.width;
    } else {
      check_datum_shape(datum, what);
      view.channels = datum.channels;
      view.height = datum.height;
      view.width = datum.width;
    }
    found = true;
    return false;
  });
  if (!found) fail_data("dataset {}: train_db has no records", dir);

  std::string mean_path = (fs::path(dir) / "mean.binaryproto").string();
  if (fs::exists(mean_path)) {
    BlobProto blob = parse_blob_proto(read_file(mean_path, size_t(1) << 30), mean_path);
    int64_t expected = view.channels * view.height * view.width;
    if (static_cast<int64_t>(blob.data.size()) != expected)
      fail_data("{}: {} values, expected {} for records of {}x{}x{}", mean_path, blob.data.size(),
                expected, view.channels, view.height, view.width);
    view.mean = std::move(blob.data);
  }
  return view;
}

BatchLoader::BatchLoader(const BatchLoaderOptions& options) : options_(options) {
  if (options_.crop > 0 && (options_.crop > options_.height || options_.crop > options_.width))
    fail_usage("transforms.crop {} is larger than the dataset's images ({}x{})", options_.crop,
               options_.width, options_.height);
  int64_t sample = options_.channels * options_.height * options_.width;
  if (options_.mean_mode != "none" && static_cast<int64_t>(options_.mean.size()) != sample)
    fail_usage("transforms.mean {}: the dataset has no mean image (made with --no-mean?); use "
               "transforms.mean=none", options_.mean_mode);
  reader_ = std::make_unique<LmdbReader>(options_.db_dir);
  reader_->for_each([&](std::string_view key, std::string_view) {
    keys_.emplace_back(key);
    return true;
  });
  if (keys_.empty()) fail_data("{}: no records", options_.db_dir);
  record_labels_.assign(keys_.size(), 0);

  // Decode everything once when it fits: training then never waits on decoding.
  int64_t total = sample * size();
  if (total <= options_.cache_bytes) {
    cache_.resize(static_cast<size_t>(total));
    std::string error;
#pragma omp parallel for schedule(dynamic, 64)
    for (int64_t i = 0; i < size(); ++i) {
      try {
        load_record(i, cache_.data() + i * sample);
      } catch (const Error& e) {
#pragma omp critical
        if (error.empty()) error = e.what();
      }
    }
    if (!error.empty()) fail_data("{}", error);
    cached_ = true;
  }
}

BatchLoader::~BatchLoader() { stop(); }

int64_t BatchLoader::out_height() const { return options_.crop > 0 ? options_.crop : options_.height; }
int64_t BatchLoader::out_width() const { return options_.crop > 0 ? options_.crop : options_.width; }

void BatchLoader::load_record(int64_t record, uint8_t* out) const {
  const std::string& key = keys_[record];
  std::string what = fmt::format("{} record {}", options_.db_dir, key);
  std::optional<std::string> value = reader_->get(key);
  if (!value) fail_data("{}: missing", what);
  Datum datum = parse_datum(*value, what);
  const int64_t c = options_.channels, h = options_.height, w = options_.width;
  if (datum.encoded) {
    DecodeOptions decode;
    decode.channels = static_cast<int>(c);
    Image image = decode_image(reinterpret_cast<const uint8_t*>(datum.data.data()),
                               datum.data.size(), decode);
    if (image.height != h || image.width != w)
      fail_data("{}: image is {}x{}, the dataset's records are {}x{}", what, image.width,
                image.height, w, h);
    // Interleaved RGB (or gray) -> planar BGR, as Caffe's records hold it.
    for (int64_t ch = 0; ch < c; ++ch) {
      int64_t source = c == 3 ? 2 - ch : ch;
      for (int64_t i = 0; i < h * w; ++i) out[ch * h * w + i] = image.pixels[i * c + source];
    }
  } else {
    check_datum_shape(datum, what);
    if (datum.channels != c || datum.height != h || datum.width != w)
      fail_data("{}: record is {}x{}x{}, expected {}x{}x{}", what, datum.channels, datum.height,
                datum.width, c, h, w);
    std::copy(datum.data.begin(), datum.data.end(), out);
  }
  const_cast<BatchLoader*>(this)->record_labels_[record] = datum.label;
}

const std::vector<int64_t>& BatchLoader::permutation(int64_t epoch) {
  if (permutation_epoch_ == epoch) return permutation_;
  permutation_.resize(keys_.size());
  for (size_t i = 0; i < permutation_.size(); ++i) permutation_[i] = static_cast<int64_t>(i);
  if (options_.shuffle) {
    Rng rng(splitmix64(options_.seed * 0x9e3779b97f4a7c15ULL + static_cast<uint64_t>(epoch)));
    for (size_t i = permutation_.size() - 1; i > 0; --i)
      std::swap(permutation_[i], permutation_[rng.below(i + 1)]);
  }
  permutation_epoch_ = epoch;
  return permutation_;
}

void BatchLoader::fill(int64_t batch_index, Batch& batch) {
  const int64_t c = options_.channels, h = options_.height, w = options_.width;
  const int64_t oh = out_height(), ow = out_width();
  const int64_t n_records = size();
  int64_t first = batch_index * options_.batch_size;
  int64_t count = options_.batch_size;
  if (one_pass_) count = std::max<int64_t>(0, std::min(count, n_records - first));
  batch.index = batch_index;
  batch.count = count;
  const bool raw = options_.device_transform;
  const size_t slots = static_cast<size_t>(options_.batch_size);
  if (raw) {
    batch.pixels.resize(slots * static_cast<size_t>(c * h * w));
    batch.crop_y.assign(slots, 0);  // a short batch's unused slots stay valid corners
    batch.crop_x.assign(slots, 0);
    batch.mirror.assign(slots, 0);
  } else {
    batch.data.resize(slots * static_cast<size_t>(c * oh * ow));
  }
  batch.labels.resize(static_cast<size_t>(options_.batch_size));
  batch.records.resize(static_cast<size_t>(count));
  std::vector<uint8_t> scratch(cached_ ? 0 : static_cast<size_t>(c * h * w));
  const SampleTransform transform = make_sample_transform(
      c, h, w, options_.crop, options_.mean_mode, options_.mean, options_.scale);
  for (int64_t s = 0; s < count; ++s) {
    int64_t position = first + s;
    int64_t record = permutation(position / n_records)[position % n_records];
    const uint8_t* pixels;
    if (cached_) {
      pixels = cache_.data() + record * c * h * w;
    } else {
      load_record(record, scratch.data());
      pixels = scratch.data();
    }
    batch.labels[s] = static_cast<float>(record_labels_[record]);
    batch.records[s] = record;
    // Per-sample randomness from (seed, position) alone: resume-exact, thread-order free.
    Rng rng(splitmix64(options_.seed ^ splitmix64(static_cast<uint64_t>(position) + 1)));
    int64_t y0 = centre_crop_y(transform), x0 = centre_crop_x(transform);
    if (options_.crop > 0 && options_.random_crop) {
      y0 = static_cast<int64_t>(rng.below(static_cast<uint64_t>(h - oh + 1)));
      x0 = static_cast<int64_t>(rng.below(static_cast<uint64_t>(w - ow + 1)));
    }
    bool flip = options_.mirror && rng.below(2) == 1;
    if (raw) {
      std::copy_n(pixels, c * h * w, batch.pixels.data() + s * c * h * w);
      batch.crop_y[s] = static_cast<int32_t>(y0);
      batch.crop_x[s] = static_cast<int32_t>(x0);
      batch.mirror[s] = flip ? 1 : 0;
    } else {
      transform_sample(transform, pixels, y0, x0, flip, batch.data.data() + s * c * oh * ow);
    }
  }
}

void BatchLoader::start(int64_t first_batch, bool one_pass) {
  stop();
  first_batch_ = first_batch;
  one_pass_ = one_pass;
  produced_ = consumed_ = 0;
  stopping_ = false;
  error_.clear();
  worker_ = std::thread([this] { produce(); });
}

void BatchLoader::produce() {
  while (true) {
    int64_t slot;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [&] { return stopping_ || produced_ - consumed_ < kSlots - 1; });
      if (stopping_) return;
      slot = produced_ % kSlots;
    }
    try {
      fill(first_batch_ + produced_, slots_[slot]);
    } catch (const std::exception& e) {
      std::lock_guard<std::mutex> lock(mutex_);
      error_ = e.what();
      error_index_ = produced_;
      ++produced_;
      changed_.notify_all();
      return;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    bool end = slots_[slot].count == 0;
    ++produced_;
    changed_.notify_all();
    if (end) return;
  }
}

const Batch& BatchLoader::next() {
  auto begin = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] { return produced_ > consumed_; });
  waited_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  if (!error_.empty() && consumed_ == error_index_) fail_data("{}", error_);
  const Batch& batch = slots_[consumed_ % kSlots];
  ++consumed_;
  changed_.notify_all();
  return batch;
}

void BatchLoader::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    changed_.notify_all();
  }
  if (worker_.joinable()) worker_.join();
}

}  // namespace digits
