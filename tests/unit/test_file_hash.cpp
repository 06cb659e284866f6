// XXH64: the published test values (so `xxhsum -H64` agrees with dataset.yaml), the same value
// however the input is split across update() calls, and a file hashed as its bytes.
#include <doctest/doctest.h>

#include <fstream>
#include <string>

#include "core/error.h"
#include "core/file_hash.h"
#include "temp_dir.h"

using namespace digits;

namespace {
uint64_t xxh64(const std::string& bytes) {
  Xxh64 h;
  h.update(bytes.data(), bytes.size());
  return h.digest();
}
}  // namespace

TEST_CASE("xxh64: the reference values") {
  CHECK(hash_hex(xxh64("")) == "ef46db3751d8e999");
  CHECK(hash_hex(xxh64("abc")) == "44bc2cf5ad770999");
}

TEST_CASE("xxh64: any split of the input gives the same hash") {
  std::string bytes;
  for (int i = 0; i < 1000; ++i) bytes.push_back(static_cast<char>((i * 131 + 7) % 251));
  for (size_t length : {0, 1, 3, 4, 7, 8, 31, 32, 33, 63, 64, 65, 999, 1000}) {
    std::string input = bytes.substr(0, length);
    uint64_t whole = xxh64(input);
    for (size_t step : {1, 3, 5, 31, 32, 33, 100}) {
      Xxh64 h;
      for (size_t at = 0; at < input.size(); at += step) h.update(input.data() + at, std::min(step, input.size() - at));
      CAPTURE(length);
      CAPTURE(step);
      CHECK(h.digest() == whole);
    }
  }
  CHECK(xxh64(bytes.substr(0, 100)) != xxh64(bytes.substr(0, 101)));
}

TEST_CASE("xxh64: a file hashes as its bytes; a missing file is a usage error") {
  testing::TempDir dir;
  std::string bytes(3 << 20, 'x');  // several read() chunks
  bytes[12345] = 'y';
  std::ofstream(dir / "f", std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  CHECK(hash_file_xxh64(dir / "f") == xxh64(bytes));
  try {
    hash_file_xxh64(dir / "missing");
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::usage);
  }
}
