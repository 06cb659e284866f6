// safetensors writer and hostile-input-safe reader (format in safetensors.h).
#include "train/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstring>
#include <set>
#include <utility>

#include "core/error.h"
#include "nn/layer_config.h"

namespace digits {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; a big-endian host needs byte swapping here");

namespace {

constexpr const char* kMetadataKey = "__metadata__";
constexpr const char* kSupportedDtypes = "F32, F16, BF16, F64";

size_t dtype_size(const std::string& dtype) {
  if (dtype == "F32") return 4;
  if (dtype == "F16" || dtype == "BF16") return 2;
  if (dtype == "F64") return 8;
  return 0;
}

std::string errno_text() { return std::strerror(errno); }

// A file descriptor closed on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { close(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int close() {
    int rc = 0;
    if (fd_ >= 0) rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

// ---- writing -----------------------------------------------------------------------------------

struct Prepared {
  std::string header;  // the 8-byte length, the JSON, the padding
  std::vector<std::pair<std::string, const Tensor*>> order;  // data order
};

Prepared prepare(const std::vector<std::pair<std::string, const Tensor*>>& tensors,
                 const std::map<std::string, std::string>& metadata) {
  Prepared prepared;
  prepared.order = tensors;
  std::set<std::string> names;
  for (const auto& [name, tensor] : tensors) {
    DIGITS_CHECK(!name.empty(), "safetensors: a tensor has an empty name");
    DIGITS_CHECK(name != kMetadataKey, "safetensors: a tensor may not be named {}", kMetadataKey);
    DIGITS_CHECK(tensor != nullptr, "safetensors: tensor '{}' is null", name);
    DIGITS_CHECK(names.insert(name).second, "safetensors: tensor '{}' appears twice", name);
  }
  // The reference writer orders by dtype alignment, then name; ours are all F32.
  std::sort(prepared.order.begin(), prepared.order.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });

  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    nlohmann::ordered_json meta = nlohmann::ordered_json::object();
    for (const auto& [key, value] : metadata) meta[key] = value;
    header[kMetadataKey] = std::move(meta);
  }
  uint64_t offset = 0;
  for (const auto& [name, tensor] : prepared.order) {
    uint64_t bytes = static_cast<uint64_t>(tensor->count()) * sizeof(float);
    nlohmann::ordered_json entry = nlohmann::ordered_json::object();
    entry["dtype"] = "F32";
    nlohmann::ordered_json shape = nlohmann::ordered_json::array();
    for (int64_t dim : tensor->shape()) shape.push_back(static_cast<uint64_t>(dim));
    entry["shape"] = std::move(shape);
    entry["data_offsets"] = nlohmann::ordered_json::array({offset, offset + bytes});
    header[name] = std::move(entry);
    offset += bytes;
  }
  std::string json;
  try {
    json = header.dump();
  } catch (const nlohmann::json::exception& e) {
    fail_runtime("safetensors: cannot encode the header (names and metadata must be UTF-8): {}",
                 e.what());
  }
  json.append((8 - json.size() % 8) % 8, ' ');  // data starts 8-byte aligned
  uint64_t length = json.size();
  prepared.header.resize(8);
  std::memcpy(prepared.header.data(), &length, 8);
  prepared.header += json;
  return prepared;
}

void write_all(int fd, const void* data, size_t bytes, const std::string& path) {
  const char* p = static_cast<const char*>(data);
  while (bytes > 0) {
    ssize_t written = ::write(fd, p, std::min<size_t>(bytes, size_t(1) << 30));
    if (written < 0) {
      if (errno == EINTR) continue;
      fail_runtime("{}: write failed: {}", path, errno_text());
    }
    p += written;
    bytes -= static_cast<size_t>(written);
  }
}

// ---- reading -----------------------------------------------------------------------------------

struct Entry {
  std::string name;
  std::string dtype;
  Shape shape;
  uint64_t begin = 0, end = 0;
  bool has_dtype = false, has_shape = false, has_offsets = false;
};

// Builds the header's entries straight from the JSON tokens (no JSON tree, so memory stays
// proportional to the header's text), checking the structure as it goes.
class HeaderReader : public nlohmann::json_sax<nlohmann::json> {
 public:
  explicit HeaderReader(const std::string& path) : path_(path) {}

