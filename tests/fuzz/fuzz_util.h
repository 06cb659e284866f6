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

// Runs body(); swallows the errors hostile input may legitimately cause.
template <typename Body>
void expect_clean_rejection(Body&& body) {
  try {
    body();
  } catch (const Error& e) {
    if (e.code() != ExitCode::data && e.code() != ExitCode::usage)
      bug("digits::Error with an unexpected exit code", e.what());
    if (std::strstr(e.what(), "check failed") != nullptr) bug("internal check failed", e.what());
  } catch (const std::exception& e) {
    bug("a non-digits exception escaped", e.what());
  }
}

// Parsers that take a path read the input from this file, rewritten for every input. It lives
// in a directory of its own (under $TMPDIR, else /tmp), removed when the process exits.
class InputFile {
 public:
  explicit InputFile(const char* name) {
    std::string pattern = std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp";
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
