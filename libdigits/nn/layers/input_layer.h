// Input: a layer with no bottoms whose tops are plain blobs that the trainer (or the inference
// code) fills before each forward; for specs that declare inputs as a layer instead of the
// top-level `input:` mapping.
//
//   - {name: data, type: Input, top: [data, label], shape: [[1, 28, 28], []]}
//   - {name: data, type: Input, shape: [3, 227, 227]}        # one top: one shape
//
// Shapes are per sample; the net prepends its batch size (set_batch_size). Forward and backward
// do nothing: the net treats these tops as its inputs.
#pragma once

#include <vector>

#include "nn/layer.h"

namespace digits {

// The per-top sample shapes of an Input layer's `shape`: a single shape for a single top, or a
// list of shapes (one per top). Errors name the layer and key.
std::vector<Shape> input_layer_shapes(const LayerConfig& config);

class InputLayer final : public Layer {
 public:
  InputLayer(const LayerConfig& config, const LayerContext& context);

  int min_bottoms() const override { return 0; }
  int max_bottoms() const override { return 0; }
  int min_tops() const override { return 1; }
  int max_tops() const override { return 64; }
  bool has_backward() const override { return false; }

  void set_batch_size(int64_t batch_size);
  int64_t batch_size() const { return batch_size_; }
  const std::vector<Shape>& sample_shapes() const { return shapes_; }

  // tops[i]: (batch, shape[i]...).
  void reshape(const std::vector<Tensor*>& bottom, const std::vector<Tensor*>& top) override;
  void forward(const std::vector<Tensor*>& bottom, const std::vector<Tensor*>& top) override;
  void backward(const std::vector<Tensor*>& top, const std::vector<bool>& propagate_down,
                const std::vector<Tensor*>& bottom) override;

 private:
  std::vector<Shape> shapes_;
  int64_t batch_size_ = 1;
};

}  // namespace digits
