// IDX files, the MNIST / Fashion-MNIST format, plain or gzipped (zlib reads both; gzip is
// recognised by its own magic bytes, IDX by its magic number, never by file name).
//
//   magic: 0x00 0x00 TYPE NDIMS, then NDIMS big-endian uint32 sizes, then the elements in
//   row-major order. TYPE 0x08 = unsigned byte (the only type datasets use; the others, 0x09
//   signed byte, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64, are recognised and
//   refused with their name).
//
// Hostile input: the declared size is checked against max_bytes before anything is allocated,
// the payload must be exactly the declared size (truncated data and trailing bytes are both
// refused), and a corrupt gzip stream is refused with zlib's message. All Error(data) naming
// the file, except an unopenable file (Error(runtime)) or a missing one (Error(usage)).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace digits {

struct IdxArray {
  std::vector<int64_t> dims;   // e.g. (N, rows, cols) for images, (N) for labels
  std::vector<uint8_t> data;   // row-major, size == product of dims
  int64_t count() const { return dims.empty() ? 0 : dims[0]; }
  int64_t item_size() const;   // product of dims[1:]
};

// True when the file (after gunzip, if gzipped) starts with an IDX magic number of a known
// element type and 1..4 dimensions. False for anything else, including unreadable files.
bool is_idx_file(const std::string& path);

// Reads an unsigned-byte IDX file. max_bytes bounds the declared payload (default 4 GiB).
IdxArray read_idx_file(const std::string& path, int64_t max_bytes = int64_t{1} << 32);

// Writes an unsigned-byte IDX file, gzipped when gzip is true (tests, examples, tools).
void write_idx_file(const std::string& path, const IdxArray& array, bool gzip);

}  // namespace digits