  std::vector<Entry> entries;
  std::map<std::string, std::string> metadata;

  bool null() override { return scalar("null"); }
  bool boolean(bool) override { return scalar("a boolean"); }
  bool number_integer(number_integer_t value) override {
    if (state_ == State::array) bad(fmt::format("{}: expected non-negative integers, got {}", field_, value));
    return scalar("a number");
  }
  bool number_unsigned(number_unsigned_t value) override {
    if (state_ != State::array) return scalar("a number");
    if (array_.size() >= array_limit_)
      bad(field_ == "shape"
              ? fmt::format("shape has more than {} dimensions", kSafetensorsMaxDims)
              : std::string("data_offsets must be [begin, end]"));
    array_.push_back(value);
    return true;
  }
  bool number_float(number_float_t, const string_t& text) override {
    if (state_ == State::array)
      bad(fmt::format("{}: expected non-negative integers (below 2^64), got {}", field_, text));
    return scalar("a number");
  }
  bool string(string_t& value) override {
    if (state_ == State::metadata) {
      metadata[key_] = value;
      return true;
    }
    if (state_ == State::tensor && field_ == "dtype") {
      entries.back().dtype = value;
      entries.back().has_dtype = true;
      return true;
    }
    return scalar("a string");
  }
  bool binary(binary_t&) override { return scalar("binary data"); }

  bool start_object(std::size_t) override {
    switch (state_) {
      case State::start: state_ = State::root; return true;
      case State::root:
        if (key_ == kMetadataKey) {
          state_ = State::metadata;
          keys_.clear();
        } else {
          state_ = State::tensor;
          keys_.clear();
          Entry entry;
          entry.name = key_;
          entries.push_back(std::move(entry));
        }
        return true;
      default: return scalar("an object");
    }
  }
  bool key(string_t& key) override {
    if (state_ == State::root) {
      // Duplicate tensor names are found after parsing, by sorting: a set of names here would
      // cost more memory than the header itself.
      if (key == kMetadataKey && std::exchange(metadata_seen_, true))
        fail_data("{}: \"{}\" appears twice in the header", path_, kMetadataKey);
      if (entries.size() >= kSafetensorsMaxTensors)
        fail_data("{}: more than {} tensors in the header", path_, kSafetensorsMaxTensors);
      key_ = key;
      return true;
    }
    if (state_ == State::metadata) {
      if (!keys_.insert(key).second)
        fail_data("{}: metadata key \"{}\" appears twice", path_, key);
      if (keys_.size() > kSafetensorsMaxMetadataEntries)
        fail_data("{}: more than {} metadata entries", path_, kSafetensorsMaxMetadataEntries);
      key_ = key;
      return true;
    }
    // State::tensor
    if (!keys_.insert(key).second) bad(fmt::format("field \"{}\" appears twice", key));
    if (key != "dtype" && key != "shape" && key != "data_offsets")
      bad(fmt::format("unknown field \"{}\" (expected dtype, shape, data_offsets)", key));
    field_ = key;
    return true;
  }
  bool end_object() override {
    if (state_ == State::metadata) {
      state_ = State::root;
    } else if (state_ == State::tensor) {
      const Entry& e = entries.back();
      if (!e.has_dtype) bad("missing \"dtype\"");
      if (!e.has_shape) bad("missing \"shape\"");
      if (!e.has_offsets) bad("missing \"data_offsets\"");
      state_ = State::root;
    } else if (state_ == State::root) {
      state_ = State::done;
    }
    return true;
  }
  bool start_array(std::size_t) override {
    if (state_ != State::tensor || (field_ != "shape" && field_ != "data_offsets"))
      return scalar("a list");
    state_ = State::array;
    array_.clear();
    array_limit_ = field_ == "shape" ? kSafetensorsMaxDims : 2;
    return true;
  }
  bool end_array() override {
    Entry& e = entries.back();
    if (field_ == "shape") {
      for (uint64_t dim : array_) {
        // Dimensions beyond int64 cannot describe data in a file; the span check catches the rest.
        if (dim > static_cast<uint64_t>(INT64_MAX))
          fail_data("{}: tensor '{}': shape dimension {} is too large", path_, e.name, dim);
        e.shape.push_back(static_cast<int64_t>(dim));
      }
      e.has_shape = true;
    } else {
      if (array_.size() != 2) bad("data_offsets must be [begin, end]");
      e.begin = array_[0];
      e.end = array_[1];
      e.has_offsets = true;
    }
    state_ = State::tensor;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::json::exception& ex) override {
    fail_data("{}: the safetensors header is not valid JSON: {}", path_, ex.what());
  }

