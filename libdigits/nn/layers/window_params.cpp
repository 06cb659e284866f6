#include "nn/layers/window_params.h"

#include <fmt/format.h>

#include "core/error.h"

namespace digits::layer_detail {

HeightWidth read_height_width(const LayerConfig& config, const char* key, const char* key_h,
                              const char* key_w, int64_t fallback, int64_t minimum,
                              bool required) {
  const bool has_pair = key_h && (config.has(key_h) || config.has(key_w));
  if (config.has(key) && has_pair)
    config.fail_key(key, fmt::format("give either `{}` or `{}`/`{}`, not both", key, key_h, key_w));
  auto check = [&](const char* name, int64_t value) {
    if (value < minimum)
      config.fail_key(name, minimum == 1
                                ? fmt::format("expected a positive integer, got {}", value)
                                : fmt::format("expected an integer >= {}, got {}", minimum, value));
    return value;
  };
  HeightWidth out;
  if (has_pair) {
    if (!config.has(key_h) || !config.has(key_w))
      config.fail_key(config.has(key_h) ? key_h : key_w,
                      fmt::format("`{}` and `{}` go together: give both", key_h, key_w));
    out.h = check(key_h, config.get_int(key_h, 0));
    out.w = check(key_w, config.get_int(key_w, 0));
    return out;
  }
  if (config.has(key)) {
    std::vector<int64_t> values = config.get_ints(key);
    if (values.size() == 1) {
      out.h = out.w = check(key, values[0]);
    } else if (values.size() == 2) {
      out.h = check(key, values[0]);
      out.w = check(key, values[1]);
    } else {
      config.fail_key(key, fmt::format("expected one value or two ([height, width]), got {}",
                                       values.size()));
    }
    return out;
  }
  if (required) {
    if (key_h)
      config.fail_key(nullptr, fmt::format("missing required key `{}` (or `{}` and `{}`)", key,
                                           key_h, key_w));
    config.fail_key(nullptr, fmt::format("missing required key `{}`", key));
  }
  out.h = out.w = fallback;
  return out;
}

Param make_filled_param(const char* name, const Shape& shape, const FillerSpec& filler,
                        Device device, Rng* rng, const std::string& layer_name) {
  Param param{name, Tensor(shape, device)};
  if (filler.type == "constant") {
    Rng unused(0);  // the constant filler draws nothing
    fill(filler, param.value, rng ? *rng : unused);
  } else {
    DIGITS_CHECK(rng != nullptr, "layer '{}': a {} filler for {} needs an rng", layer_name,
                 filler.type, name);
    fill(filler, param.value, *rng);
  }
  return param;
}

FillerSpec constant_zero_filler() {
  FillerSpec spec;
  spec.type = "constant";
  spec.value = 0.0;
  return spec;
}

}  // namespace digits::layer_detail
