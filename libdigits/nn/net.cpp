#include "nn/net.h"

#include <algorithm>
#include <set>

#include "core/error.h"
#include "nn/layer_registry.h"
#include "nn/layers/input_layer.h"

namespace digits {

namespace {

constexpr int64_t kMaxBatch = int64_t(1) << 20;

// Runs `f` for `layer`; a runtime error from inside (out of device memory, a CUDA failure) gets
// the layer's name in front, so "out of GPU memory ... needs N bytes" says which layer asked.
// Usage errors already name the layer (Layer::fail_layer).
template <typename F>
void in_layer(const Layer& layer, F&& f) {
  try {
    f();
  } catch (const Error& e) {
    if (e.code() != ExitCode::runtime) throw;
    throw Error(e.code(), fmt::format("layer '{}' ({}): {}", layer.name(), layer.type(), e.what()));
  }
}

// The counter seed of one layer: from the net's seed and the layer's name, so two dropout
// layers draw different masks, and the train and val nets agree layer by layer.
uint64_t layer_seed(uint64_t seed, const std::string& name) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (unsigned char c : name) h = (h ^ c) * 1099511628211ULL;
  return splitmix64(seed ^ h);
}

std::string count_range(int min, int max) {
  if (min == max) return fmt::format("exactly {}", min);
  if (max >= 64) return fmt::format("at least {}", min);
  return fmt::format("{} to {}", min, max);
}

std::string quoted_list(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "`" : ", `") + n + "`";
  return out.empty() ? "none" : out;
}

// One scalar from a tensor on any device (no allocation).
double read_scalar(const Tensor& t) {
  float value = 0.0f;
  copy_bytes(&value, Device::cpu, t.data(), t.device(), sizeof(float));
  return value;
}

// An Input layer's config for the deploy phase: its `label` top (and that top's shape) removed.
LayerConfig without_label_top(const LayerConfig& c, const std::string& file, int index) {
  auto it = std::find(c.tops.begin(), c.tops.end(), "label");
  if (it == c.tops.end()) return c;
  size_t drop = static_cast<size_t>(it - c.tops.begin());
  std::vector<Shape> shapes = input_layer_shapes(c);
  YAML::Node node = YAML::Clone(c.yaml());
  YAML::Node tops(YAML::NodeType::Sequence), shape_list(YAML::NodeType::Sequence);
  for (size_t i = 0; i < c.tops.size(); ++i) {
    if (i == drop) continue;
    tops.push_back(c.tops[i]);
    YAML::Node shape(YAML::NodeType::Sequence);
    for (int64_t d : shapes[i]) shape.push_back(d);
    shape_list.push_back(shape);
  }
  node["top"] = tops;
  node["shape"] = shape_list;
  LayerConfig out(node, file, index);
  out.tops = c.tops;
  out.tops.erase(out.tops.begin() + static_cast<std::ptrdiff_t>(drop));
  return out;
}

}  // namespace

Net::Net(const NetSpec& spec, Phase phase, int64_t batch_size, Backend& backend, uint64_t seed)
    : spec_(spec), phase_(phase), batch_size_(batch_size), backend_(&backend), seed_(seed),
      rng_(seed) {
  if (batch_size < 1 || batch_size > kMaxBatch)
    fail_usage("{}: batch size must be from 1 to {}, got {}", spec_.file, kMaxBatch, batch_size);
  build();
}

Tensor* Net::new_tensor(const std::string& name) {
  std::string unique = name;
  for (int k = 2; tensor_name_set_.count(unique); ++k) unique = fmt::format("{}@{}", name, k);
  tensors_.push_back(std::make_unique<Tensor>(Shape{}, backend_->device()));
  tensor_name_set_.insert(unique);
  tensor_names_[tensors_.back().get()] = unique;
  return tensors_.back().get();
}

size_t Net::add_layer(std::unique_ptr<Layer> layer, Wiring wiring) {
  layers_.push_back(std::move(layer));
  wiring_.push_back(std::move(wiring));
  return layers_.size() - 1;
}