 private:
  enum class State { start, root, metadata, tensor, array, done };

  // A value where the structure allows none of its kind.
  bool scalar(const char* what) {
    switch (state_) {
      case State::start: fail_data("{}: the safetensors header is not a JSON object", path_);
      case State::root:
        if (key_ == kMetadataKey)
          fail_data("{}: \"__metadata__\" must be an object of strings, got {}", path_, what);
        fail_data("{}: tensor '{}': expected an object with dtype, shape and data_offsets, got {}",
                  path_, key_, what);
      case State::metadata:
        fail_data("{}: metadata \"{}\": values must be strings, got {}", path_, key_, what);
      case State::tensor:
        bad(fmt::format("\"{}\" has the wrong type: {}", field_, what));
      case State::array: bad(fmt::format("{}: expected non-negative integers, got {}", field_, what));
      case State::done: break;
    }
    fail_data("{}: unexpected {} after the header object", path_, what);
  }
  [[noreturn]] void bad(const std::string& message) {
    fail_data("{}: tensor '{}': {}", path_, entries.empty() ? key_ : entries.back().name, message);
  }

  std::string path_;
  State state_ = State::start;
  std::string key_;    // current key of the root or metadata object
  std::string field_;  // current field of a tensor entry
  std::set<std::string> keys_;  // of the current tensor entry or the metadata object
  bool metadata_seen_ = false;
  std::vector<uint64_t> array_;
  size_t array_limit_ = 0;
};

void read_exact(int fd, uint64_t offset, void* data, size_t bytes, const std::string& path) {
  char* p = static_cast<char*>(data);
  while (bytes > 0) {
    ssize_t got = ::pread(fd, p, std::min<size_t>(bytes, size_t(1) << 30),
                          static_cast<off_t>(offset));
    if (got < 0) {
      if (errno == EINTR) continue;
      fail_runtime("{}: read failed: {}", path, errno_text());
    }
    if (got == 0) fail_data("{}: the file ended early (was it truncated while being read?)", path);
    p += got;
    offset += static_cast<uint64_t>(got);
    bytes -= static_cast<size_t>(got);
  }
}

float half_to_float(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1f;
  uint32_t mantissa = h & 0x3ffu;
  uint32_t bits;
  if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | (mantissa << 13);  // inf or nan
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    bits = sign;  // signed zero
  } else {
    // Subnormal half: normalize into a float.
    int shift = 0;
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      ++shift;
    }
    mantissa &= 0x3ffu;
    bits = sign | (static_cast<uint32_t>(113 - shift) << 23) | (mantissa << 13);
  }
  return std::bit_cast<float>(bits);
}

}  // namespace

// ---- public ------------------------------------------------------------------------------------

const SafetensorsTensor& SafetensorsFile::tensor(const std::string& name) const {
  auto it = tensors.find(name);
  if (it != tensors.end()) return it->second;
  std::string hint = closest_match(name, names);
  fail_data("{}: no tensor named '{}'{} ({} tensors in the file)", path, name,
            hint.empty() ? "" : fmt::format(" (did you mean '{}'?)", hint), names.size());
}

std::string serialize_safetensors(
    const std::vector<std::pair<std::string, const Tensor*>>& tensors,
    const std::map<std::string, std::string>& metadata) {
  Prepared prepared = prepare(tensors, metadata);
  std::string out = prepared.header;
  for (const auto& [name, tensor] : prepared.order) {
    std::vector<float> values = tensor->host_data();
    out.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
  }
  return out;
}

