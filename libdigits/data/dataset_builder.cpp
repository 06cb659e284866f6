#include "data/dataset_builder.h"

#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <thread>

#include "core/error.h"
#include "core/file_hash.h"
#include "core/fs.h"
#include "core/rng.h"
#include "core/signals.h"
#include "data/datum.h"
#include "data/lmdb_store.h"
#include "data/progress.h"

namespace digits {
namespace {

namespace fs = std::filesystem;

// Pixel loops over whole records: an AVX2 clone is picked at load time where the CPU has it
// (the strided BGR de-interleave runs 10x faster than the SSE2 baseline: 13 vs 136 us for a
// 256x256 record here). Not under ThreadSanitizer: GCC instruments the clone's ifunc resolver,
// which the dynamic loader runs before TSan's runtime exists (a crash at start-up).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_THREAD__)
#define DIGITS_PIXEL_LOOP __attribute__((target_clones("avx2", "default")))
#else
#define DIGITS_PIXEL_LOOP
#endif

// derive_seed() purpose tag of the per-record stream (fill/half_crop noise): one per split.
constexpr uint64_t kRecordNoise = 100;

// ---- temporary directory and publishing ----

// The dataset under construction: removed on destruction unless published.
class TempDataset {
 public:
  explicit TempDataset(const fs::path& output) {
    std::string pattern = (output.parent_path() / fmt::format(".{}.partial-XXXXXX", output.filename().string())).string();
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    if (!mkdtemp(buffer.data()))
      fail_runtime("{}: cannot create a temporary directory beside it: {}", output.string(), std::strerror(errno));
    path_ = buffer.data();
    // mkdtemp makes it 0700; a published dataset gets the usual mode for new directories.
    mode_t mask = ::umask(0);
    ::umask(mask);
    ::chmod(path_.c_str(), 0777 & ~mask);
    try {
      write_file_atomic((path_ / kIncompleteMarker).string(),
                        "digits-dataset: this dataset is being created or its creation was interrupted\n");
    } catch (...) {  // a full disk: the destructor will not run for a half-made object
      std::error_code ec;
      fs::remove_all(path_, ec);
      throw;
    }
  }
  ~TempDataset() {
    if (!published_) {
      std::error_code ec;
      fs::remove_all(path_, ec);
    }
  }
  TempDataset(const TempDataset&) = delete;
  TempDataset& operator=(const TempDataset&) = delete;

  const fs::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

  // Renames the finished directory to `output`. An existing `output` (allowed by the caller) is
  // swapped out atomically and then deleted, so `output` is never missing or partial.
  void publish(const fs::path& output, bool replace) {
    fs::remove(path_ / kIncompleteMarker);
    sync_directory(path_);
    if (replace) {
      if (renameat2(AT_FDCWD, path_.c_str(), AT_FDCWD, output.c_str(), RENAME_EXCHANGE) == 0) {
        published_ = true;
        // path_ now holds the old dataset: mark it incomplete and drop its manifest first, so
        // that a kill during the removal leaves nothing that looks complete there either.
        std::error_code ec;
        if (FILE* marker = std::fopen((path_ / kIncompleteMarker).c_str(), "w")) std::fclose(marker);
        fs::remove(path_ / kManifestFile, ec);
        fs::remove_all(path_, ec);
        if (ec) fail_runtime("{}: the new dataset is in place but the old one could not be removed: {}",
                             path_.string(), ec.message());
        return;
      }
      if (errno != ENOENT) fail_runtime("cannot replace {}: {}", output.string(), std::strerror(errno));
    }
    if (renameat2(AT_FDCWD, path_.c_str(), AT_FDCWD, output.c_str(), RENAME_NOREPLACE) != 0)
      fail_runtime("cannot rename {} to {}: {}", path_.string(), output.string(), std::strerror(errno));
    published_ = true;
    sync_directory(output.parent_path());
  }

 private:
  static void sync_directory(const fs::path& dir) {
    int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
      ::fsync(fd);
      ::close(fd);
    }
  }
  fs::path path_;
  bool published_ = false;
};

// An existing output may be replaced (--force) only if it is a dataset (ours, DIGITS's, or an
// interrupted one) or an empty directory: never an arbitrary directory or file.
void check_output(const fs::path& output, bool force) {
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(output, ec))) return;
  // What --force would refuse is said first, so that the advice to use it is never wrong.
  if (!fs::is_directory(fs::symlink_status(output, ec)))
    fail_usage("{}: exists and is not a directory; refusing to replace it even with --force", output.string());
  bool looks_like_dataset = fs::exists(output / kManifestFile, ec) || fs::exists(output / "labels.txt", ec) ||
                            fs::exists(output / kIncompleteMarker, ec) || fs::is_empty(output, ec);
  if (!looks_like_dataset)
    fail_usage("{}: exists and is not a dataset directory (no {} or labels.txt); refusing to replace it "
               "even with --force",
               output.string(), kManifestFile);
  if (!force) fail_usage("{}: already exists (use --force to replace it)", output.string());
}

