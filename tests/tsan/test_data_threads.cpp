// ThreadSanitizer test of the data pipeline's threads (tests/tsan/CMakeLists.txt says how it is
// built). A small dataset is created with several worker threads (decode/resize/encode workers
// feeding the LMDB writer thread through the reorder window, and the shared mean total), then
// batches are loaded by background producers while two consumer threads read them, stop them,
// restart them elsewhere in the stream and destroy them mid-stream. The test also checks what
// the threads produce, so a lost or reordered hand-off fails it even where TSan stays quiet:
// the same records whatever the thread count, and the same batches from a loader that decodes
// every batch as from one that decoded everything into its cache first.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "core/file_hash.h"
#include "core/fs.h"
#include "data/batch_loader.h"
#include "data/dataset_builder.h"
#include "data/image.h"
#include "data/lmdb_store.h"

using namespace digits;
namespace fs = std::filesystem;

namespace {

struct Scratch {
  std::string path;
  Scratch() {
    std::string pattern = std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp";
    pattern += "/digits-tsan-XXXXXX";
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string operator/(const std::string& name) const { return (fs::path(path) / name).string(); }
};

// 3 classes x 20 PNGs of different sizes (so the workers resize), each with its own content.
void make_images(const std::string& root) {
  const char* classes[] = {"alpha", "beta", "gamma"};
  for (int c = 0; c < 3; ++c) {
    fs::create_directories(fs::path(root) / classes[c]);
    for (int i = 0; i < 20; ++i) {
      Image image;
      image.width = 10 + i % 5;
      image.height = 9 + i % 4;
      image.channels = 3;
      image.pixels.resize(static_cast<size_t>(image.width * image.height * 3));
      for (size_t p = 0; p < image.pixels.size(); ++p)
        image.pixels[p] = static_cast<uint8_t>((p * 7 + static_cast<size_t>(i) * 31 + c * 80) % 256);
      write_image_file((fs::path(root) / classes[c] / (std::to_string(i) + ".png")).string(), image);
    }
  }
}

CreateOptions create_options(const Scratch& scratch, const std::string& output, int threads,
                             RecordEncoding encoding) {
  CreateOptions options;
  options.inputs.train.path = scratch / "images";
  options.inputs.val_pct = 20;
  options.inputs.seed = 5;
  options.output = scratch / output;
  options.channels = 3;
  options.width = 8;
  options.height = 8;
  options.encoding = encoding;
  options.threads = threads;
  options.tool_version = "tsan-test";
  return options;
}

// Every record of a split, in key order.
std::vector<std::pair<std::string, std::string>> records(const std::string& db) {
  std::vector<std::pair<std::string, std::string>> out;
  LmdbReader reader(db);
  reader.for_each([&](std::string_view key, std::string_view value) {
    out.emplace_back(std::string(key), std::string(value));
    return true;
  });
  return out;
}

BatchLoaderOptions loader_options(const DatasetView& view, const std::string& split) {
  BatchLoaderOptions options;
  options.db_dir = view.db_path(split);
  options.batch_size = 5;
  options.channels = view.channels;
  options.height = view.height;
  options.width = view.width;
  options.crop = 6;
  options.random_crop = split == "train";
  options.mirror = split == "train";
  options.shuffle = split == "train";
  options.seed = 11;
  options.mean_mode = "image";
  options.mean = view.mean;
  return options;
}

// `count` batches from `first`, copied out (the loader reuses its slots).
std::vector<std::vector<float>> take(BatchLoader& loader, int64_t first, int count) {
  std::vector<std::vector<float>> out;
  loader.start(first);
  for (int i = 0; i < count; ++i) {
    const Batch& batch = loader.next();
    REQUIRE(batch.index == first + i);
    out.push_back(batch.data);
  }
  return out;
}

}  // namespace

TEST_CASE("dataset creation with worker threads: same records whatever the thread count") {
  Scratch scratch;
  make_images(scratch / "images");
  CreateSummary four = create_dataset(create_options(scratch, "ds4", 4, RecordEncoding::png));
  CreateSummary one = create_dataset(create_options(scratch, "ds1", 1, RecordEncoding::png));
  CHECK(four.records() == 60);
  CHECK(one.records() == 60);
  for (const char* split : {"train_db", "val_db"})
    CHECK(records(scratch / ("ds4/" + std::string(split))) == records(scratch / ("ds1/" + std::string(split))));
  CHECK(read_file(scratch / "ds4/mean.binaryproto", 1 << 20) ==
        read_file(scratch / "ds1/mean.binaryproto", 1 << 20));

  // Raw records with three workers, replacing the first dataset (--force).
  CreateOptions raw = create_options(scratch, "ds4", 3, RecordEncoding::none);
  raw.force = true;
  CHECK(create_dataset(raw).records() == 60);
}

TEST_CASE("LMDB writer: the background syncer and the hash taken while the final sync runs") {
  // A 64 KB sync step and small batches: the syncer thread wakes on nearly every commit while
  // the map grows under it (4 MB of records in a 1 MB initial map); finish() hashes on a second
  // thread while it syncs. The result must be the finished file's own size and hash.
  Scratch scratch;
  LmdbWriter::Options options;
  options.batch_records = 16;
  options.batch_bytes = 32 << 10;
  options.initial_map_bytes = 1 << 20;
  options.sync_step_bytes = 64 << 10;
  std::string dir = scratch / "db";
  LmdbWriter writer(dir, options);
  for (int i = 0; i < 1000; ++i)
    writer.put(fmt::format("{:08d}", i), std::string(4096, static_cast<char>(i % 251)));
  const LmdbWriter::DataFile data = writer.finish();
  CHECK(data.bytes == fs::file_size(fs::path(dir) / "data.mdb"));
  CHECK(data.xxh64 == hash_file_xxh64((fs::path(dir) / "data.mdb").string()));
  LmdbReader reader(dir);
  CHECK(reader.count() == 1000);
  CHECK(reader.get("00000500") == std::string(4096, static_cast<char>(500 % 251)));
}

TEST_CASE("batch loaders: producers and consumers on several threads") {
  Scratch scratch;
  make_images(scratch / "images");
  create_dataset(create_options(scratch, "ds", 3, RecordEncoding::png));
  DatasetView view = open_dataset_view(scratch / "ds");
  REQUIRE(view.mean.size() == 3 * 8 * 8);

  // A loader decoding every batch on its producer thread, and one serving its cache, each read
  // by its own consumer thread while a third thread runs a validation pass.
  BatchLoaderOptions decoding = loader_options(view, "train");
  decoding.cache_bytes = 0;
  BatchLoaderOptions caching = loader_options(view, "train");
  std::vector<std::vector<float>> from_decoding, from_cache;
  int64_t val_samples = 0;
  {
    BatchLoader a(decoding), b(caching), val(loader_options(view, "val"));
    std::thread consumer_a([&] { from_decoding = take(a, 0, 25); });  // 25 x 5 > 2 epochs of 48
    std::thread consumer_b([&] { from_cache = take(b, 0, 25); });
    std::thread validator([&] {
      val.start(0, true);
      for (const Batch* batch = &val.next(); batch->count > 0; batch = &val.next())
        val_samples += batch->count;
    });
    consumer_a.join();
    consumer_b.join();
    validator.join();
  }
  CHECK(val_samples == 12);
  CHECK(from_decoding == from_cache);

  // Stopped and restarted mid-stream: batch g is the same batch g; destroyed while running.
  BatchLoader loader(decoding);
  std::vector<std::vector<float>> resumed = take(loader, 7, 6);
  loader.stop();
  for (int i = 0; i < 6; ++i) CHECK(resumed[static_cast<size_t>(i)] == from_decoding[static_cast<size_t>(7 + i)]);
  CHECK(take(loader, 3, 2)[1] == from_decoding[4]);
  // The producer is now filling slots ahead; the destructor must stop and join it cleanly.
}
