// IDX files (data/idx), plain or gzipped: MNIST-style images and labels given to
// digits-dataset create. The payload limit is kept at 16 MiB here; a header declaring more must
// be refused before anything that size is allocated.
#include <cstddef>
#include <cstdint>
#include <string>

#include "data/idx.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static digits::fuzz::InputFile input("images-idx3-ubyte");
  const std::string& path = input.write(data, size);
  digits::is_idx_file(path);
  digits::fuzz::expect_clean_rejection([&] {
    digits::IdxArray array = digits::read_idx_file(path, int64_t{16} << 20);
    int64_t total = array.dims.empty() ? 0 : 1;
    for (int64_t d : array.dims) total *= d;
    if (static_cast<size_t>(total) != array.data.size()) digits::fuzz::bug("IDX size mismatch", path);
  });
  return 0;
}
