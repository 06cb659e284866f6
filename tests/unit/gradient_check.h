// The one gradient checker for every layer: central differences on the objective
// sum_j w_j * top_j (random fixed weights w), compared with the layer's backward for every
// bottom element and every learnable parameter element. Skips a band around kinks (ReLU at 0,
// max-pool ties) and uses a tolerance relative to magnitude, as Caffe's checker does. Failure
// messages name the layer, blob, index and both values.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/rng.h"
#include "nn/layer.h"

namespace digits::testing {

struct GradientCheckOptions {
  double step = 1e-2;       // finite-difference step
  double threshold = 1e-2;  // |analytic - numeric| <= threshold * max(|analytic|, |numeric|, 1)
  double kink = 0.0;        // skip inputs within kink_range of kink (when kink_range > 0)
  double kink_range = -1.0;
  uint64_t seed = 1701;
  // Bottoms to check (empty: all). Labels, for instance, have no gradient.
  std::vector<int> bottoms;
  bool check_params = true;
};

// Fills a tensor with uniform values in [lo, hi).
inline void fill_uniform(Tensor& t, Rng& rng, float lo = -1.0f, float hi = 1.0f) {
  std::vector<float> v(t.count());
  for (auto& x : v) x = rng.uniform(lo, hi);
  t.set_data(v);
}

inline void check_layer_gradients(Layer& layer, const std::vector<Tensor*>& bottom,
                                  const std::vector<Tensor*>& top,
                                  const GradientCheckOptions& options = {}) {
  layer.reshape(bottom, top);
  Rng rng(options.seed);
  std::vector<std::vector<float>> top_weights;
  for (Tensor* t : top) {
    std::vector<float> w(t->count());
    for (auto& x : w) x = rng.uniform(-1.0f, 1.0f);
    top_weights.push_back(w);
  }
  auto objective = [&]() {
    layer.forward(bottom, top);
    double total = 0;
    for (size_t j = 0; j < top.size(); ++j) {
      std::vector<float> values = top[j]->host_data();
      for (size_t i = 0; i < values.size(); ++i) total += double(values[i]) * top_weights[j][i];
    }
    return total;
  };

  std::vector<int> which = options.bottoms;
  if (which.empty())
    for (int i = 0; i < static_cast<int>(bottom.size()); ++i) which.push_back(i);

  // Analytic gradients.
  objective();
  for (size_t j = 0; j < top.size(); ++j) top[j]->set_grad(top_weights[j]);
  std::vector<bool> propagate(bottom.size(), false);
  for (int i : which) propagate[i] = true;
  for (auto& p : layer.params()) p.value.zero_grad();
  layer.backward(top, propagate, bottom);

  struct Target {
    std::string label;
    Tensor* tensor;
    std::vector<float> analytic;
  };
  std::vector<Target> targets;
  for (int i : which)
    targets.push_back({"bottom[" + std::to_string(i) + "]", bottom[i], bottom[i]->host_grad()});
  if (options.check_params)
    for (auto& p : layer.params())
      if (p.learnable) targets.push_back({"param " + p.name, &p.value, p.value.host_grad()});

  for (auto& target : targets) {
    std::vector<float> values = target.tensor->host_data();
    for (size_t i = 0; i < values.size(); ++i) {
      float original = values[i];
      if (options.kink_range > 0 && std::fabs(original - options.kink) < options.kink_range)
        continue;
      values[i] = original + static_cast<float>(options.step);
      target.tensor->set_data(values);
      double plus = objective();
      values[i] = original - static_cast<float>(options.step);
      target.tensor->set_data(values);
      double minus = objective();
      values[i] = original;
      target.tensor->set_data(values);
      double numeric = (plus - minus) / (2 * options.step);
      double analytic = target.analytic[i];
      double scale = std::max({std::fabs(analytic), std::fabs(numeric), 1.0});
      INFO("layer '" << layer.name() << "' (" << layer.type() << ") " << target.label
                     << " index " << i << ": analytic " << analytic << " numeric " << numeric);
      REQUIRE(std::fabs(analytic - numeric) <= options.threshold * scale);
    }
  }
}

}  // namespace digits::testing
