// Net: a network spec built for one phase into a graph of layers over named blobs (Caffe's Net).
//
// Construction does all the work and all the allocation:
//  - the phase's layers (plan_phase: `phase` filtering; in deploy the label and what needs it go);
//  - input blobs from the spec's `input` shapes with the batch prepended (plain blobs that the
//    trainer fills) and from Input layers;
//  - in-place layers (top == bottom, DIGITS's ReLU on conv1) share the tensor when the layer
//    supports_in_place() and nothing else reads that tensor; otherwise the layer gets a private
//    output and later consumers of the name read it;
//  - a Split layer (as Caffe inserts) wherever two or more layers send a gradient into one blob,
//    so every bottom gradient is written with `=` by exactly one layer;
//  - propagate_down only where a path leads back to a learnable parameter (lr_mult > 0): labels
//    and data get no gradient computed, frozen prefixes do no backward at all;
//  - each layer gets LayerContext{&backend, phase, &rng, seed}: one Rng seeded from `seed` and
//    drawn by the layers' fillers in layer order, so the same seed gives the same initial
//    weights; the per-layer counter seed derives from `seed` and the layer's name;
//  - every layer reshaped once (parameters created and filled), gradient buffers allocated in
//    the train phase.
// forward() and backward() allocate nothing. Errors name the layer, with file:line:column.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "core/rng.h"
#include "nn/layer.h"
#include "nn/net_spec.h"

namespace digits {

class Net {
 public:
  Net(const NetSpec& spec, Phase phase, int64_t batch_size, Backend& backend, uint64_t seed);
  Net(const Net&) = delete;
  Net& operator=(const Net&) = delete;

  const NetSpec& spec() const { return spec_; }
  Phase phase() const { return phase_; }
  int64_t batch_size() const { return batch_size_; }
  Backend& backend() const { return *backend_; }

  bool has_blob(const std::string& name) const;
  // The blob's tensor (for an in-place name, the latest value). Throws naming the blob.
  Tensor& blob(const std::string& name);
  const Tensor& blob(const std::string& name) const;
  // Blobs the caller fills before forward: "data", "label" (no label in deploy), Input tops.
  const std::vector<std::string>& input_names() const { return input_names_; }
  // Tops that no layer consumes, in layer order (losses, accuracies, deploy's softmax).
  std::vector<std::string> output_names() const;

  // Changes the batch size: reshapes the inputs and re-runs reshape through the graph (tensors
  // keep their allocation when it is large enough).
  void reshape_batch(int64_t batch_size);

  // Runs every layer in order (each first told the iteration, for repeatable randomness).
  // Returns the sum over loss layers of loss_weight * loss.
  double forward(uint64_t iteration = 0);
  // Seeds each loss top's gradient with its loss weight and runs backward in reverse order
  // through the layers that lead to a learnable parameter. Parameter gradients ACCUMULATE
  // (batch accumulation); clear them with zero_param_grads().
  void backward();
  // The same one layer at a time (per-layer timing in `digits-train benchmark`): forward()
  // is forward_layer(i) for every i; backward() is seed_loss_grads() then backward_layer(i)
  // in reverse order.
  void forward_layer(size_t i, uint64_t iteration = 0);
  void seed_loss_grads();
  void backward_layer(size_t i);
  void zero_param_grads();

  struct Output {
    std::string name;
    double value;
    bool is_loss;
    float loss_weight;
  };
  // Scalar tops that no layer consumes (losses, accuracies), in layer order, with their values
  // from the last forward.
  std::vector<Output> outputs() const;

  struct ParamRef {
    std::string name;  // "conv1.weight"
    Param* param;
  };
  // Every parameter, including non-learnable statistics, in layer order.
  std::vector<ParamRef> params();
  int64_t num_learnable_parameters() const;
  // Copies every parameter of this net from the parameter of the same name in `other` (train
  // net -> val net). Throws when one is missing there or has another shape.
  void copy_params_from(Net& other);

  // Layers in run order, including inserted Split layers.
  const std::vector<std::unique_ptr<Layer>>& layers() const { return layers_; }
  const std::vector<std::string>& layer_bottom_names(size_t i) const { return wiring_[i].bottom_names; }
  const std::vector<std::string>& layer_top_names(size_t i) const { return wiring_[i].top_names; }
  const std::vector<bool>& layer_propagate_down(size_t i) const { return wiring_[i].propagate_down; }
  bool layer_runs_backward(size_t i) const { return wiring_[i].run_backward; }
  float layer_loss_weight(size_t i) const { return wiring_[i].loss_weight; }

 private:
  // How layers_[i] is connected; wiring_[i] always describes layers_[i] (both are appended
  // only by add_layer).
  struct Wiring {
    std::vector<std::string> bottom_names, top_names;  // tensor names (unique in the net)
    std::vector<std::string> top_blobs;                // the spec's names for the tops
    std::vector<Tensor*> bottoms, tops;
    std::vector<bool> propagate_down;
    bool run_backward = false;
    float loss_weight = 0.0f;  // nonzero only for loss layers
  };

  void build();
  size_t add_layer(std::unique_ptr<Layer> layer, Wiring wiring);
  Tensor* new_tensor(const std::string& name);
  [[noreturn]] void fail_blob(const std::string& name) const;

  NetSpec spec_;
  Phase phase_;
  int64_t batch_size_;
  Backend* backend_;
  uint64_t seed_;
  Rng rng_;

  std::vector<std::unique_ptr<Tensor>> tensors_;  // owns every blob
  std::map<const Tensor*, std::string> tensor_names_;  // unique names, for messages
  std::set<std::string> tensor_name_set_;
  std::map<std::string, Tensor*> blobs_;          // user-facing name -> latest tensor
  std::vector<std::string> input_names_;
  std::vector<Tensor*> input_tensors_;            // the `input:` blobs (batch prepended)
  std::vector<Shape> input_shapes_;               // their per-sample shapes
  std::vector<std::unique_ptr<Layer>> layers_;
  std::vector<Wiring> wiring_;
  std::vector<std::string> output_names_;
  std::vector<Tensor*> zero_grad_once_;           // tops whose gradient nobody writes
};

}  // namespace digits
