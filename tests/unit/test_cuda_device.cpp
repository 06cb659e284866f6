// The CUDA backend as a device: selection by backend_for (gpu, gpu:N, auto; a missing index is
// a "missing resource" error naming how many devices there are), its name, and upload() of an
// input batch through pinned staging (repeated uploads reuse the staging safely).
#ifdef DIGITS_HAVE_CUDA

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "backend/backend.h"
#include "core/error.h"
#include "cuda_test_util.h"
#include "layer_test_util.h"
#include "nn/net.h"
#include "nn/net_spec.h"

using namespace digits;
using namespace digits::testing;

TEST_CASE("cuda device selection") {
  CHECK(cuda_available());
  Backend& gpu = backend_for("gpu:0");
  CHECK(gpu.device() == Device::cuda);
  CHECK(gpu.name().rfind("cuda:0 (", 0) == 0);
  CHECK(&backend_for("gpu") == &gpu);
  CHECK(&backend_for("auto") == &gpu);
  CHECK(&backend_for("cpu") == &cpu_backend());
  try {
    backend_for("gpu:4096");
    FAIL("gpu:4096 accepted");
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::missing);
    CHECK(std::string(e.what()).find("CUDA device(s) visible") != std::string::npos);
  }
}

TEST_CASE("cuda upload: batches of different sizes arrive intact, back to back") {
  Backend& gpu = backend_for("gpu:0");
  Rng rng(101);
  DeviceArray<float> a(100000), b(300000);
  const auto first = random_floats(100000, rng), second = random_floats(300000, rng);
  std::vector<float> third = random_floats(100000, rng);
  gpu.upload(100000, first.data(), a.get());
  gpu.upload(300000, second.data(), b.get());  // grows the staging
  gpu.synchronize();
  check_close("first upload", a.host(), first, 0);
  check_close("second upload", b.host(), second, 0);
  gpu.upload(100000, third.data(), a.get());
  third.assign(third.size(), -1.0f);  // the caller may reuse its buffer at once
  gpu.synchronize();
  CHECK(a.host()[0] != -1.0f);
}

TEST_CASE("out of GPU memory is an error naming the layer and the bytes, not a crash") {
  // The top of `wide` is 1 x 40000 x 1000 x 1000 floats: 160 GB, more than any GPU has.
  const NetSpec spec = parse_net_spec(R"(name: huge
input: {data: [3, 1000, 1000]}
layers:
  - {name: wide, type: Convolution, num_output: 40000, kernel_size: 1}
)",
                                      "huge.yaml");
  const std::string message =
      error_message([&] { Net net(spec, Phase::deploy, 1, backend_for("gpu:0"), 1); });
  CHECK(message.find("layer 'wide' (Convolution)") != std::string::npos);
  CHECK(message.find("out of GPU memory") != std::string::npos);
  CHECK(message.find("160000000000 bytes") != std::string::npos);
  // The device is still usable afterwards.
  DeviceArray<float> a(std::vector<float>{1, 2, 3});
  backend_for("gpu:0").scale(3, 2.0f, a.get());
  check_close("after out of memory", a.host(), {2, 4, 6}, 0);
}

#endif  // DIGITS_HAVE_CUDA
