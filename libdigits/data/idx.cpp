#include "data/idx.h"

#include <fmt/ranges.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace digits {
namespace {

const char* idx_type_name(int type) {
  switch (type) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    default: return nullptr;
  }
}

// gzFile reads plain files transparently, so one path serves both.
class GzReader {
 public:
  explicit GzReader(const std::string& path) : path_(path) {
    file_ = gzopen(path.c_str(), "rb");
    if (!file_) {
      int err = errno;
      if (err == ENOENT) fail_usage("{}: no such file", path);
      fail_runtime("{}: cannot open: {}", path, err ? std::strerror(err) : "zlib could not allocate");
    }
    gzbuffer(file_, 1 << 17);
  }
  ~GzReader() {
    if (file_) gzclose(file_);
  }
  GzReader(const GzReader&) = delete;
  GzReader& operator=(const GzReader&) = delete;

  // Reads up to n bytes; returns how many were read (fewer at the end of the data).
  size_t read(void* out, size_t n) {
    size_t total = 0;
    auto* dst = static_cast<uint8_t*>(out);
    while (total < n) {
      unsigned chunk = static_cast<unsigned>(std::min<size_t>(n - total, 1u << 30));
      int got = gzread(file_, dst + total, chunk);
      if (got < 0) {
        int zerr = 0;
        const char* message = gzerror(file_, &zerr);
        fail_data("{}: corrupt gzip data: {}", path_, zlib_message(message));
      }
      if (got == 0) {
        // End of data, or a truncated gzip stream (zlib reports it as Z_BUF_ERROR).
        int zerr = 0;
        const char* message = gzerror(file_, &zerr);
        if (zerr != Z_OK) fail_data("{}: corrupt gzip data: {}", path_, zlib_message(message));
        break;
      }
      total += static_cast<size_t>(got);
    }
    return total;
  }

 private:
  // gzerror()'s message starts with the path again ("PATH: invalid code"); once is enough.
  std::string zlib_message(const char* message) const {
    std::string text = message ? message : "unknown zlib error";
    std::string prefix = path_ + ": ";
    if (text.compare(0, prefix.size(), prefix) == 0) text.erase(0, prefix.size());
    return text;
  }

  std::string path_;
  gzFile file_ = nullptr;
};

}  // namespace

int64_t IdxArray::item_size() const {
  int64_t size = 1;
  for (size_t i = 1; i < dims.size(); ++i) size *= dims[i];
  return size;
}

bool is_idx_file(const std::string& path) {
  try {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) return false;
    GzReader in(path);
    uint8_t magic[4];
    if (in.read(magic, 4) != 4) return false;
    return magic[0] == 0 && magic[1] == 0 && idx_type_name(magic[2]) != nullptr && magic[3] >= 1 &&
           magic[3] <= 4;
  } catch (const Error&) {
    return false;
  }
}

IdxArray read_idx_file(const std::string& path, int64_t max_bytes) {
  GzReader in(path);
  uint8_t magic[4];
  if (in.read(magic, 4) != 4) fail_data("{}: not an IDX file: shorter than the 4-byte magic number", path);
  if (magic[0] != 0 || magic[1] != 0 || !idx_type_name(magic[2]))
    fail_data("{}: not an IDX file: magic number {:02x} {:02x} {:02x} {:02x}", path, magic[0],
              magic[1], magic[2], magic[3]);
  if (magic[2] != 0x08)
    fail_data("{}: IDX element type {} is not supported (only unsigned byte, 0x08)", path,
              idx_type_name(magic[2]));
  int ndims = magic[3];
  if (ndims < 1 || ndims > 4) fail_data("{}: IDX file declares {} dimensions (expected 1 to 4)", path, ndims);

  IdxArray array;
  int64_t total = 1;
  for (int i = 0; i < ndims; ++i) {
    uint8_t b[4];
    if (in.read(b, 4) != 4) fail_data("{}: truncated IDX header", path);
    int64_t dim = (int64_t{b[0]} << 24) | (int64_t{b[1]} << 16) | (int64_t{b[2]} << 8) | int64_t{b[3]};
    array.dims.push_back(dim);
    // Each dim < 2^32, at most 4 of them: check before multiplying past int64.
    if (dim != 0 && total > max_bytes / dim)
      fail_data("{}: IDX header declares more than {} bytes of data (dims {})", path, max_bytes,
                fmt::join(array.dims, "x"));
    total *= dim;
  }
  if (total > max_bytes)
    fail_data("{}: IDX header declares {} bytes of data, more than the limit {}", path, total, max_bytes);

  // The buffer grows with the data actually read, never to the header's claim up front: a
  // 60-byte gzip file declaring 4 GiB is refused as truncated, not allocated.
  constexpr size_t kChunk = size_t(64) << 20;
  size_t got = 0;
  while (got < static_cast<size_t>(total)) {
    size_t want = std::min(static_cast<size_t>(total) - got, kChunk);
    array.data.resize(got + want);
    size_t n = in.read(array.data.data() + got, want);
    got += n;
    if (n != want)
      fail_data("{}: truncated IDX data: header declares {} bytes ({}), file holds {}", path,
                total, fmt::join(array.dims, "x"), got);
  }
  uint8_t extra;
  if (in.read(&extra, 1) != 0)
    fail_data("{}: IDX file has data past the {} bytes its header declares", path, total);
  return array;
}

void write_idx_file(const std::string& path, const IdxArray& array, bool gzip) {
  if (array.dims.empty() || array.dims.size() > 4) fail_runtime("{}: IDX arrays have 1 to 4 dims", path);
  int64_t total = 1;
  for (int64_t d : array.dims) total *= d;
  if (total != static_cast<int64_t>(array.data.size()))
    fail_runtime("{}: IDX data size {} does not match dims ({})", path, array.data.size(), total);
  std::vector<uint8_t> bytes = {0, 0, 0x08, static_cast<uint8_t>(array.dims.size())};
  for (int64_t d : array.dims)
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(static_cast<uint8_t>((d >> shift) & 0xff));
  bytes.insert(bytes.end(), array.data.begin(), array.data.end());
  if (gzip) {
    gzFile out = gzopen(path.c_str(), "wb");
    if (!out) fail_runtime("{}: cannot create: {}", path, std::strerror(errno));
    size_t done = 0;
    bool ok = true;
    while (done < bytes.size() && ok) {
      unsigned chunk = static_cast<unsigned>(std::min<size_t>(bytes.size() - done, 1u << 30));
      ok = gzwrite(out, bytes.data() + done, chunk) == static_cast<int>(chunk);
      done += chunk;
    }
    if (gzclose(out) != Z_OK || !ok) fail_runtime("{}: write failed", path);
  } else {
    FILE* out = std::fopen(path.c_str(), "wb");
    if (!out) fail_runtime("{}: cannot create: {}", path, std::strerror(errno));
    bool ok = std::fwrite(bytes.data(), 1, bytes.size(), out) == bytes.size();
    if (std::fclose(out) != 0 || !ok) fail_runtime("{}: write failed", path);
  }
}

}  // namespace digits
