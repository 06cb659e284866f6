// The unit-test runner: doctest plus one flag of ours. `--require-gpu` makes the run exit 77
// (CTest's "skipped") with a line saying why when no CUDA device is usable, so GPU tests build
// everywhere and skip out loud.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <cstring>
#include <vector>

#include "backend/backend.h"

int main(int argc, char** argv) {
  std::vector<char*> args;
  bool require_gpu = false;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--require-gpu") == 0)
      require_gpu = true;
    else
      args.push_back(argv[i]);
  }
  if (require_gpu) {
    std::string why;
    if (!digits::cuda_available(&why)) {
      std::printf("SKIPPED: no usable CUDA device: %s\n", why.c_str());
      return 77;
    }
  }
  doctest::Context context(static_cast<int>(args.size()), args.data());
  return context.run();
}
