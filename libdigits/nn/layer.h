// Layer: one node of a network (Caffe-style: named bottom blobs in, named top blobs out).
// Layers are written once, against the Backend interface; the net owns the blobs.
//
// Contract for every layer:
//  - reshape() checks the bottoms' shapes (errors name the layer and what was expected), shapes
//    the tops, and on its first call creates and fills its parameters. It is called again
//    whenever an input shape changes (it must not refill parameters then).
//  - forward() overwrites tops. backward() overwrites the grads of the bottoms whose
//    propagate_down flag is set, and ADDS to its parameters' grads (batch accumulation).
//  - A layer that supports_in_place() works when top[0] and bottom[0] are the same tensor
//    (Caffe's in-place ReLU/Dropout); its backward then must use only the top's data.
//  - Loss layers (is_loss()) write a scalar top; the net seeds that top's grad with the loss
//    weight, and backward scales by it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "core/rng.h"
#include "core/tensor.h"
#include "nn/layer_config.h"

namespace digits {

struct LayerContext {
  Backend* backend = nullptr;
  Phase phase = Phase::train;
  Rng* rng = nullptr;      // for weight fillers, drawn in layer order at construction
  uint64_t seed = 0;       // for counter-based randomness (dropout)
};

// A learnable (or stored) parameter: saved as "<layer>.<name>" in safetensors.
struct Param {
  std::string name;  // "weight", "bias", "running_mean", ...
  Tensor value;
  float lr_mult = 1.0f;
  float decay_mult = 1.0f;
  bool learnable = true;  // false for statistics such as batch norm's running mean
};

class Layer {
 public:
  Layer(const LayerConfig& config, const LayerContext& context)
      : config_(config), context_(context) {}
  virtual ~Layer() = default;

  const std::string& name() const { return config_.name; }
  const std::string& type() const { return config_.type; }
  const LayerConfig& config() const { return config_; }
  Phase phase() const { return context_.phase; }
  void set_phase(Phase phase) { context_.phase = phase; }
  // The training iteration, set by the net before each forward. Randomness in a layer (dropout)
  // derives from (seed, iteration) only, so a forward is repeatable and resume is exact.
  void set_iteration(uint64_t iteration) { iteration_ = iteration; }
  uint64_t iteration() const { return iteration_; }

  // Accepted numbers of bottoms and tops (checked by the net before reshape).
  virtual int min_bottoms() const { return 1; }
  virtual int max_bottoms() const { return 1; }
  virtual int min_tops() const { return 1; }
  virtual int max_tops() const { return 1; }
  virtual bool supports_in_place() const { return false; }
  virtual bool is_loss() const { return false; }
  // Layers with no gradient to give (Accuracy, Input) return false.
  virtual bool has_backward() const { return true; }

  virtual void reshape(const std::vector<Tensor*>& bottom, const std::vector<Tensor*>& top) = 0;
  virtual void forward(const std::vector<Tensor*>& bottom, const std::vector<Tensor*>& top) = 0;
  virtual void backward(const std::vector<Tensor*>& top, const std::vector<bool>& propagate_down,
                        const std::vector<Tensor*>& bottom) = 0;

  std::vector<Param>& params() { return params_; }
  const std::vector<Param>& params() const { return params_; }

 protected:
  Backend& backend() const { return *context_.backend; }
  Device device() const { return context_.backend->device(); }
  // "lenet.yaml:12:5: layer 'conv1' (Convolution): <message>", as a usage error.
  [[noreturn]] void fail_layer(const std::string& message) const { config_.fail_key(nullptr, message); }

  LayerConfig config_;
  LayerContext context_;
  std::vector<Param> params_;
  uint64_t iteration_ = 0;
};

}  // namespace digits