// ---- reporting: stderr (with progress) and the creation log ----

class Reporter {
 public:
  Reporter(bool bar) : progress_(bar) {}
  void open_log(const std::string& path) {
    log_ = std::fopen(path.c_str(), "w");
    if (!log_) fail_runtime("cannot write {}: {}", path, std::strerror(errno));
    log_path_ = path;
  }
  ~Reporter() {
    if (log_) std::fclose(log_);
  }
  // Shown on stderr and kept in the log.
  void line(const std::string& text) {
    progress_.message(text);
    log_only(text);
  }
  // A failed write is remembered and reported by close_log: the run goes on to fail cleanly
  // there rather than mid-line, and never ends "complete" with a log cut short.
  void log_only(const std::string& text) {
    if (!log_) return;
    if ((std::fputs(text.c_str(), log_) == EOF || std::fputc('\n', log_) == EOF) && log_error_ == 0)
      log_error_ = errno ? errno : EIO;
  }
  void close_log() {
    if (!log_) return;
    if (std::ferror(log_) && log_error_ == 0) log_error_ = EIO;
    if (std::fclose(log_) != 0 && log_error_ == 0) log_error_ = errno;
    log_ = nullptr;
    if (log_error_ != 0) fail_runtime("cannot write {}: {}", log_path_, std::strerror(log_error_));
  }
  Progress& progress() { return progress_; }

 private:
  Progress progress_;
  FILE* log_ = nullptr;
  std::string log_path_;
  int log_error_ = 0;  // errno of the first failed write to the log
};

// ---- one record: read, decode, resize, encode ----

struct Shape {
  int64_t width = 0, height = 0;
  int channels = 0;
};

