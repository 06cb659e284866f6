// A content hash for the files we publish (a dataset's data.mdb), checked before a reader trusts
// them. XXH64 (seed 0), the published xxHash algorithm, so `xxhsum -H64 FILE` (Debian package
// xxhash) gives the same value; it hashes at memory speed, so checking costs little next to
// reading the data once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace digits {

class Xxh64 {
 public:
  void update(const void* data, size_t bytes);
  uint64_t digest() const;

 private:
  uint64_t lanes_[4] = {0x9E3779B185EBCA87ULL + 0xC2B2AE3D27D4EB4FULL, 0xC2B2AE3D27D4EB4FULL, 0,
                        0 - 0x9E3779B185EBCA87ULL};
  unsigned char pending_[32] = {};
  size_t pending_bytes_ = 0;
  uint64_t total_ = 0;
};

// XXH64 of a whole file. Error(usage) if it is missing, Error(runtime) if it cannot be read.
uint64_t hash_file_xxh64(const std::string& path);

// "ef46db3751d8e999": 16 lower-case hex digits, as xxhsum prints them.
std::string hash_hex(uint64_t hash);

}  // namespace digits
