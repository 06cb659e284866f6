// Torture 14: safetensors under a memory limit. Loading runs in a forked child whose address
// space is capped: files whose headers claim huge tensors, huge headers, overflowing shapes or
// far-away offsets fail with a data error under a cap of the file's size plus 1 MiB (nothing is
// allocated from a claim); a file at the tensor-count limit (16,384 tensors, 1.4 MB) loads under
// its size plus 8 MiB (per-tensor bookkeeping; it fails under its size plus 1 MiB), and one of
// 100,000 tensors is refused within its size plus 4 MiB.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <malloc.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <new>
#include <string>

#include "core/error.h"
#include "temp_dir.h"
#include "train/safetensors.h"

using namespace digits;

namespace {

// AddressSanitizer reserves terabytes of shadow address space: no address-space cap can work.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kCapWorks = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kCapWorks = false;
#else
constexpr bool kCapWorks = true;
#endif
#else
constexpr bool kCapWorks = true;
#endif

std::string make_file(const std::string& header, const std::string& data) {
  uint64_t n = header.size();
  std::string out(8, '\0');
  std::memcpy(out.data(), &n, 8);
  return out + header + data;
}

// Virtual memory of this process now, in bytes.
size_t address_space_now() {
  std::ifstream statm("/proc/self/statm");
  size_t pages = 0;
  statm >> pages;
  return pages * static_cast<size_t>(::sysconf(_SC_PAGESIZE));
}

// 0: loaded; 3: a data error; 1: out of memory; 2: anything else. Run in a child under the cap.
int load_capped(const std::string& path, size_t cap_bytes) {
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::malloc_trim(0);  // heap the parent freed would otherwise be reused under the cap unseen
    rlimit cap{};
    cap.rlim_cur = cap.rlim_max = address_space_now() + cap_bytes;
    if (kCapWorks) ::setrlimit(RLIMIT_AS, &cap);
    int code = 2;
    try {
      SafetensorsFile file = load_safetensors(path);
      code = file.names.empty() ? 2 : 0;
    } catch (const Error& e) {
      code = e.code() == ExitCode::data ? 3 : 2;
    } catch (const std::bad_alloc&) {
      code = 1;
    } catch (...) {
    }
    ::_exit(code);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

// Loads under a cap of `factor` x the file size + `extra` bytes.
int write_and_load(const testing::TempDir& dir, const std::string& name, const std::string& bytes,
                   size_t factor = 1, size_t extra = size_t{1} << 20) {
  std::string path = dir / name;
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return load_capped(path, factor * bytes.size() + extra);
}

// A file of `count` one-float tensors named like a network's.
std::pair<std::string, std::string> many_tensors(size_t count) {
  std::string header = "{";
  std::string data;
  for (size_t i = 0; i < count; ++i) {
    header += fmt::format("{}\"layer{}.weight\":{{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[{},{}]}}",
                          i ? "," : "", i, 4 * i, 4 * i + 4);
    data.append("\0\0\x80\x3f", 4);  // 1.0f
  }
  return {header + "}", data};
}

}  // namespace

TEST_CASE("safetensors: hostile claims allocate nothing; tensor counts are bounded") {
  testing::TempDir dir;
  // A file at the tensor limit loads within its size plus 8 MiB (the bookkeeping of 16,384
  // tensors); 100,000 tensors are refused while parsing, within the file's size plus 4 MiB.
  auto [header, data] = many_tensors(kSafetensorsMaxTensors);
  std::string at_limit = make_file(header, data);
  CHECK(write_and_load(dir, "at_limit.safetensors", at_limit, 1, size_t{8} << 20) == 0);
  if (kCapWorks)
    CHECK(write_and_load(dir, "at_limit_tight.safetensors", at_limit, 1, size_t{1} << 20) == 1);  // the cap bites
  else
    MESSAGE("built with AddressSanitizer: loads are not capped, only their outcomes checked");
  auto [big_header, big_data] = many_tensors(100'000);
  CHECK(write_and_load(dir, "100k.safetensors", make_file(big_header, big_data), 1, size_t{4} << 20) == 3);

  // Claims: a tensor of 2^40 floats in a 12-byte file, offsets near 2^64, a 100 MB header
  // length in a 20-byte file, the shape product overflowing, 16 dimensions of 2^20.
  CHECK(write_and_load(dir, "huge_shape.safetensors",
                       make_file(R"({"t":{"dtype":"F32","shape":[1099511627776],"data_offsets":[0,4]}})", "abcd")) == 3);
  CHECK(write_and_load(dir, "far_offsets.safetensors",
                       make_file(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[18446744073709551608,18446744073709551612]}})",
                                 "abcd")) == 3);
  std::string long_header(8, '\0');
  uint64_t n = 99'999'999;
  std::memcpy(long_header.data(), &n, 8);
  CHECK(write_and_load(dir, "long_header.safetensors", long_header + "{\"a\":1}    ") == 3);
  CHECK(write_and_load(dir, "overflow.safetensors",
                       make_file(R"({"t":{"dtype":"F64","shape":[4294967296,4294967296,16],"data_offsets":[0,8]}})",
                                 "abcdefgh")) == 3);
  CHECK(write_and_load(dir, "dims.safetensors",
                       make_file(R"({"t":{"dtype":"F32","shape":[1048576,1048576,1048576,1048576,1048576,1048576,1048576,1048576,1048576,1048576,1048576,1048576,1048576,1048576,1048576,1048576],"data_offsets":[0,4]}})",
                                 "abcd")) == 3);
  // One tensor past the limit: refused while parsing.
  std::string over = header.substr(0, header.size() - 1) +
                     fmt::format(R"(,"extra":{{"dtype":"F32","shape":[1],"data_offsets":[{},{}]}}}})",
                                 data.size(), data.size() + 4);
  CHECK(write_and_load(dir, "too_many.safetensors", make_file(over, data + std::string(4, '\0')), 1,
                       size_t{8} << 20) == 3);
}
