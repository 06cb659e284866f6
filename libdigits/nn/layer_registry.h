// The one table of layer types: Caffe's type name, the keys its spec entry accepts (beyond the
// common ones), and its factory. The network builder rejects unknown types and keys with a
// "did you mean" hint from this table.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "nn/layer.h"

namespace digits {

using LayerFactory = std::unique_ptr<Layer> (*)(const LayerConfig&, const LayerContext&);

struct LayerType {
  const char* name;               // "Convolution"
  std::vector<std::string> keys;  // type-specific keys, e.g. "num_output", "kernel_size"
  LayerFactory make;
};

// Keys every layer accepts.
const std::vector<std::string>& common_layer_keys();
const std::vector<LayerType>& layer_types();
// nullptr when unknown.
const LayerType* find_layer_type(const std::string& name);

// Factories, one per layer file in nn/layers/.
std::unique_ptr<Layer> make_input_layer(const LayerConfig&, const LayerContext&);
std::unique_ptr<Layer> make_convolution_layer(const LayerConfig&, const LayerContext&);
std::unique_ptr<Layer> make_pooling_layer(const LayerConfig&, const LayerContext&);
std::unique_ptr<Layer> make_inner_product_layer(const LayerConfig&, const LayerContext&);
std::unique_ptr<Layer> make_lrn_layer(const LayerConfig&, const LayerContext&);
std::unique_ptr<Layer> make_relu_layer(const LayerConfig&, const LayerContext&);
std::unique_ptr<Layer> make_sigmoid_layer(const LayerConfig&, const LayerContext&);
std::unique_ptr<Layer> make_tanh_layer(const LayerConfig&, const LayerContext&);
std::unique_ptr<Layer> make_elu_layer(const LayerConfig&, const LayerContext&);
std::unique_ptr<Layer> make_power_layer(const LayerConfig&, const LayerContext&);
std::unique_ptr<Layer> make_softmax_layer(const LayerConfig&, const LayerContext&);
std::unique_ptr<Layer> make_softmax_loss_layer(const LayerConfig&, const LayerContext&);
std::unique_ptr<Layer> make_accuracy_layer(const LayerConfig&, const LayerContext&);
std::unique_ptr<Layer> make_batchnorm_layer(const LayerConfig&, const LayerContext&);
std::unique_ptr<Layer> make_scale_layer(const LayerConfig&, const LayerContext&);
std::unique_ptr<Layer> make_dropout_layer(const LayerConfig&, const LayerContext&);
std::unique_ptr<Layer> make_eltwise_layer(const LayerConfig&, const LayerContext&);
std::unique_ptr<Layer> make_concat_layer(const LayerConfig&, const LayerContext&);
std::unique_ptr<Layer> make_split_layer(const LayerConfig&, const LayerContext&);
std::unique_ptr<Layer> make_flatten_layer(const LayerConfig&, const LayerContext&);

}  // namespace digits
