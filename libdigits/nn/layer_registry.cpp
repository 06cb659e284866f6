#include "nn/layer_registry.h"

namespace digits {

const std::vector<std::string>& common_layer_keys() {
  static const std::vector<std::string> keys = {"name",  "type",    "bottom",     "top",
                                                "phase", "param",   "loss_weight", "lr_mult",
                                                "decay_mult"};
  return keys;
}

const std::vector<LayerType>& layer_types() {
  static const std::vector<LayerType> types = {
      {"Input", {"shape"}, make_input_layer},
      {"Convolution",
       {"num_output", "kernel_size", "kernel_h", "kernel_w", "stride", "stride_h", "stride_w",
        "pad", "pad_h", "pad_w", "dilation", "group", "bias_term", "weight_filler",
        "bias_filler"},
       make_convolution_layer},
      {"Pooling",
       {"pool", "kernel_size", "kernel_h", "kernel_w", "stride", "stride_h", "stride_w", "pad",
        "pad_h", "pad_w", "global_pooling"},
       make_pooling_layer},
      {"InnerProduct", {"num_output", "bias_term", "weight_filler", "bias_filler", "axis"},
       make_inner_product_layer},
      {"LRN", {"local_size", "alpha", "beta", "k", "norm_region"}, make_lrn_layer},
      {"ReLU", {"negative_slope"}, make_relu_layer},
      {"Sigmoid", {}, make_sigmoid_layer},
      {"TanH", {}, make_tanh_layer},
      {"ELU", {"alpha"}, make_elu_layer},
      {"Power", {"power", "scale", "shift"}, make_power_layer},
      {"Softmax", {"axis"}, make_softmax_layer},
      {"SoftmaxWithLoss", {"axis", "ignore_label", "normalization"}, make_softmax_loss_layer},
      {"Accuracy", {"top_k", "axis", "ignore_label"}, make_accuracy_layer},
      {"BatchNorm", {"use_global_stats", "moving_average_fraction", "eps"},
       make_batchnorm_layer},
      {"Scale", {"bias_term", "axis", "filler", "bias_filler"}, make_scale_layer},
      {"Dropout", {"dropout_ratio"}, make_dropout_layer},
      {"Eltwise", {"operation", "coeff"}, make_eltwise_layer},
      {"Concat", {"axis"}, make_concat_layer},
      {"Split", {}, make_split_layer},
      {"Flatten", {"axis", "end_axis"}, make_flatten_layer},
  };
  return types;
}

const LayerType* find_layer_type(const std::string& name) {
  for (const auto& t : layer_types())
    if (name == t.name) return &t;
  return nullptr;
}

}  // namespace digits
