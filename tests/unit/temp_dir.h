// A scratch directory for one test, removed with everything in it when the test ends.
#pragma once

#include <doctest/doctest.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace digits::testing {

struct TempDir {
  std::string path;
  TempDir() {
    std::string pattern = std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp";
    pattern += "/digits-test-XXXXXX";
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string operator/(const std::string& name) const {
    return (std::filesystem::path(path) / name).string();
  }
};

}  // namespace digits::testing
