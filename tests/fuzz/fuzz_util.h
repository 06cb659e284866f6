// Shared by the libFuzzer targets in tests/fuzz (scripts/fuzz.sh runs them).
//
// Contract every target checks: a parser given hostile bytes either succeeds or throws
// digits::Error with a data or usage code. Anything else is a bug and aborts, so libFuzzer
// records the input: a sanitizer report, an exception of another type escaping the library
// (yaml-cpp's, std::out_of_range, std::bad_alloc, ...), or a DIGITS_CHECK failure (an Error
// whose message says "check failed": an internal invariant broken by the input).
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

#include "core/error.h"

namespace digits::fuzz {

[[noreturn]] inline void bug(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz target: %s: %s\n", what, detail.c_str());
  std::abort();
}

// DIGITS_CHECK's message: "SOURCE.cpp:LINE: check failed: ...". Recognised by that prefix
// only: the words "check failed" inside a message can be the input's own text, quoted.
inline bool is_check_failure(const char* message) {
  const char* marker = std::strstr(message, ": check failed: ");
  if (marker == nullptr) return false;
  std::string prefix(message, marker);
  size_t colon = prefix.rfind(':');
  if (colon == std::string::npos || colon + 1 == prefix.size()) return false;
  for (size_t i = colon + 1; i < prefix.size(); ++i)
    if (prefix[i] < '0' || prefix[i] > '9') return false;
  std::string file = prefix.substr(0, colon);
  auto ends_with = [&](const char* suffix) {
    size_t n = std::strlen(suffix);
    return file.size() >= n && file.compare(file.size() - n, n, suffix) == 0;
  };
  return file.find_first_of(" \t\n") == std::string::npos && (ends_with(".cpp") || ends_with(".h"));
}

// Runs body(); swallows the errors hostile input may legitimately cause.
template <typename Body>
void expect_clean_rejection(Body&& body) {
  try {
    body();
  } catch (const Error& e) {
    if (e.code() != ExitCode::data && e.code() != ExitCode::usage)
      bug("digits::Error with an unexpected exit code", e.what());
    if (is_check_failure(e.what())) bug("internal check failed", e.what());
  } catch (const std::exception& e) {
    bug("a non-digits exception escaped", e.what());
  }
}

// Parsers that take a path read the input from this file, rewritten for every input. It lives
// in a directory of its own, removed when the process exits: under $DIGITS_FUZZ_TMPDIR, else
// /dev/shm when there is one (5x the executions per second of a disk-backed /tmp here), else
// $TMPDIR or /tmp.
class InputFile {
 public:
  explicit InputFile(const char* name) {
    std::string pattern;
    if (const char* dir = std::getenv("DIGITS_FUZZ_TMPDIR"))
      pattern = dir;
    else if (::access("/dev/shm", W_OK) == 0)
      pattern = "/dev/shm";
    else
      pattern = std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp";
    pattern += "/digits-fuzz-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) bug("mkdtemp failed", pattern);
    dir_ = pattern;
    path_ = dir_ + "/" + name;
  }
  ~InputFile() {
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  const std::string& write(const uint8_t* data, size_t size) {
    FILE* f = std::fopen(path_.c_str(), "wb");
    if (f == nullptr) bug("cannot write the input file", path_);
    if (size > 0 && std::fwrite(data, 1, size, f) != size) bug("short write", path_);
    if (std::fclose(f) != 0) bug("cannot close the input file", path_);
    return path_;
  }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_, path_;
};

}  // namespace digits::fuzz
