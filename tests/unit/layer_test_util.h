// Building single layers from YAML text for unit tests, on the CPU backend.
#pragma once

#include <doctest/doctest.h>
#include <yaml-cpp/yaml.h>

#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/tensor.h"
#include "nn/layer.h"
#include "nn/layer_registry.h"

namespace digits::testing {

// A layer made through the registry's factory, as the net would: e.g.
// make_test_layer("{name: r, type: ReLU, negative_slope: 0.1}", rng).
inline std::unique_ptr<Layer> make_test_layer(const std::string& yaml, Rng& rng,
                                              Phase phase = Phase::train, uint64_t seed = 1234) {
  LayerConfig config(YAML::Load(yaml), "test", 0);
  const LayerType* type = find_layer_type(config.type);
  REQUIRE_MESSAGE(type != nullptr, "unknown layer type " << config.type);
  return type->make(config, LayerContext{&cpu_backend(), phase, &rng, seed});
}

// A CPU tensor of `shape` holding `values`.
inline Tensor make_tensor(const Shape& shape, const std::vector<float>& values) {
  Tensor t(shape);
  t.set_data(values);
  return t;
}

// A CPU tensor of `shape` with uniform values in [lo, hi).
inline Tensor random_tensor(const Shape& shape, Rng& rng, float lo = -1.0f, float hi = 1.0f) {
  Tensor t(shape);
  std::vector<float> v(t.count());
  for (auto& x : v) x = rng.uniform(lo, hi);
  t.set_data(v);
  return t;
}

// The message of the digits::Error that `f` throws ("" when it throws none).
template <typename F>
std::string error_message(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace digits::testing
