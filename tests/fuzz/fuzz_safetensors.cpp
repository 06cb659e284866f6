// safetensors files (train/safetensors): snapshots and --pretrained weights, which users copy
// from anywhere. Both readers: the header-only one (snapshot listing) and the full load. The
// reader promises memory bounded by the file size, so -rss_limit_mb/-malloc_limit_mb catch an
// allocation driven by a header's claims.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "train/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static digits::fuzz::InputFile input("weights.safetensors");
  const std::string& path = input.write(data, size);
  digits::fuzz::expect_clean_rejection([&] { digits::load_safetensors_header(path); });
  digits::fuzz::expect_clean_rejection([&] {
    digits::SafetensorsFile file = digits::load_safetensors(path);
    for (const std::string& name : file.names) {
      const digits::SafetensorsTensor& tensor = file.tensor(name);
      int64_t count = 1;
      for (int64_t d : tensor.shape) count *= d;
      if (static_cast<size_t>(count) != tensor.data.size())
        digits::fuzz::bug("tensor size does not match its shape", name);
    }
  });
  return 0;
}