void Net::build() {
  PhasePlan plan = plan_phase(spec_, phase_);

  // ---- 1. Resolve names to versions: each top makes a new version of its name; a bottom reads
  // the latest version. In place (top j == bottom j) is decided later, when tensors exist.
  struct Version {
    std::string name;
    std::vector<std::pair<int, int>> consumers;  // (position in `planned`, bottom index)
    int in_place_of = -1;                         // version this one may overwrite in place
    bool needs_grad = false;
    Tensor* tensor = nullptr;
    std::map<std::pair<int, int>, Tensor*> split_tops;  // consumer -> its split copy, if split
  };
  struct Planned {
    LayerConfig config;
    std::vector<int> bottoms, tops;  // version ids
    std::unique_ptr<Layer> layer;
    float loss_weight = 0.0f;
    bool contributes = false;  // some path from it to a weighted loss, through layers with backward
  };
  std::vector<Version> versions;
  std::map<std::string, int> current;
  for (const auto& [name, shape] : plan.inputs) {
    versions.emplace_back();
    versions.back().name = name;
    current[name] = static_cast<int>(versions.size()) - 1;
  }
  std::vector<Planned> planned;
  for (size_t index : plan.layers) {
    const LayerConfig& spec_config = spec_.layers[index];
    Planned p;
    p.config = spec_config;
    if (phase_ == Phase::deploy && spec_config.type == "Input") {
      p.config = without_label_top(spec_config, spec_.file, static_cast<int>(index));
      if (p.config.tops.empty()) continue;  // an Input layer of the label alone
    }
    int position = static_cast<int>(planned.size());
    for (size_t i = 0; i < p.config.bottoms.size(); ++i) {
      auto it = current.find(p.config.bottoms[i]);
      DIGITS_CHECK(it != current.end(), "bottom `{}` of layer '{}' unresolved (the spec parser "
                   "should have refused it)", p.config.bottoms[i], p.config.name);
      versions[it->second].consumers.emplace_back(position, static_cast<int>(i));
      p.bottoms.push_back(it->second);
    }
    for (size_t j = 0; j < p.config.tops.size(); ++j) {
      Version v;
      v.name = p.config.tops[j];
      if (j < p.config.bottoms.size() && p.config.bottoms[j] == p.config.tops[j])
        v.in_place_of = p.bottoms[j];
      versions.push_back(v);
      current[p.config.tops[j]] = static_cast<int>(versions.size()) - 1;
      p.tops.push_back(static_cast<int>(versions.size()) - 1);
    }
    planned.push_back(std::move(p));
  }

  // ---- 2. Construct the layers (no allocation yet) and check what can be checked on them.
  for (auto& p : planned) {
    const LayerConfig& c = p.config;
    const LayerType* type = find_layer_type(c.type);
    DIGITS_CHECK(type != nullptr, "layer type `{}` unknown (the spec parser should have refused it)",
                 c.type);
    LayerContext context{backend_, phase_, &rng_, layer_seed(seed_, c.name)};
    p.layer = type->make(c, context);
    Layer& layer = *p.layer;
    int nb = static_cast<int>(c.bottoms.size()), nt = static_cast<int>(c.tops.size());
    if (nb < layer.min_bottoms() || nb > layer.max_bottoms()) {
      std::string note = c.has("bottom") ? "" : " (by default, the previous layer's top)";
      c.fail_key(c.has("bottom") ? "bottom" : nullptr,
                 fmt::format("{} takes {} bottom(s), got {}: {}{}", c.type,
                             count_range(layer.min_bottoms(), layer.max_bottoms()), nb,
                             quoted_list(c.bottoms), note));
    }
    if (nt < layer.min_tops() || nt > layer.max_tops())
      c.fail_key(c.has("top") ? "top" : nullptr,
                 fmt::format("{} gives {} top(s), got {}: {}", c.type,
                             count_range(layer.min_tops(), layer.max_tops()), nt,
                             quoted_list(c.tops)));
    if (c.has("loss_weight") && !layer.is_loss())
      c.fail_key("loss_weight", fmt::format("only loss layers take a loss weight, and {} is not "
                                            "one",
                                            c.type));
    p.loss_weight = digits::layer_loss_weight(c, layer.is_loss());
    if (auto* input = dynamic_cast<InputLayer*>(p.layer.get())) input->set_batch_size(batch_size_);
  }

  // ---- 3. Which layers lead to a weighted loss through layers that have a backward pass.
  for (size_t k = planned.size(); k-- > 0;) {
    Planned& p = planned[k];
    p.contributes = p.loss_weight != 0.0f;
    for (int v : p.tops)
      for (const auto& consumer : versions[v].consumers) {
        const Planned& c = planned[consumer.first];
        p.contributes |= c.contributes && c.layer->has_backward();
      }
  }
  auto propagates_into = [&](const Version& v, int consumer) {
    const Planned& c = planned[consumer];
    return v.needs_grad && c.contributes && c.layer->has_backward();
  };

  // ---- 4. Allocate in run order: inputs, then each layer's tops, reshape (which creates and
  // fills parameters, drawing from rng_ in layer order), then any split of its tops.
  for (size_t i = 0; i < plan.inputs.size(); ++i) {
    const auto& [name, sample_shape] = plan.inputs[i];
    Tensor* t = new_tensor(name);
    Shape shape = {batch_size_};
    shape.insert(shape.end(), sample_shape.begin(), sample_shape.end());
    t->reshape(shape);
    versions[i].tensor = t;  // input i is version i
    blobs_[name] = t;
    input_names_.push_back(name);
    input_tensors_.push_back(t);
    input_shapes_.push_back(sample_shape);
  }
  // The tensor consumer (position, bottom index) reads for version v.
  auto tensor_for = [&](Version& v, int position, int bottom_index) {
    auto it = v.split_tops.find({position, bottom_index});
    return it != v.split_tops.end() ? it->second : v.tensor;
  };
  // How many layers read v's own tensor (consumers without a split copy, plus the split).
  auto direct_readers = [&](const Version& v) {
    int n = v.split_tops.empty() ? 0 : 1;
    for (const auto& key : v.consumers) n += v.split_tops.count(key) ? 0 : 1;
    return n;
  };

  std::set<std::string> layer_names;
  for (const auto& c : spec_.layers) layer_names.insert(c.name);

  for (size_t position = 0; position < planned.size(); ++position) {
    Planned& p = planned[position];
    Layer& layer = *p.layer;
    int pos = static_cast<int>(position);
    Wiring w;
    for (size_t i = 0; i < p.bottoms.size(); ++i) {
      Tensor* t = tensor_for(versions[p.bottoms[i]], pos, static_cast<int>(i));
      w.bottoms.push_back(t);
    }
    bool is_input = dynamic_cast<InputLayer*>(&layer) != nullptr;
    for (size_t j = 0; j < p.tops.size(); ++j) {
      Version& v = versions[p.tops[j]];
      // In place only when this layer is the one reader of the tensor it would overwrite: its
      // own split copy, or a version nothing else reads (others may need it in backward).
      bool sole_reader = false;
      if (v.in_place_of >= 0) {
        const Version& before = versions[v.in_place_of];
        sole_reader = before.split_tops.count({pos, 0}) > 0 || direct_readers(before) == 1;
      }
      Tensor* t = v.in_place_of >= 0 && j == 0 && p.tops.size() == 1 &&
                          layer.supports_in_place() && sole_reader
                      ? w.bottoms[0]
                      : new_tensor(v.name);
      v.tensor = t;
      w.tops.push_back(t);
      w.top_blobs.push_back(v.name);
      blobs_[v.name] = t;
      if (is_input) input_names_.push_back(v.name);
    }
    for (Tensor* t : w.bottoms) w.bottom_names.push_back(tensor_names_.at(t));
    for (Tensor* t : w.tops) w.top_names.push_back(tensor_names_.at(t));

    in_layer(layer, [&] { layer.reshape(w.bottoms, w.tops); });

    // Multipliers from the spec, over the parameters the layer just created.
    ParamMultipliers multipliers = param_multipliers(p.config);
    auto& params = layer.params();
    if (multipliers.per_param.size() > params.size()) {
      std::vector<std::string> names;
      for (const auto& param : params) names.push_back(param.name);
      p.config.fail_key("param", fmt::format("{} entries, but {} has {} parameter(s): {}",
                                             multipliers.per_param.size(), p.config.type,
                                             params.size(), quoted_list(names)));
    }
    bool learns = false;
    for (size_t k = 0; k < params.size(); ++k) {
      ParamMultiplier m = multipliers.for_param(k);
      if (m.lr_mult) params[k].lr_mult = *m.lr_mult;
      if (m.decay_mult) params[k].decay_mult = *m.decay_mult;
      learns |= params[k].learnable && params[k].lr_mult > 0.0f;
    }

    bool any_bottom_grad = false;
    for (size_t i = 0; i < p.bottoms.size(); ++i) {
      bool down = p.contributes && layer.has_backward() && versions[p.bottoms[i]].needs_grad;
      w.propagate_down.push_back(down);
      any_bottom_grad |= versions[p.bottoms[i]].needs_grad;
    }
    w.run_backward = p.contributes && layer.has_backward() &&
                     (learns || std::find(w.propagate_down.begin(), w.propagate_down.end(),
                                          true) != w.propagate_down.end());
    w.loss_weight = p.loss_weight;
    for (int v : p.tops) versions[v].needs_grad = layer.has_backward() && (learns || any_bottom_grad);
    add_layer(std::move(p.layer), std::move(w));

    // A split for each top that two or more layers send gradients into.
    for (int vid : p.tops) {
      Version& v = versions[vid];
      std::vector<std::pair<int, int>> receivers;
      for (const auto& key : v.consumers)
        if (propagates_into(v, key.first)) receivers.push_back(key);
      if (receivers.size() < 2) continue;
      std::string split_name = v.name + "_split";
      for (int k = 2; layer_names.count(split_name); ++k)
        split_name = fmt::format("{}_split{}", v.name, k);
      layer_names.insert(split_name);
      Wiring sw;
      sw.bottoms = {v.tensor};
      YAML::Node node(YAML::NodeType::Map);
      node["name"] = split_name;
      node["type"] = "Split";
      YAML::Node tops(YAML::NodeType::Sequence);
      for (size_t k = 0; k < receivers.size(); ++k) {
        Tensor* t = new_tensor(fmt::format("{}_split_{}", v.name, k));
        v.split_tops[receivers[k]] = t;
        sw.tops.push_back(t);
        sw.top_blobs.push_back(v.name);
      }
      for (Tensor* t : sw.tops) {
        sw.top_names.push_back(tensor_names_.at(t));
        tops.push_back(tensor_names_.at(t));
      }
      sw.bottom_names.push_back(tensor_names_.at(v.tensor));
      node["bottom"] = sw.bottom_names[0];
      node["top"] = tops;
      LayerConfig split_config(node, spec_.file, -1);
      LayerContext context{backend_, phase_, &rng_, layer_seed(seed_, split_name)};
      std::unique_ptr<Layer> split = make_split_layer(split_config, context);
      split->reshape(sw.bottoms, sw.tops);
      sw.propagate_down = {true};
      sw.run_backward = true;
      add_layer(std::move(split), std::move(sw));
    }
  }

  // ---- 5. Outputs: tops that no later layer reads.
  for (size_t i = 0; i < wiring_.size(); ++i)
    for (size_t j = 0; j < wiring_[i].tops.size(); ++j) {
      bool read_later = false;
      for (size_t k = i + 1; k < wiring_.size() && !read_later; ++k)
        for (Tensor* b : wiring_[k].bottoms) read_later |= b == wiring_[i].tops[j];
      if (!read_later) output_names_.push_back(wiring_[i].top_blobs[j]);
    }

  // ---- 6. Gradient buffers, allocated now so that backward allocates nothing.
  if (phase_ == Phase::train) {
    std::set<Tensor*> written;  // gradients that some layer's backward writes (=) or seeds
    for (const auto& w : wiring_) {
      if (!w.run_backward) continue;
      for (size_t i = 0; i < w.bottoms.size(); ++i)
        if (w.propagate_down[i]) written.insert(w.bottoms[i]);
      if (w.loss_weight != 0.0f) written.insert(w.tops[0]);
    }
    for (size_t i = 0; i < wiring_.size(); ++i) {
      const Wiring& w = wiring_[i];
      if (!w.run_backward) continue;
      for (Tensor* t : w.tops) {
        t->grad();
        if (!written.count(t)) {
          DIGITS_CHECK(std::find(w.bottoms.begin(), w.bottoms.end(), t) == w.bottoms.end(),
                       "layer '{}': an in-place top with no gradient source", layers_[i]->name());
          zero_grad_once_.push_back(t);
        }
      }
      for (size_t k = 0; k < w.bottoms.size(); ++k)
        if (w.propagate_down[k]) w.bottoms[k]->grad();
      for (auto& param : layers_[i]->params())
        if (param.learnable) param.value.grad();
    }
    for (Tensor* t : zero_grad_once_) t->zero_grad();
  }
}

