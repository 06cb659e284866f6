// LMDB store (map growth past the initial size, batching, background syncs, reader iteration and
// lookup, trimmed file, the size and hash finish() reports) and IDX files (plain and gzipped,
// hostile headers).
#include <doctest/doctest.h>

#include "temp_dir.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/file_hash.h"
#include "data/idx.h"
#include "data/lmdb_store.h"

using namespace digits;
namespace fs = std::filesystem;

namespace {
using digits::testing::TempDir;

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

void write_gzip(const std::string& path, const std::vector<uint8_t>& bytes) {
  gzFile out = gzopen(path.c_str(), "wb");
  REQUIRE(out != nullptr);
  if (!bytes.empty()) gzwrite(out, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(out);
}

ExitCode code_of_read(const std::string& path, int64_t max_bytes = int64_t{1} << 32) {
  try {
    read_idx_file(path, max_bytes);
  } catch (const Error& e) {
    return e.code();
  }
  return ExitCode::ok;
}
}  // namespace

TEST_CASE("lmdb: writer grows the map past its initial size; reader sees every record") {
  TempDir tmp;
  std::string dir = tmp.path + "/db";
  LmdbWriter::Options options;
  options.initial_map_bytes = 1 << 20;  // 1 MiB: 300 records of 20 KB need ~6 MiB
  options.batch_records = 64;
  options.sync_step_bytes = 1 << 20;  // the background syncer flushes while the map grows
  LmdbWriter::DataFile reported;
  {
    LmdbWriter writer(dir, options);
    for (int i = 0; i < 300; ++i) {
      char key[32];
      std::snprintf(key, sizeof key, "%08d_%d", i, i % 10);
      writer.put(key, std::string(20000, static_cast<char>('a' + i % 26)));
    }
    CHECK(writer.count() == 300);
    reported = writer.finish();
    CHECK(writer.map_bytes() >= (size_t{8} << 20));
    CHECK(writer.finish().xxh64 == reported.xxh64);  // idempotent
  }
  // The blocks reserved for commits were trimmed to what is in use (~6 MiB, under the map).
  struct stat st;
  REQUIRE(stat((dir + "/data.mdb").c_str(), &st) == 0);
  CHECK(st.st_size < (size_t{8} << 20));
  CHECK(st.st_size > 300 * 20000);
  // finish() hashed the file as it left it (from a map, while the sync ran).
  CHECK(reported.bytes == static_cast<uint64_t>(st.st_size));
  CHECK(reported.xxh64 == hash_file_xxh64(dir + "/data.mdb"));

  LmdbReader reader(dir);
  CHECK(reader.count() == 300);
  auto value = reader.get("00000042_2");
  REQUIRE(value.has_value());
  CHECK(value->size() == 20000);
  CHECK((*value)[0] == 'a' + 42 % 26);
  CHECK_FALSE(reader.get("nope").has_value());
  int seen = 0;
  std::string previous;
  reader.for_each([&](std::string_view key, std::string_view v) {
    CHECK(std::string(key) > previous);  // key order
    previous = std::string(key);
    CHECK(v.size() == 20000);
    return ++seen < 1000;
  });
  CHECK(seen == 300);
  int stopped = 0;
  reader.for_each([&](std::string_view, std::string_view) { return ++stopped < 5; });
  CHECK(stopped == 5);
}

TEST_CASE("lmdb: errors name the path") {
  TempDir tmp;
  try {
    LmdbReader reader(tmp.path + "/missing");
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::usage);
    CHECK(std::string(e.what()).find(tmp.path + "/missing") != std::string::npos);
  }
  fs::create_directories(tmp.path + "/notdb");
  write_bytes(tmp.path + "/notdb/data.mdb", std::vector<uint8_t>(8192, 0x5a));
  try {
    LmdbReader reader(tmp.path + "/notdb");
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::data);
    CHECK(std::string(e.what()).find("notdb") != std::string::npos);
  }
  // Writer refuses a non-empty directory; duplicate keys are a caller bug.
  CHECK_THROWS_AS(LmdbWriter(tmp.path + "/notdb"), Error);
  LmdbWriter writer(tmp.path + "/dup");
  writer.put("k", "1");
  writer.put("k", "2");
  CHECK_THROWS_WITH_AS(writer.finish(), doctest::Contains("duplicate key 'k'"), Error);
}

