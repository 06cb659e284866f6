// The network spec (DESIGN.md section 4): a YAML file naming the inputs and listing layers in
// the order they run, Caffe style.
//
//   name: LeNet
//   input:                 # blob name -> per-sample shape; the batch dimension is prepended
//     data: [1, 28, 28]
//     label: []            # dropped automatically in the deploy phase, with the layers needing it
//   batch_size: 64         # optional default training batch size (DIGITS networks carried one)
//   val_batch_size: 32     # optional default validation batch size (default: batch_size)
//   data_scale: 0.0125     # optional: the data pipeline multiplies input pixels by this
//   classes: 10            # optional: the number written for `num_output: classes`
//   layers:
//     - {name: conv1, type: Convolution, num_output: 20, kernel_size: 5}
//     - {name: pool1, type: Pooling, pool: max, kernel_size: 2, stride: 2}
//     ...
//
// Layer entries: `name` and `type` (Caffe's type names) are required. `bottom` defaults to the
// first top of the previous layer in the file (the first input for the first layer), so plain
// chains need no wiring; `top` defaults to the layer's name. `phase: train|val|deploy` or a list
// of them includes a layer only there. `param: [{lr_mult: 1, decay_mult: 1}, ...]` sets
// per-parameter multipliers in the layer's parameter order (Caffe); `lr_mult:`/`decay_mult:` on
// the layer set them for all of its parameters (how DIGITS users freeze layers). `loss_weight`
// weights a loss layer's loss (default 1 for loss layers). `num_output: classes` is replaced by
// the spec's `classes`, which a job overrides with its dataset's class count.
//
// Everything that can be checked without building layers is checked when the spec is parsed,
// with file:line:column, the layer and what would be valid: unknown keys and types (with "did
// you mean"), missing or doubly produced blobs in each phase, cycles, phases, numbers.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "nn/layer_config.h"

namespace digits {

struct NetSpec {
  std::string name;
  std::string file;  // path (or label) used in messages
  std::string text;  // the YAML text it was parsed from
  // Per-sample shapes of the declared inputs, in file order (the batch dimension is not
  // included). "label" is dropped in the deploy phase.
  std::vector<std::pair<std::string, Shape>> inputs;
  int64_t batch_size = 0;      // 0: not given
  int64_t val_batch_size = 0;  // 0: not given (use batch_size)
  // Multiplies input pixels; applied by the data pipeline (after mean subtraction, as Caffe's
  // transform_param scale was), never by the net, so a forward can be repeated on one input.
  double data_scale = 1.0;
  int64_t classes = 0;        // 0: not given
  bool uses_classes = false;  // some layer wrote `num_output: classes` (already substituted)
  // Every layer of every phase, in file order, with bottom/top defaults filled in.
  std::vector<LayerConfig> layers;
};

struct NetSpecOptions {
  // When > 0, replaces the spec's `classes` (a job sets it from its dataset).
  int64_t classes = 0;
};

NetSpec parse_net_spec(const std::string& text, const std::string& label,
                       const NetSpecOptions& options = {});
NetSpec load_net_spec(const std::string& path, const NetSpecOptions& options = {});

// Resolves a network name or path to a file: `name_or_path` itself when it is a file; else
// NAME or NAME.yaml in, in order, each directory of $DIGITS_NETWORKS (colon separated),
// <executable dir>/../share/digits/networks, and the source tree's configs/networks. The error
// lists where it looked and the networks found there.
std::string find_network(const std::string& name_or_path);
// The directories find_network searches after the path itself, in order (existing ones only).
std::vector<std::string> network_search_dirs();

// ---- helpers shared by the parser and the net builder ----------------------------------------

// Whether a layer runs in `phase` (its `phase` key; every phase when absent).
bool layer_in_phase(const LayerConfig& config, Phase phase);

// The part of a spec that one phase runs: its inputs (per-sample shapes) and the indices into
// spec.layers of its layers, in order. In the deploy phase the "label" input is dropped, and so
// is every layer without an explicit `phase` that needs it (directly or through other layers).
struct PhasePlan {
  std::vector<std::pair<std::string, Shape>> inputs;
  std::vector<size_t> layers;
};
PhasePlan plan_phase(const NetSpec& spec, Phase phase);

// Per-parameter multipliers of a layer: `param:` entries by index, else the `lr_mult`/
// `decay_mult` shorthand for all parameters. Unset values leave the layer's own defaults.
struct ParamMultiplier {
  std::optional<float> lr_mult, decay_mult;
};
struct ParamMultipliers {
  std::vector<ParamMultiplier> per_param;
  ParamMultiplier all;
  ParamMultiplier for_param(size_t index) const {
    return index < per_param.size() ? per_param[index] : all;
  }
};
ParamMultipliers param_multipliers(const LayerConfig& config);

// A layer's `loss_weight`, else 1 for loss layers and 0 for others.
float layer_loss_weight(const LayerConfig& config, bool is_loss);

// Checks a per-sample shape (see parse_sample_shape); returns "" and sets *shape, or returns
// what is wrong (without a position, for callers that add their own).
std::string check_sample_shape(const YAML::Node& node, Shape* shape);
// A per-sample shape: a list of positive integers ([] for a scalar per sample), at most 8 axes
// and 2^30 elements. `what` names it in errors ("input `data`").
Shape parse_sample_shape(const YAML::Node& node, const std::string& file,
                         const std::string& what);

}  // namespace digits