void save_safetensors(const std::string& path,
                      const std::vector<std::pair<std::string, const Tensor*>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  Prepared prepared = prepare(tensors, metadata);

  // A temporary name in the same directory, so the final rename is atomic.
  size_t slash = path.find_last_of('/');
  std::string dir = slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash);
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  static std::atomic<uint64_t> counter{0};
  std::string temp;
  int raw_fd = -1;
  for (int attempt = 0; attempt < 100 && raw_fd < 0; ++attempt) {
    temp = fmt::format("{}/.{}.tmp-{}-{}", dir, base, ::getpid(), counter++);
    raw_fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (raw_fd < 0 && errno != EEXIST)
      fail_runtime("{}: cannot create a temporary file in {}: {}", path, dir, errno_text());
  }
  if (raw_fd < 0) fail_runtime("{}: cannot create a temporary file in {}", path, dir);

  Fd fd(raw_fd);
  try {
    write_all(fd.get(), prepared.header.data(), prepared.header.size(), path);
    for (const auto& [name, tensor] : prepared.order) {
      std::vector<float> values = tensor->host_data();
      write_all(fd.get(), values.data(), values.size() * sizeof(float), path);
    }
    if (::fsync(fd.get()) != 0) fail_runtime("{}: fsync failed: {}", path, errno_text());
    if (fd.close() != 0) fail_runtime("{}: close failed: {}", path, errno_text());
    if (::rename(temp.c_str(), path.c_str()) != 0)
      fail_runtime("{}: cannot rename {} into place: {}", path, temp, errno_text());
  } catch (...) {
    ::unlink(temp.c_str());
    throw;
  }
  // Make the rename itself durable (best effort: some file systems refuse to sync a directory).
  int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

static SafetensorsFile load_safetensors_impl(const std::string& path, bool with_data);

SafetensorsFile load_safetensors(const std::string& path) { return load_safetensors_impl(path, true); }

SafetensorsFile load_safetensors_header(const std::string& path) {
  return load_safetensors_impl(path, false);
}

