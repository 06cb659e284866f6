// Weight fillers, as Caffe named them: constant, uniform, gaussian, xavier, msra.
// fan_in = count / shape[0] and fan_out = count / shape[1], as Caffe computes them.
#pragma once

#include <string>

#include "core/rng.h"
#include "core/tensor.h"
#include "nn/layer_config.h"

namespace digits {

struct FillerSpec {
  std::string type = "constant";
  double value = 0.0;              // constant
  double min = 0.0, max = 1.0;     // uniform
  double mean = 0.0, std = 1.0;    // gaussian
  std::string variance_norm = "fan_in";  // xavier/msra: fan_in | fan_out | average
};

// Reads `key` (e.g. weight_filler: {type: xavier}) from a layer's config; fallback when absent.
FillerSpec parse_filler(const LayerConfig& config, const char* key, const FillerSpec& fallback);

// Fills tensor's data (any device) from rng.
void fill(const FillerSpec& spec, Tensor& tensor, Rng& rng);

}  // namespace digits
