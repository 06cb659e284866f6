// Reading Caffe's 2-D window settings (kernel, stride, pad, dilation) and creating a layer's
// filled parameters; shared by the Convolution and Pooling layers (and InnerProduct for the
// parameters). Errors name the layer and the key.
#pragma once

#include <cstdint>

#include "core/rng.h"
#include "nn/filler.h"
#include "nn/layer.h"
#include "nn/layer_config.h"

namespace digits::layer_detail {

struct HeightWidth {
  int64_t h = 0, w = 0;
};

// A (height, width) pair spelled the Caffe way: `key: N` (both), `key: [H, W]`, or separate
// `key_h` and `key_w` (when key_h is not null). Each value must be >= minimum. When none is
// given: `fallback`, or a usage error naming the key when `required`.
HeightWidth read_height_width(const LayerConfig& config, const char* key, const char* key_h,
                              const char* key_w, int64_t fallback, int64_t minimum,
                              bool required);

// A parameter of the given shape on the layer's device, filled from the layer's rng (a filler
// other than constant needs one).
Param make_filled_param(const char* name, const Shape& shape, const FillerSpec& filler,
                        Device device, Rng* rng, const std::string& layer_name);

// The filler Caffe uses when none is given: constant 0.
FillerSpec constant_zero_filler();

}  // namespace digits::layer_detail