// The whole file into `buffer` (reused across calls by a worker). Opened non-blocking so a FIFO
// named like an image cannot hang the run; only regular files are read.
void read_image_bytes(const std::string& path, size_t max_bytes, std::vector<uint8_t>& buffer) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) fail_data("missing file (no such file)");
    if (err == EACCES) fail_data("unreadable file (permission denied)");
    if (err == ELOOP) fail_data("symlink loop");
    fail_data("cannot open: {}", std::strerror(err));
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0) fail_data("cannot stat: {}", std::strerror(errno));
  if (S_ISDIR(st.st_mode)) fail_data("a directory, not an image file");
  if (!S_ISREG(st.st_mode)) fail_data("not a regular file");
  if (st.st_size == 0) fail_data("empty file (0 bytes)");
  if (static_cast<uint64_t>(st.st_size) > max_bytes)
    fail_data("file of {} bytes is larger than the limit of {} bytes for --max-pixels", st.st_size, max_bytes);
  buffer.resize(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < buffer.size()) {
    ssize_t n = ::read(fd, buffer.data() + done, buffer.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_data("read error: {}", std::strerror(errno));
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  buffer.resize(done);
}

// IDX pixels as an Image with the requested channels (gray replicated; colour to luma with
// PIL's convert("L") weights, as image decoding does).
Image idx_image(const SourceItem& item, int channels) {
  const IdxImages& idx = *item.idx;
  int64_t pixels = idx.rows * idx.cols;
  const uint8_t* src = idx.array.data.data() + item.idx_index * pixels * idx.channels;
  Image image;
  image.width = idx.cols;
  image.height = idx.rows;
  image.channels = channels;
  image.pixels.resize(static_cast<size_t>(pixels * channels));
  uint8_t* dst = image.pixels.data();
  if (idx.channels == channels) {
    std::memcpy(dst, src, static_cast<size_t>(pixels * channels));
  } else if (idx.channels == 1) {  // gray -> RGB
    for (int64_t i = 0; i < pixels; ++i) dst[3 * i] = dst[3 * i + 1] = dst[3 * i + 2] = src[i];
  } else {  // RGB -> gray
    for (int64_t i = 0; i < pixels; ++i)
      dst[i] = static_cast<uint8_t>((src[3 * i] * 19595u + src[3 * i + 1] * 38470u + src[3 * i + 2] * 7471u +
                                     0x8000u) >> 16);
  }
  return image;
}

struct RecordSettings {
  Shape shape;
  ResizeMode resize;
  RecordEncoding encoding;
  int jpeg_quality;
  int64_t max_pixels;
  size_t max_file_bytes;
  uint64_t seed;
};

// The training split's pixel sums, (H, W, C): one 64-bit total shared by the workers, each of
// which adds into its own 16-bit sums and folds them into the total, under the lock, every 257
// images, before they could overflow. 16 bits vectorize four times as wide as 64 and keep a
// 256x256 colour sum (384 KiB) in L2; 32-bit sums spilled to L3 and cost twice as much.
struct MeanTotal {
  std::mutex mutex;
  std::vector<uint64_t> sum;
};

// Per-worker state reused across records (no fresh pages per image).
struct WorkerState {
  std::vector<uint8_t> file_bytes;
  std::vector<uint16_t> mean_sum16;  // empty when no mean is computed
  int64_t images_in_sum16 = 0;
  MeanTotal* mean_total = nullptr;
  Datum datum;
  Image decoded, resized;

  static constexpr int64_t kMaxImagesIn16 = 65535 / 255;  // 257 * 255 = 65535 still fits
  void add_to_mean(const uint8_t* pixels) {
    add_pixels(pixels, mean_sum16.data(), mean_sum16.size());
    if (++images_in_sum16 == kMaxImagesIn16) fold_mean();
  }
  DIGITS_PIXEL_LOOP static void add_pixels(const uint8_t* __restrict pixels, uint16_t* __restrict sum, size_t n) {
    for (size_t i = 0; i < n; ++i) sum[i] = static_cast<uint16_t>(sum[i] + pixels[i]);
  }
  void fold_mean() {
    if (images_in_sum16 == 0) return;
    std::lock_guard lock(mean_total->mutex);
    for (size_t i = 0; i < mean_sum16.size(); ++i) mean_total->sum[i] += mean_sum16[i];
    std::fill(mean_sum16.begin(), mean_sum16.end(), uint16_t{0});
    images_in_sum16 = 0;
  }
};

// (H, W, 3) interleaved RGB -> Caffe's (3, H, W) planes in BGR order.
DIGITS_PIXEL_LOOP void rgb_to_bgr_planes(const uint8_t* __restrict px, size_t plane, char* __restrict b,
                                         char* __restrict g, char* __restrict r) {
  for (size_t i = 0; i < plane; ++i) {
    r[i] = static_cast<char>(px[3 * i]);
    g[i] = static_cast<char>(px[3 * i + 1]);
    b[i] = static_cast<char>(px[3 * i + 2]);
  }
}

// (H, W, C) interleaved RGB or gray -> Caffe's (C, H, W) planes, colour in BGR order.
void to_caffe_planes(const Image& image, char* out) {
  const size_t plane = static_cast<size_t>(image.width * image.height);
  const uint8_t* px = image.pixels.data();
  if (image.channels == 1) {
    std::memcpy(out, px, plane);
    return;
  }
  rgb_to_bgr_planes(px, plane, out, out + plane, out + 2 * plane);
}

// True when the file bytes are a PNG that decodes to exactly the record we would encode: 8-bit
// gray (channels 1) or 8-bit RGB (channels 3), at the record size. Such a file is stored as it
// is ("an image already at the target size is stored unchanged"), which saves a re-encode; files
// much larger than their pixels (big metadata chunks) are re-encoded instead.
bool png_is_storable_as_is(const std::vector<uint8_t>& file, const Shape& shape) {
  static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (file.size() < 33 || std::memcmp(file.data(), signature, 8) != 0 || std::memcmp(file.data() + 12, "IHDR", 4) != 0)
    return false;
  auto be32 = [&](size_t at) {
    return (uint32_t{file[at]} << 24) | (uint32_t{file[at + 1]} << 16) | (uint32_t{file[at + 2]} << 8) | file[at + 3];
  };
  int bit_depth = file[24], color_type = file[25];
  int64_t raw_bytes = shape.width * shape.height * shape.channels;
  return be32(16) == shape.width && be32(20) == shape.height && bit_depth == 8 &&
         color_type == (shape.channels == 1 ? 0 : 2) && static_cast<int64_t>(file.size()) <= raw_bytes + 1024;
}

// Makes the serialized Datum for one item; Error for a bad item (its reason, without the path).
std::string make_record(const SourceItem& item, int split_index, int64_t item_index, const RecordSettings& s,
                        WorkerState& state, bool accumulate_mean) {
  // The worker's own images: decoding and resizing into them reuses their memory, where fresh
  // ones would cost an allocation and zero-fill of every pixel buffer per record.
  Image& image = state.decoded;
  if (item.idx) {
    image = idx_image(item, s.shape.channels);
  } else {
    read_image_bytes(item.path, s.max_file_bytes, state.file_bytes);
    DecodeOptions decode;
    decode.channels = s.shape.channels;
    decode.max_pixels = s.max_pixels;
    // The size hint lets a JPEG decode at a reduced DCT scale. Only worth it from 2x the target:
    // libjpeg-turbo's scaled IDCTs between 1/2 and 1 (3/4, 5/8, ...) are plain C and slower
    // than its SIMD full-size decode (measured here: 3/4 scale 1.9 ms, full size 1.1 ms for a
    // 500x375 JPEG).
    ImageInfo header = probe_image(state.file_bytes.data(), state.file_bytes.size());
    if (header.width >= 2 * s.shape.width && header.height >= 2 * s.shape.height) {
      decode.target_width = s.shape.width;
      decode.target_height = s.shape.height;
    }
    decode_image(state.file_bytes.data(), state.file_bytes.size(), decode, image);
  }
  if (image.width != s.shape.width || image.height != s.shape.height) {
    Rng rng(derive_seed(s.seed, kRecordNoise + static_cast<uint64_t>(split_index), static_cast<uint64_t>(item_index)));
    resize_image(image, s.shape.width, s.shape.height, s.resize, rng, state.resized);
    std::swap(image, state.resized);
  }
  DIGITS_CHECK(image.width == s.shape.width && image.height == s.shape.height && image.channels == s.shape.channels,
               "resize gave {}x{}x{}, expected {}x{}x{}", image.width, image.height, image.channels, s.shape.width,
               s.shape.height, s.shape.channels);
  if (accumulate_mean) state.add_to_mean(image.pixels.data());

  Datum& d = state.datum;
  d.channels = s.shape.channels;
  d.height = static_cast<int32_t>(s.shape.height);
  d.width = static_cast<int32_t>(s.shape.width);
  d.label = item.label;
  d.encoded = s.encoding != RecordEncoding::none;
  switch (s.encoding) {
    case RecordEncoding::none: {
      char* data = nullptr;
      std::string record = serialize_datum_reserving(d, image.pixels.size(), &data);
      to_caffe_planes(image, data);
      return record;
    }
    case RecordEncoding::png: {
      if (!item.idx && png_is_storable_as_is(state.file_bytes, s.shape)) {
        d.data.assign(reinterpret_cast<const char*>(state.file_bytes.data()), state.file_bytes.size());
        break;
      }
      std::vector<uint8_t> png = encode_png(image);
      d.data.assign(reinterpret_cast<const char*>(png.data()), png.size());
      break;
    }
    case RecordEncoding::jpg: {
      std::vector<uint8_t> jpg = encode_jpeg(image, s.jpeg_quality);
      d.data.assign(reinterpret_cast<const char*>(jpg.data()), jpg.size());
      break;
    }
  }
  return serialize_datum(d);
}

// ---- the parallel pipeline for one split ----

struct SplitOutcome {
  ManifestSplit manifest;
  std::vector<uint64_t> mean_sum;  // train only
  int64_t bad = 0;
};

struct RunState {
  const CreateOptions& options;
  RecordSettings settings;
  Reporter& reporter;
  int workers;
  int64_t bad_total = 0;         // listing + records, all splits so far
  int64_t bad_allowed = 0;       // from --max-bad; INT64_MAX when unset
  int64_t candidates = 0;
  int64_t done_total = 0;
};

[[noreturn]] void fail_too_many_bad(const RunState& run) {
  fail_data("too many bad items: {} bad out of {} found, more than --max-bad {}{} allows; no dataset written",
            run.bad_total, run.candidates, run.options.max_bad.value, run.options.max_bad.percent ? "%" : "");
}

void check_stop_signal() {
  int sig = stop_signal();
  if (sig == SIGINT) fail(ExitCode::sigint, "interrupted (SIGINT); no dataset written");
  if (sig == SIGTERM) fail(ExitCode::sigterm, "terminated (SIGTERM); no dataset written");
}

SplitOutcome write_split(const PlannedSplit& split, int split_index, size_t num_classes, TempDataset& temp,
                         RunState& run) {
  const size_t n = split.items.size();
  const bool with_mean = split.name == "train" && run.options.compute_mean;
  const Shape& shape = run.settings.shape;
  SplitOutcome outcome;
  outcome.manifest.name = split.name;
  outcome.manifest.db = split.name + "_db";
  outcome.manifest.list = split.name + ".txt";
  outcome.manifest.per_class.assign(num_classes, 0);

  LmdbWriter writer(temp.file(outcome.manifest.db));
  std::string list_text;

  // Reorder window: workers claim `chunk` consecutive items at a time, only while the chunk lies
  // within `window` items of the writer's position, and put each result in slot i % window; the
  // writer takes the slots strictly in order. Wake-ups are sent only to a thread that waits, and
  // the writer takes every ready slot at once, so the cost per record stays well under a
  // microsecond even for tiny images.
  struct Slot {
    bool ready = false;
    bool ok = false;
    std::string value;  // serialized Datum, or the reason it is bad
    std::exception_ptr fatal;
  };
  // Records in flight are bounded in memory too: about 256 MiB of them (raw size), but never so
  // few that a worker waits for room; large records are claimed one at a time.
  const size_t record_bytes = static_cast<size_t>(shape.width * shape.height * shape.channels) + 64;
  const size_t chunk = record_bytes >= (size_t{1} << 20) ? 1 : 8;
  const size_t workers = static_cast<size_t>(run.workers);
  const size_t window = std::clamp<size_t>((size_t{256} << 20) / record_bytes, workers * chunk * 2,
                                           std::max<size_t>(256, workers * 8 * chunk));
  std::vector<Slot> slots(window);
  std::mutex mutex;
  std::condition_variable slot_ready, space_free;
  size_t next_claim = 0, next_write = 0;
  size_t workers_waiting = 0;
  bool writer_waiting = false;
  bool stopping = false;

  std::vector<WorkerState> states(static_cast<size_t>(run.workers));
  MeanTotal mean_total;
  if (with_mean) {
    mean_total.sum.assign(static_cast<size_t>(shape.width * shape.height * shape.channels), 0);
    for (auto& st : states) {
      st.mean_sum16.assign(mean_total.sum.size(), 0);
      st.mean_total = &mean_total;
    }
  }

  auto worker = [&](WorkerState& state) {
    std::vector<Slot> results(chunk);
    for (;;) {
      size_t begin, end;
      {
        std::unique_lock lock(mutex);
        ++workers_waiting;
        space_free.wait(lock, [&] { return stopping || next_claim >= n || next_claim + chunk <= next_write + window; });
        --workers_waiting;
        if (stopping || next_claim >= n) return;
        begin = next_claim;
        end = std::min(n, begin + chunk);
        next_claim = end;
      }
      for (size_t i = begin; i < end; ++i) {
        Slot& result = results[i - begin];
        result = Slot{};
        try {
          result.value = make_record(split.items[i], split_index, static_cast<int64_t>(i), run.settings, state, with_mean);
          result.ok = true;
        } catch (const Error& e) {
          result.value = e.what();
        } catch (...) {
          result.fatal = std::current_exception();
        }
        result.ready = true;
      }
      bool wake_writer;
      {
        std::lock_guard lock(mutex);
        for (size_t i = begin; i < end; ++i) slots[i % window] = std::move(results[i - begin]);
        wake_writer = writer_waiting && next_write >= begin && next_write < end;
      }
      if (wake_writer) slot_ready.notify_one();
    }
  };

  std::vector<std::thread> threads;
  auto stop_workers = [&] {
    {
      std::lock_guard lock(mutex);
      stopping = true;
    }
    space_free.notify_all();
    for (auto& t : threads)
      if (t.joinable()) t.join();
  };
  struct JoinGuard {
    std::function<void()> stop;
    ~JoinGuard() { stop(); }
  } join_guard{stop_workers};
  for (auto& st : states) threads.emplace_back(worker, std::ref(st));

  run.reporter.progress().start(split.name, static_cast<int64_t>(n));
  int64_t written = 0;
  std::vector<Slot> taken;
  for (size_t i = 0; i < n;) {
    taken.clear();
    bool wake_workers;
    {
      std::unique_lock lock(mutex);
      if (!slots[i % window].ready) {
        writer_waiting = true;
        slot_ready.wait(lock, [&] { return slots[i % window].ready; });
        writer_waiting = false;
      }
      for (size_t k = i; k < n && slots[k % window].ready; ++k) {
        taken.push_back(std::move(slots[k % window]));
        slots[k % window] = Slot{};
      }
      next_write = i + taken.size();
      wake_workers = workers_waiting > 0;
    }
    if (wake_workers) space_free.notify_all();
    check_stop_signal();
    for (Slot& slot : taken) {
      if (slot.fatal) std::rethrow_exception(slot.fatal);
      const SourceItem& item = split.items[i];
      if (!slot.ok) {
        ++outcome.bad;
        ++run.bad_total;
        run.reporter.line(fmt::format("skipped {}: {}", item.display(), slot.value));
        if (run.bad_total > run.bad_allowed) fail_too_many_bad(run);
      } else {
        writer.put(fmt::format("{:08d}_{}", written, item.label), std::move(slot.value));
        ++written;
        ++outcome.manifest.per_class[static_cast<size_t>(item.label)];
        list_text += fmt::format("{} {}\n", item.display(), item.label);
      }
      ++run.done_total;
      ++i;
    }
    run.reporter.progress().update(static_cast<int64_t>(i));
  }
  stop_workers();
  run.reporter.progress().finish();
  // Size and content hash of the finished database, so readers refuse a damaged file before
  // LMDB opens it (dataset_manifest.h).
  const LmdbWriter::DataFile& data_file = writer.finish();
  outcome.manifest.count = written;
  outcome.manifest.data_bytes = static_cast<int64_t>(data_file.bytes);
  outcome.manifest.data_xxh64 = hash_hex(data_file.xxh64);
  if (written > 0) write_file_atomic(temp.file(outcome.manifest.list), list_text);
  if (with_mean) {
    for (auto& st : states) st.fold_mean();
    outcome.mean_sum = std::move(mean_total.sum);
  }
  return outcome;
}

// np.around(sum / count): round half to even, exactly, in integers.
uint8_t rounded_mean(uint64_t sum, uint64_t count) {
  uint64_t q = sum / count, r = sum % count;
  if (2 * r > count || (2 * r == count && (q & 1))) ++q;
  return static_cast<uint8_t>(std::min<uint64_t>(q, 255));
}

// mean.binaryproto (BlobProto 1 x C x H x W, BGR, the uint8-rounded mean as floats, as DIGITS
// wrote it) and a viewable mean.jpg.
void write_mean_files(const std::vector<uint64_t>& sum, int64_t count, const Shape& shape, TempDataset& temp) {
  Image mean;
  mean.width = shape.width;
  mean.height = shape.height;
  mean.channels = shape.channels;
  mean.pixels.resize(sum.size());
  for (size_t i = 0; i < sum.size(); ++i) mean.pixels[i] = rounded_mean(sum[i], static_cast<uint64_t>(count));
  BlobProto blob;
  blob.num = 1;
  blob.channels = shape.channels;
  blob.height = static_cast<int32_t>(shape.height);
  blob.width = static_cast<int32_t>(shape.width);
  int64_t plane = shape.width * shape.height;
  blob.data.resize(static_cast<size_t>(plane * shape.channels));
  for (int c = 0; c < shape.channels; ++c) {
    int source_channel = shape.channels == 3 ? 2 - c : c;
    for (int64_t i = 0; i < plane; ++i)
      blob.data[static_cast<size_t>(c * plane + i)] = mean.pixels[static_cast<size_t>(i * shape.channels + source_channel)];
  }
  write_file_atomic(temp.file("mean.binaryproto"), serialize_blob_proto(blob));
  write_image_file(temp.file("mean.jpg"), mean, 90);
}

std::string describe_limit(const BadLimit& limit) {
  if (!limit.set) return "no limit";
  return fmt::format("{}{}", limit.value, limit.percent ? "%" : "");
}

}  // namespace