bool Net::has_blob(const std::string& name) const { return blobs_.count(name) > 0; }

void Net::fail_blob(const std::string& name) const {
  std::vector<std::string> names;
  for (const auto& [n, t] : blobs_) names.push_back(n);
  std::string hint = closest_match(name, names);
  fail_usage("{}: no blob `{}` in the {} net{}", spec_.file, name, phase_name(phase_),
             hint.empty() ? "" : "; did you mean `" + hint + "`?");
}

Tensor& Net::blob(const std::string& name) {
  auto it = blobs_.find(name);
  if (it == blobs_.end()) fail_blob(name);
  return *it->second;
}

const Tensor& Net::blob(const std::string& name) const {
  auto it = blobs_.find(name);
  if (it == blobs_.end()) fail_blob(name);
  return *it->second;
}

std::vector<std::string> Net::output_names() const { return output_names_; }

void Net::reshape_batch(int64_t batch_size) {
  if (batch_size < 1 || batch_size > kMaxBatch)
    fail_usage("{}: batch size must be from 1 to {}, got {}", spec_.file, kMaxBatch, batch_size);
  batch_size_ = batch_size;
  for (size_t i = 0; i < input_tensors_.size(); ++i) {
    Shape shape = {batch_size};
    shape.insert(shape.end(), input_shapes_[i].begin(), input_shapes_[i].end());
    input_tensors_[i]->reshape(shape);
  }
  for (size_t i = 0; i < layers_.size(); ++i) {
    if (auto* input = dynamic_cast<InputLayer*>(layers_[i].get())) input->set_batch_size(batch_size);
    in_layer(*layers_[i], [&] { layers_[i]->reshape(wiring_[i].bottoms, wiring_[i].tops); });
  }
  for (Tensor* t : zero_grad_once_) t->zero_grad();
}