static SafetensorsFile load_safetensors_impl(const std::string& path, bool with_data) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) fail_usage("{}: no such file", path);
    fail_runtime("{}: cannot open: {}", path, errno_text());
  }
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) fail_runtime("{}: cannot stat: {}", path, errno_text());
  if (!S_ISREG(info.st_mode)) fail_data("{}: not a regular file", path);
  const uint64_t file_size = static_cast<uint64_t>(info.st_size);

  if (file_size < 8)
    fail_data("{}: not a safetensors file: {} bytes, too short for the 8-byte header length",
              path, file_size);
  uint64_t header_size = 0;
  read_exact(fd.get(), 0, &header_size, 8, path);
  if (header_size > kSafetensorsMaxHeaderBytes)
    fail_data("{}: header length {} exceeds the {}-byte limit (not a safetensors file?)", path,
              header_size, kSafetensorsMaxHeaderBytes);
  if (header_size > file_size - 8)
    fail_data("{}: header length {} runs past the end of the file ({} bytes; truncated?)", path,
              header_size, file_size);
  if (header_size < 2) fail_data("{}: header length {} is too short for a JSON object", path, header_size);

  std::string header(header_size, '\0');
  read_exact(fd.get(), 8, header.data(), header.size(), path);
  if (header[0] != '{')
    fail_data("{}: the safetensors header does not start with '{{' (not a safetensors file?)",
              path);
  HeaderReader reader(path);
  nlohmann::json::sax_parse(header, &reader);
  std::string().swap(header);  // the entries hold all that is needed from it
  std::vector<Entry>& entries = reader.entries;
  {
    std::vector<const Entry*> by_name(entries.size());
    for (size_t i = 0; i < entries.size(); ++i) by_name[i] = &entries[i];
    std::sort(by_name.begin(), by_name.end(),
              [](const Entry* a, const Entry* b) { return a->name < b->name; });
    for (size_t i = 1; i < by_name.size(); ++i)
      if (by_name[i]->name == by_name[i - 1]->name)
        fail_data("{}: tensor '{}' appears twice in the header", path, by_name[i]->name);
  }

  // Check every entry against the data region before allocating anything for it.
  const uint64_t data_start = 8 + header_size;
  const uint64_t data_size = file_size - data_start;
  for (const Entry& e : entries) {
    size_t element = dtype_size(e.dtype);
    if (element == 0)
      fail_data("{}: tensor '{}': unsupported dtype \"{}\" (supported: {})", path, e.name,
                e.dtype, kSupportedDtypes);
    // The product of the non-zero dimensions must fit an int64, as tensors count elements in
    // one: [2^32, 2^32, 0] holds no element, but its running product overflows on the way.
    uint64_t count = 1;
    bool empty = false;
    for (int64_t dim : e.shape) {
      uint64_t d = static_cast<uint64_t>(dim);
      if (d == 0) {
        empty = true;
        continue;
      }
      if (count > static_cast<uint64_t>(INT64_MAX) / d)
        fail_data("{}: tensor '{}': shape {} has more elements than can exist", path, e.name,
                  shape_string(e.shape));
      count *= d;
    }
    if (empty) count = 0;
    if (count > UINT64_MAX / element || count * element > data_size)
      fail_data("{}: tensor '{}': shape {} of {} needs more bytes than the file's {} bytes of data",
                path, e.name, shape_string(e.shape), e.dtype, data_size);
    if (e.end < e.begin)
      fail_data("{}: tensor '{}': data_offsets [{}, {}] end before they begin", path, e.name,
                e.begin, e.end);
    if (e.end > data_size)
      fail_data("{}: tensor '{}': data_offsets [{}, {}] run past the end of the data ({} bytes; "
                "truncated?)", path, e.name, e.begin, e.end, data_size);
    if (e.end - e.begin != count * element)
      fail_data("{}: tensor '{}': shape {} of {} is {} bytes, but data_offsets [{}, {}] span {}",
                path, e.name, shape_string(e.shape), e.dtype, count * element, e.begin, e.end,
                e.end - e.begin);
  }
  // The tensors must tile the data region exactly, as the reference reader demands: no overlap,
  // no gap, nothing after the last one.
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t position = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    if (e.begin < position)
      fail_data("{}: tensor '{}': data_offsets [{}, {}] overlap tensor '{}'", path, e.name,
                e.begin, e.end, entries[i - 1].name);
    if (e.begin > position)
      fail_data("{}: tensor '{}': data_offsets [{}, {}] leave a gap of {} bytes before it", path,
                e.name, e.begin, e.end, e.begin - position);
    position = e.end;
  }
  if (position != data_size)
    fail_data("{}: {} bytes of data after the last tensor (the header describes {} of {} bytes)",
              path, data_size - position, position, data_size);

  SafetensorsFile file;
  file.path = path;
  file.metadata = std::move(reader.metadata);
  file.names.reserve(entries.size());
  std::vector<char> raw;
  for (Entry& e : entries) {
    SafetensorsTensor tensor;
    tensor.shape = std::move(e.shape);
    tensor.dtype = e.dtype;
    if (!with_data) {
      file.names.push_back(e.name);
      file.tensors.emplace(e.name, std::move(tensor));
      continue;
    }
    const size_t count = static_cast<size_t>(shape_count(tensor.shape));
    tensor.data.resize(count);
    const uint64_t offset = data_start + e.begin;
    if (e.dtype == "F32") {
      read_exact(fd.get(), offset, tensor.data.data(), count * 4, path);
    } else {
      raw.resize(e.end - e.begin);
      read_exact(fd.get(), offset, raw.data(), raw.size(), path);
      for (size_t i = 0; i < count; ++i) {
        if (e.dtype == "F64") {
          double value;
          std::memcpy(&value, raw.data() + 8 * i, 8);
          tensor.data[i] = static_cast<float>(value);
        } else {
          uint16_t bits;
          std::memcpy(&bits, raw.data() + 2 * i, 2);
          tensor.data[i] = e.dtype == "F16"
                               ? half_to_float(bits)
                               : std::bit_cast<float>(static_cast<uint32_t>(bits) << 16);
        }
      }
    }
    file.names.push_back(e.name);
    file.tensors.emplace(e.name, std::move(tensor));
  }
  return file;
}

}  // namespace digits