int64_t BadLimit::allowed(int64_t candidates) const {
  if (!set) return INT64_MAX;
  if (!percent) return static_cast<int64_t>(value);
  return static_cast<int64_t>(static_cast<double>(candidates) * value / 100.0);
}

BadLimit parse_bad_limit(const std::string& text) {
  BadLimit limit;
  std::string number = text;
  if (!number.empty() && number.back() == '%') {
    limit.percent = true;
    number.pop_back();
  }
  size_t used = 0;
  double value = -1;
  try {
    value = std::stod(number, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  bool whole = limit.percent || value == static_cast<double>(static_cast<int64_t>(value));
  if (number.empty() || used != number.size() || value < 0 || !whole || (limit.percent && value > 100))
    fail_usage("--max-bad \"{}\": expected a count (e.g. 10) or a percentage (e.g. 5%)", text);
  limit.set = true;
  limit.value = value;
  return limit;
}

CreateSummary create_dataset(const CreateOptions& options) {
  auto started = std::chrono::steady_clock::now();
  // Records and LMDB's page buffers for them are allocated and freed by the hundred thousand,
  // each up to a few MB (a 256x256 colour record is 192 KiB). glibc would serve each one with a
  // fresh mmap, or trim the heap after each commit, and the kernel would zero-fill every page of
  // it again: 15% more CPU in a raw 256x256 JPEG run. Kept in the heap and reused instead.
  ::mallopt(M_MMAP_THRESHOLD, 32 << 20);
  ::mallopt(M_TRIM_THRESHOLD, 256 << 20);
  // Option values first: usage errors before any scan.
  if (options.output.empty()) fail_usage("-o DIR is required");
  if (options.channels && *options.channels != 1 && *options.channels != 3)
    fail_usage("--channels {}: expected 1 (grayscale) or 3 (colour)", *options.channels);
  // 65500 is libjpeg's limit per side (JPEG_MAX_DIMENSION): past it mean.jpg and --encoding jpg
  // records cannot be written, which a run would only find out after decoding every image.
  for (auto [flag, value] : {std::pair{"--width", options.width}, std::pair{"--height", options.height}})
    if (value && (*value < 1 || *value > 65500)) fail_usage("{} {}: expected 1 to 65500 pixels", flag, *value);
  if (options.jpeg_quality < 1 || options.jpeg_quality > 100)
    fail_usage("--jpeg-quality {}: expected 1 to 100", options.jpeg_quality);
  if (options.max_pixels < 1) fail_usage("--max-pixels {}: expected a positive pixel count", options.max_pixels);
  // Bounded: each worker holds its own buffers, and 100000 threads exhausted the process's
  // thread limit (an error with no context) or memory (killed) before the first image.
  if (options.threads < 0 || options.threads > 1024)
    fail_usage("--threads {}: expected 0 (all cores) to 1024", options.threads);

  fs::path output = fs::absolute(fs::path(options.output)).lexically_normal();
  if (output.filename().empty()) output = output.parent_path();
  check_output(output, options.force);
  std::error_code ec;
  fs::create_directories(output.parent_path(), ec);
  if (ec) fail_runtime("{}: cannot create directory: {}", output.parent_path().string(), ec.message());
  OutputLock lock(output.string(), "digits-dataset", "creating this dataset");
  check_output(output, options.force);  // again, now that no other run can be publishing it
  lock.remove_leftovers({"." + lock.output_name() + ".partial-"});  // of killed runs

  DatasetPlan plan = plan_dataset(options.inputs);

  Shape shape;
  bool idx_train = plan.native_width > 0;
  shape.width = options.width.value_or(idx_train ? plan.native_width : 256);
  shape.height = options.height.value_or(idx_train ? plan.native_height : 256);
  shape.channels = options.channels.value_or(idx_train ? plan.native_channels : 3);
  if (shape.width * shape.height > options.max_pixels)
    fail_usage("--width {} x --height {} exceeds --max-pixels {}", shape.width, shape.height, options.max_pixels);

  TempDataset temp(output);
  Reporter reporter(options.progress_bar);
  reporter.open_log(temp.file("create.log"));

  RunState run{options, {}, reporter, 1};
  run.settings.shape = shape;
  run.settings.resize = options.resize;
  run.settings.encoding = options.encoding;
  run.settings.jpeg_quality = options.jpeg_quality;
  run.settings.max_pixels = options.max_pixels;
  // Saturated: a --max-pixels meant as "no limit" (2^61 and up) wrapped this to about 1 MB,
  // which made every larger file bad.
  constexpr size_t kSlack = size_t{1} << 20;
  size_t pixels = static_cast<size_t>(options.max_pixels);
  run.settings.max_file_bytes = pixels > (SIZE_MAX - kSlack) / 8 ? SIZE_MAX : pixels * 8 + kSlack;
  run.settings.seed = options.inputs.seed;
  unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  run.workers = options.threads > 0 ? options.threads : static_cast<int>(cores);
  run.candidates = plan.candidate_items();
  run.bad_allowed = options.max_bad.allowed(run.candidates);

  reporter.log_only(fmt::format("{} creating {} at {}", options.tool_version, output.string(), utc_timestamp_now()));
  for (const auto& src : plan.sources)
    reporter.line(fmt::format("{}: {} {}{}", src.split, source_kind_name(src.kind), src.path,
                              src.labels.empty() ? "" : fmt::format(" (labels {})", src.labels)));
  reporter.line(fmt::format("records: {}x{}x{} (width x height x channels), resize {}, encoding {}, seed {}, "
                            "{} worker thread(s), --max-bad {}",
                            shape.width, shape.height, shape.channels, resize_mode_name(options.resize),
                            record_encoding_name(options.encoding), options.inputs.seed, run.workers,
                            describe_limit(options.max_bad)));
  for (const auto& note : plan.notes) reporter.line("note: " + note);
  for (const auto& bad : plan.bad) reporter.line(fmt::format("skipped {}: {}", bad.item, bad.reason));
  run.bad_total = static_cast<int64_t>(plan.bad.size());
  if (run.bad_total > run.bad_allowed) fail_too_many_bad(run);
  {
    std::string counts;
    for (const auto& s : plan.splits) counts += fmt::format("{}{} {}", counts.empty() ? "" : ", ", s.name, s.items.size());
    reporter.line(fmt::format("{} classes; planned: {}", plan.class_names.size(), counts));
  }
  check_stop_signal();

  DatasetManifest manifest;
  manifest.created = utc_timestamp_now();
  manifest.tool_version = options.tool_version;
  manifest.width = shape.width;
  manifest.height = shape.height;
  manifest.channels = shape.channels;
  manifest.resize_mode = resize_mode_name(options.resize);
  manifest.encoding = record_encoding_name(options.encoding);
  manifest.jpeg_quality = options.encoding == RecordEncoding::jpg ? options.jpeg_quality : 0;
  manifest.classes = plan.class_names;
  auto absolute = [](const std::string& path) {
    return path.empty() ? path : fs::absolute(fs::path(path)).lexically_normal().string();
  };
  for (const auto& src : plan.sources)
    manifest.sources.push_back({src.split, source_kind_name(src.kind), absolute(src.path), absolute(src.labels)});
  manifest.labels_file = absolute(options.inputs.labels_file);
  manifest.folder = absolute(options.inputs.folder);
  manifest.val_pct = plan.val_pct;
  manifest.test_pct = plan.test_pct;
  manifest.min_per_class = options.inputs.min_per_class;
  manifest.max_per_class = options.inputs.max_per_class;
  manifest.seed = options.inputs.seed;

  for (size_t s = 0; s < plan.splits.size(); ++s) {
    const PlannedSplit& split = plan.splits[s];
    int split_index = split.name == "train" ? 0 : split.name == "val" ? 1 : 2;
    SplitOutcome outcome = write_split(split, split_index, plan.class_names.size(), temp, run);
    if (outcome.manifest.count == 0) {
      if (split.name == "train") fail_data("no training image could be read ({} bad); no dataset written", outcome.bad);
      reporter.line(fmt::format("note: no {} image could be read; the dataset has no {} split", split.name, split.name));
      fs::remove_all(temp.path() / outcome.manifest.db, ec);
      continue;
    }
    if (!outcome.mean_sum.empty()) write_mean_files(outcome.mean_sum, outcome.manifest.count, shape, temp);
    manifest.splits.push_back(std::move(outcome.manifest));
  }
  if (options.compute_mean) {
    manifest.mean_file = "mean.binaryproto";
    manifest.mean_image = "mean.jpg";
  }
  check_stop_signal();

  std::string labels;
  for (const auto& name : plan.class_names) labels += name + "\n";
  write_file_atomic(temp.file("labels.txt"), labels);

  manifest.bad_items = run.bad_total;
  std::string totals;
  for (const auto& s : manifest.splits) totals += fmt::format("{}{} {}", totals.empty() ? "" : ", ", s.name, s.count);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  reporter.line(fmt::format("done: {} records ({}), {} bad item(s) skipped, {} classes, {:.1f}s, {:.0f} images/s",
                            manifest.total_records(), totals, run.bad_total, plan.class_names.size(), seconds,
                            seconds > 0 ? static_cast<double>(run.done_total) / seconds : 0.0));
  reporter.close_log();
  // The manifest last: its presence marks the dataset complete.
  write_file_atomic(temp.file(kManifestFile), manifest_to_yaml(manifest));
  check_stop_signal();
  temp.publish(output, options.force);

  CreateSummary summary;
  summary.manifest = std::move(manifest);
  summary.bad_items = run.bad_total;
  summary.seconds = seconds;
  return summary;
}

}  // namespace digits