double Net::forward(uint64_t iteration) {
  double loss = 0.0;
  for (size_t i = 0; i < layers_.size(); ++i) {
    forward_layer(i, iteration);
    const Wiring& w = wiring_[i];
    if (w.loss_weight != 0.0f) loss += double(w.loss_weight) * read_scalar(*w.tops[0]);
  }
  return loss;
}

void Net::forward_layer(size_t i, uint64_t iteration) {
  Wiring& w = wiring_[i];
  layers_[i]->set_iteration(iteration);
  in_layer(*layers_[i], [&] { layers_[i]->forward(w.bottoms, w.tops); });
}

void Net::seed_loss_grads() {
  for (auto& w : wiring_)
    if (w.run_backward && w.loss_weight != 0.0f)
      backend_->set(w.tops[0]->count(), w.loss_weight, w.tops[0]->grad());
}

void Net::backward_layer(size_t i) {
  Wiring& w = wiring_[i];
  if (w.run_backward)
    in_layer(*layers_[i], [&] { layers_[i]->backward(w.tops, w.propagate_down, w.bottoms); });
}

void Net::backward() {
  seed_loss_grads();
  for (size_t i = layers_.size(); i-- > 0;) backward_layer(i);
}

void Net::zero_param_grads() {
  for (auto& layer : layers_)
    for (auto& param : layer->params())
      if (param.learnable) param.value.zero_grad();
}

