// Torture 2: LMDB map growth. A writer starting from a tiny map and ingesting far past it (the map
// doubles on MDB_MAP_FULL and the batch is replayed) stores exactly the records a writer with a
// map large enough from the start stores: the same keys, values and hash over all of them.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <string>

#include "core/file_hash.h"
#include "data/lmdb_store.h"
#include "temp_dir.h"

using namespace digits;

namespace {

// Records of very different sizes (tiny, page-sized, several pages), from a fixed pattern.
std::string value_for(int i) {
  size_t size = (i % 7 == 0) ? 40000 : (i % 3 == 0) ? 4096 : static_cast<size_t>(10 + (i * 37) % 900);
  std::string value(size, '\0');
  for (size_t k = 0; k < size; ++k) value[k] = static_cast<char>((i * 131 + k * 7) % 251);
  return value;
}

struct Content {
  size_t count = 0;
  uint64_t hash = 0;
};

Content write_and_read(const std::string& dir, size_t initial_map, size_t batch_records, int records) {
  LmdbWriter::Options options;
  options.initial_map_bytes = initial_map;
  options.batch_records = batch_records;
  LmdbWriter writer(dir, options);
  for (int i = 0; i < records; ++i) writer.put(fmt::format("{:08d}_{}", i, i % 10), value_for(i));
  writer.finish();
  Content content;
  Xxh64 hash;
  LmdbReader reader(dir);
  reader.for_each([&](std::string_view key, std::string_view value) {
    CHECK(value == value_for(std::stoi(std::string(key.substr(0, 8)))));
    hash.update(key.data(), key.size());
    hash.update(value.data(), value.size());
    ++content.count;
    return true;
  });
  content.hash = hash.digest();
  return content;
}

}  // namespace

TEST_CASE("lmdb map growth: a tiny map grown 1000-fold holds what a large map holds") {
  testing::TempDir tmp;
  const int records = 1500;  // ~14 MB of values
  Content large = write_and_read(tmp / "large", size_t{1} << 30, 1000, records);
  CHECK(large.count == records);
  for (size_t batch : {1, 37, 1000}) {
    CAPTURE(batch);
    Content grown = write_and_read(tmp / fmt::format("tiny-{}", batch), 16 << 10, batch, records);
    CHECK(grown.count == large.count);
    CHECK(grown.hash == large.hash);
  }
}