TEST_CASE("idx: plain and gzipped files round trip, recognised by magic") {
  TempDir tmp;
  IdxArray images;
  images.dims = {3, 2, 4};
  for (int i = 0; i < 24; ++i) images.data.push_back(static_cast<uint8_t>(i * 10));
  IdxArray labels;
  labels.dims = {3};
  labels.data = {7, 0, 9};
  write_idx_file(tmp.path + "/images", images, false);
  write_idx_file(tmp.path + "/images.gz", images, true);
  write_idx_file(tmp.path + "/labels.gz", labels, true);
  for (const char* name : {"/images", "/images.gz"}) {
    CHECK(is_idx_file(tmp.path + name));
    IdxArray back = read_idx_file(tmp.path + name);
    CHECK(back.dims == images.dims);
    CHECK(back.data == images.data);
    CHECK(back.count() == 3);
    CHECK(back.item_size() == 8);
  }
  CHECK(read_idx_file(tmp.path + "/labels.gz").data == labels.data);
  // The exact header bytes of the plain file.
  std::ifstream in(tmp.path + "/images", std::ios::binary);
  std::vector<char> head(16);
  in.read(head.data(), 16);
  CHECK(std::vector<uint8_t>(head.begin(), head.end()) ==
        std::vector<uint8_t>{0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 4});

  write_bytes(tmp.path + "/text.txt", {'a', ' ', '1', '\n'});
  CHECK_FALSE(is_idx_file(tmp.path + "/text.txt"));
  CHECK_FALSE(is_idx_file(tmp.path + "/missing"));
  CHECK_FALSE(is_idx_file(tmp.path));
}

TEST_CASE("idx: hostile files are refused before allocating") {
  TempDir tmp;
  std::string p = tmp.path + "/f";
  // Declares 2^32-1 x 2^32-1 x 2^32-1 bytes: refused by the limit, not by allocation.
  write_bytes(p, {0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
  CHECK(code_of_read(p) == ExitCode::data);
  // Declares 100 bytes, holds 3 (truncated), plain and gzipped.
  std::vector<uint8_t> truncated = {0, 0, 8, 1, 0, 0, 0, 100, 1, 2, 3};
  write_bytes(p, truncated);
  CHECK(code_of_read(p) == ExitCode::data);
  write_gzip(p, truncated);
  CHECK(code_of_read(p) == ExitCode::data);
  // Trailing data past the declared size.
  write_bytes(p, {0, 0, 8, 1, 0, 0, 0, 2, 1, 2, 3});
  CHECK(code_of_read(p) == ExitCode::data);
  // Other element types are recognised and refused by name.
  write_bytes(p, {0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0});
  CHECK(is_idx_file(p));
  CHECK_THROWS_WITH_AS(read_idx_file(p), doctest::Contains("float32"), Error);
  // Bad magic, zero dims, truncated header.
  write_bytes(p, {1, 0, 8, 1, 0, 0, 0, 0});
  CHECK(code_of_read(p) == ExitCode::data);
  write_bytes(p, {0, 0, 8, 0});
  CHECK(code_of_read(p) == ExitCode::data);
  write_bytes(p, {0, 0, 8, 2, 0, 0});
  CHECK(code_of_read(p) == ExitCode::data);
  // Above a caller's limit.
  write_bytes(p, {0, 0, 8, 1, 0, 0, 0, 4, 1, 2, 3, 4});
  CHECK(code_of_read(p, 3) == ExitCode::data);
  CHECK(code_of_read(p, 4) == ExitCode::ok);
  // A gzip stream cut in half.
  std::vector<uint8_t> big = {0, 0, 8, 1, 0, 0, 0x10, 0};
  for (int i = 0; i < 4096; ++i) big.push_back(static_cast<uint8_t>(i * 7919 % 251));
  write_gzip(p, big);
  std::ifstream gz(p, std::ios::binary);
  std::vector<uint8_t> compressed((std::istreambuf_iterator<char>(gz)), std::istreambuf_iterator<char>());
  compressed.resize(compressed.size() / 2);
  write_bytes(p, compressed);
  CHECK(code_of_read(p) == ExitCode::data);
  // Missing file: a usage error (the user named it).
  CHECK(code_of_read(tmp.path + "/missing") == ExitCode::usage);
}

TEST_CASE("idx: memory follows the data read, not the header's claim") {
  // A 40-byte gzip file declaring 3 GiB (1024 x 1024 x 1024 x 3), within the default limit:
  // refused as truncated after reading what is there, with no 3 GiB buffer on the way.
  TempDir tmp;
  std::string p = tmp.path + "/claims-3GiB.gz";
  write_gzip(p, {0, 0, 8, 4, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 0, 3, 1, 2, 3});
  rusage before{}, after{};
  getrusage(RUSAGE_SELF, &before);
  CHECK_THROWS_WITH_AS(read_idx_file(p), doctest::Contains("truncated IDX data"), Error);
  getrusage(RUSAGE_SELF, &after);
  CHECK(after.ru_maxrss - before.ru_maxrss < 256 * 1024);  // KiB
}