std::vector<Net::Output> Net::outputs() const {
  std::vector<Output> out;
  for (size_t i = 0; i < wiring_.size(); ++i) {
    const Wiring& w = wiring_[i];
    for (size_t j = 0; j < w.tops.size(); ++j) {
      const std::string& name = w.top_blobs[j];
      if (w.tops[j]->count() != 1 ||
          std::find(output_names_.begin(), output_names_.end(), name) == output_names_.end())
        continue;
      bool is_loss = layers_[i]->is_loss();
      out.push_back(Output{name, read_scalar(*w.tops[j]), is_loss, is_loss ? w.loss_weight : 0.0f});
    }
  }
  return out;
}

std::vector<Net::ParamRef> Net::params() {
  std::vector<ParamRef> out;
  for (auto& layer : layers_)
    for (auto& param : layer->params()) out.push_back(ParamRef{layer->name() + "." + param.name, &param});
  return out;
}

int64_t Net::num_learnable_parameters() const {
  int64_t n = 0;
  for (const auto& layer : layers_)
    for (const auto& param : layer->params())
      if (param.learnable) n += param.value.count();
  return n;
}

void Net::copy_params_from(Net& other) {
  std::map<std::string, Param*> theirs;
  for (auto& ref : other.params()) theirs[ref.name] = ref.param;
  for (auto& ref : params()) {
    auto it = theirs.find(ref.name);
    if (it == theirs.end())
      fail_runtime("copying parameters from the {} net into the {} net: `{}` does not exist there",
                   phase_name(other.phase_), phase_name(phase_), ref.name);
    const Tensor& from = it->second->value;
    if (from.shape() != ref.param->value.shape())
      fail_runtime("copying parameters from the {} net into the {} net: `{}` is {} there, {} here",
                   phase_name(other.phase_), phase_name(phase_), ref.name, from.shape_string(),
                   ref.param->value.shape_string());
    ref.param->value.copy_data_from(from);
  }
}

}  // namespace digits
