// Net: building a spec into a graph (phases, splits, in place, propagate_down), running it, and
// the standard networks end to end.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "backend/backend.h"
#include "core/error.h"
#include "core/rng.h"
#include "nn/net.h"
#include "nn/net_spec.h"

using namespace digits;

namespace {

void fill_uniform(Tensor& t, Rng& rng, float lo, float hi) {
  std::vector<float> v(t.count());
  for (auto& x : v) x = rng.uniform(lo, hi);
  t.set_data(v);
}

void fill_labels(Tensor& t, Rng& rng, int classes) {
  std::vector<float> v(t.count());
  for (auto& x : v) x = static_cast<float>(rng.below(classes));
  t.set_data(v);
}

size_t layer_index(const Net& net, const std::string& name) {
  for (size_t i = 0; i < net.layers().size(); ++i)
    if (net.layers()[i]->name() == name) return i;
  FAIL("no layer " << name);
  return 0;
}

std::string net_error(const std::string& text, Phase phase = Phase::train) {
  try {
    NetSpec spec = parse_net_spec(text, "net.yaml");
    Net net(spec, phase, 2, cpu_backend(), 1);
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::usage);
    return e.what();
  }
  return "";
}

// One blob (ip1) feeds two layers whose results are summed: the net must insert a split and
// sum the two gradients. No kinks anywhere, so finite differences are clean.
const char* kDiamond = R"(name: Diamond
input:
  data: [5]
  label: []
layers:
  - {name: ip1, type: InnerProduct, num_output: 4, weight_filler: {type: gaussian, std: 0.5}}
  - {name: a, type: InnerProduct, bottom: ip1, num_output: 3, weight_filler: {type: gaussian, std: 0.5}}
  - {name: b, type: InnerProduct, bottom: ip1, num_output: 3, weight_filler: {type: gaussian, std: 0.5}}
  - {name: sum, type: Eltwise, bottom: [a, b]}
  - {name: loss, type: SoftmaxWithLoss, bottom: [sum, label]}
  - {name: aux, type: SoftmaxWithLoss, bottom: [a, label], loss_weight: 0.5}
  - {name: accuracy, type: Accuracy, bottom: [sum, label], phase: val}
)";

}  // namespace

TEST_CASE("a blob consumed twice gets a split, and its gradient is the sum") {
  NetSpec spec = parse_net_spec(kDiamond, "diamond.yaml");
  Net net(spec, Phase::train, 3, cpu_backend(), 7);
  // ip1 feeds a and b (both need its gradient): one split with two tops. `a` feeds sum and
  // aux: a second split. `sum` feeds only the loss in train; `label` needs no gradient: shared.
  std::vector<std::string> types;
  for (const auto& l : net.layers()) types.push_back(l->type());
  CHECK(types == std::vector<std::string>{"InnerProduct", "Split", "InnerProduct", "Split",
                                          "InnerProduct", "Eltwise", "SoftmaxWithLoss",
                                          "SoftmaxWithLoss"});
  size_t split = layer_index(net, "ip1_split");
  CHECK(net.layer_bottom_names(split) == std::vector<std::string>{"ip1"});
  CHECK(net.layer_top_names(split) == std::vector<std::string>{"ip1_split_0", "ip1_split_1"});
  CHECK(net.layer_bottom_names(layer_index(net, "a")) == std::vector<std::string>{"ip1_split_0"});
  CHECK(net.layer_bottom_names(layer_index(net, "b")) == std::vector<std::string>{"ip1_split_1"});
  CHECK(net.layer_bottom_names(layer_index(net, "loss")) ==
        std::vector<std::string>{"sum", "label"});
  // Labels and data get no gradient; ip1 does not propagate to data.
  CHECK(net.layer_propagate_down(layer_index(net, "loss")) == std::vector<bool>{true, false});
  CHECK(net.layer_propagate_down(layer_index(net, "ip1")) == std::vector<bool>{false});
  CHECK(net.layer_runs_backward(layer_index(net, "ip1")));
  CHECK(net.input_names() == std::vector<std::string>{"data", "label"});

  Rng rng(3);
  fill_uniform(net.blob("data"), rng, -1, 1);
  fill_labels(net.blob("label"), rng, 3);
  double loss = net.forward();
  auto outputs = net.outputs();
  REQUIRE(outputs.size() == 2);
  CHECK(outputs[0].name == "loss");
  CHECK(outputs[0].is_loss);
  CHECK(outputs[0].loss_weight == 1.0f);
  CHECK(outputs[1].name == "aux");
  CHECK(outputs[1].loss_weight == 0.5f);
  CHECK(loss == doctest::Approx(outputs[0].value + 0.5 * outputs[1].value).epsilon(1e-6));

  net.zero_param_grads();
  net.backward();
  // Every ip1 weight's gradient against central differences of the whole net's loss: correct
  // only if the split sums the gradients coming back from `a` and `b` (and `a`'s split those
  // from `sum` and `aux`).
  Param* w = nullptr;
  for (auto& ref : net.params())
    if (ref.name == "ip1.weight") w = ref.param;
  REQUIRE(w != nullptr);
  std::vector<float> analytic = w->value.host_grad();
  std::vector<float> values = w->value.host_data();
  const float step = 1e-2f;
  for (size_t i = 0; i < values.size(); ++i) {
    std::vector<float> v = values;
    v[i] = values[i] + step;
    w->value.set_data(v);
    double plus = net.forward();
    v[i] = values[i] - step;
    w->value.set_data(v);
    double minus = net.forward();
    double numeric = (plus - minus) / (2 * step);
    CAPTURE(i);
    CHECK(analytic[i] == doctest::Approx(numeric).epsilon(2e-2).scale(1.0));
  }
  w->value.set_data(values);
}

TEST_CASE("in place: shared when the layer supports it, a private output otherwise") {
  const char* text = R"(input: {data: [6], label: []}
layers:
  - {name: ip1, type: InnerProduct, num_output: 4}
  - {name: relu1, type: ReLU, bottom: ip1, top: ip1}
  - {name: scale, type: Power, bottom: ip1, top: ip1, scale: 2}
  - {name: ip2, type: InnerProduct, num_output: 3}
  - {name: loss, type: SoftmaxWithLoss, bottom: [ip2, label]}
)";
  Net net(parse_net_spec(text, "net.yaml"), Phase::train, 2, cpu_backend(), 1);
  size_t ip1 = layer_index(net, "ip1"), relu = layer_index(net, "relu1"),
         scale = layer_index(net, "scale"), ip2 = layer_index(net, "ip2");
  // ReLU supports in place: same tensor. Power does not: a private output that ip2 then reads.
  CHECK(net.layer_top_names(ip1) == std::vector<std::string>{"ip1"});
  CHECK(net.layer_top_names(relu) == std::vector<std::string>{"ip1"});
  CHECK(net.layer_top_names(scale) == std::vector<std::string>{"ip1@2"});
  CHECK(net.layer_bottom_names(ip2) == std::vector<std::string>{"ip1@2"});
  Rng rng(5);
  fill_uniform(net.blob("data"), rng, -1, 1);
  fill_labels(net.blob("label"), rng, 3);
  net.forward();
  // blob("ip1") is the latest value: twice the ReLU of ip1.
  std::vector<float> latest = net.blob("ip1").host_data();
  REQUIRE(latest.size() == 8);
  for (float x : latest) CHECK(x >= 0.0f);
  net.backward();

  // A layer that is not the only reader of a blob may not overwrite it.
  const char* shared = R"(input: {data: [6], label: []}
layers:
  - {name: ip1, type: InnerProduct, num_output: 4}
  - {name: acc, type: Accuracy, bottom: [ip1, label]}
  - {name: relu1, type: ReLU, bottom: ip1, top: ip1}
  - {name: loss, type: SoftmaxWithLoss, bottom: [ip1, label]}
)";
  Net net2(parse_net_spec(shared, "net.yaml"), Phase::train, 2, cpu_backend(), 1);
  CHECK(net2.layer_top_names(layer_index(net2, "relu1")) == std::vector<std::string>{"ip1@2"});
  CHECK(net2.layer_bottom_names(layer_index(net2, "acc")) ==
        std::vector<std::string>{"ip1", "label"});
}

TEST_CASE("propagate_down only where a learnable parameter lies upstream") {
  const char* text = R"(input: {data: [6], label: []}
layers:
  - {name: scale, type: Power, scale: 0.5}
  - {name: frozen, type: InnerProduct, num_output: 5, lr_mult: 0, weight_filler: {type: gaussian, std: 1}}
  - {name: relu, type: ReLU}
  - {name: ip, type: InnerProduct, num_output: 3, param: [{lr_mult: 1, decay_mult: 1}, {lr_mult: 2, decay_mult: 0}]}
  - {name: loss, type: SoftmaxWithLoss, bottom: [ip, label]}
)";
  Net net(parse_net_spec(text, "net.yaml"), Phase::train, 2, cpu_backend(), 1);
  CHECK_FALSE(net.layer_runs_backward(layer_index(net, "scale")));
  CHECK_FALSE(net.layer_runs_backward(layer_index(net, "frozen")));
  CHECK_FALSE(net.layer_runs_backward(layer_index(net, "relu")));
  CHECK(net.layer_propagate_down(layer_index(net, "ip")) == std::vector<bool>{false});
  CHECK(net.layer_runs_backward(layer_index(net, "ip")));
  auto params = net.params();
  REQUIRE(params.size() == 4);
  CHECK(params[0].name == "frozen.weight");
  CHECK(params[0].param->lr_mult == 0.0f);
  CHECK(params[1].param->lr_mult == 0.0f);
  CHECK(params[2].name == "ip.weight");
  CHECK(params[3].name == "ip.bias");
  CHECK(params[3].param->lr_mult == 2.0f);
  CHECK(params[3].param->decay_mult == 0.0f);
  CHECK(net.num_learnable_parameters() == 6 * 5 + 5 + 5 * 3 + 3);
  Rng rng(1);
  fill_uniform(net.blob("data"), rng, -1, 1);
  fill_labels(net.blob("label"), rng, 3);
  net.forward();
  net.zero_param_grads();
  net.backward();
  for (float g : params[0].param->value.host_grad()) CHECK(g == 0.0f);
  bool any = false;
  for (float g : params[2].param->value.host_grad()) any |= g != 0.0f;
  CHECK(any);
}

TEST_CASE("same seed, same weights; copy_params_from; reshape_batch") {
  NetSpec spec = parse_net_spec(kDiamond, "diamond.yaml");
  Net a(spec, Phase::train, 2, cpu_backend(), 42);
  Net b(spec, Phase::train, 4, cpu_backend(), 42);
  Net c(spec, Phase::train, 2, cpu_backend(), 43);
  auto pa = a.params(), pb = b.params(), pc = c.params();
  REQUIRE(pa.size() == 6);
  bool all_same = true, any_differs = false;
  for (size_t i = 0; i < pa.size(); ++i) {
    all_same &= pa[i].param->value.host_data() == pb[i].param->value.host_data();
    any_differs |= pa[i].param->value.host_data() != pc[i].param->value.host_data();
  }
  CHECK(all_same);
  CHECK(any_differs);

  Net val(spec, Phase::val, 3, cpu_backend(), 99);
  CHECK(val.output_names() == std::vector<std::string>{"loss", "aux", "accuracy"});
  val.copy_params_from(a);
  auto pv = val.params();
  REQUIRE(pv.size() == pa.size());
  for (size_t i = 0; i < pv.size(); ++i) {
    CHECK(pv[i].name == pa[i].name);
    CHECK(pv[i].param->value.host_data() == pa[i].param->value.host_data());
  }
  Rng rng(2);
  fill_uniform(val.blob("data"), rng, -1, 1);
  fill_labels(val.blob("label"), rng, 3);
  val.forward();
  auto outputs = val.outputs();
  REQUIRE(outputs.size() == 3);
  CHECK(outputs[2].name == "accuracy");
  CHECK_FALSE(outputs[2].is_loss);
  CHECK(outputs[2].value >= 0.0);
  CHECK(outputs[2].value <= 1.0);

  const char* other = R"(input: {data: [5], label: []}
layers:
  - {name: ip1, type: InnerProduct, num_output: 7}
)";
  Net wrong(parse_net_spec(other, "other.yaml"), Phase::train, 2, cpu_backend(), 1);
  CHECK_THROWS_WITH_AS(wrong.copy_params_from(a),
                       "copying parameters from the train net into the train net: `ip1.weight` "
                       "is [4,5] there, [7,5] here",
                       Error);

  a.reshape_batch(5);
  CHECK(a.batch_size() == 5);
  CHECK(a.blob("data").shape() == Shape{5, 5});
  CHECK(a.blob("label").shape() == Shape{5});
  CHECK(a.blob("sum").shape() == Shape{5, 3});
  fill_uniform(a.blob("data"), rng, -1, 1);
  fill_labels(a.blob("label"), rng, 3);
  CHECK(std::isfinite(a.forward()));
  a.backward();
  CHECK_THROWS_WITH_AS(a.blob("sun"), "diamond.yaml: no blob `sun` in the train net; did you mean `sum`?",
                       Error);
}

TEST_CASE("deploy: no label, no loss, the softmax is the output") {
  NetSpec spec = parse_net_spec(R"(input: {data: [4], label: []}
layers:
  - {name: ip, type: InnerProduct, num_output: 3}
  - {name: loss, type: SoftmaxWithLoss, bottom: [ip, label]}
  - {name: prob, type: Softmax, bottom: ip, phase: deploy}
)", "net.yaml");
  Net net(spec, Phase::deploy, 2, cpu_backend(), 1);
  CHECK(net.input_names() == std::vector<std::string>{"data"});
  CHECK_FALSE(net.has_blob("label"));
  CHECK(net.output_names() == std::vector<std::string>{"prob"});
  Rng rng(1);
  fill_uniform(net.blob("data"), rng, -1, 1);
  CHECK(net.forward() == 0.0);
  std::vector<float> p = net.blob("prob").host_data();
  CHECK(p[0] + p[1] + p[2] == doctest::Approx(1.0));
  CHECK(net.outputs().empty());
}

TEST_CASE("Input layers: tops are inputs with the batch prepended; label dropped in deploy") {
  NetSpec spec = parse_net_spec(R"(layers:
  - {name: in, type: Input, top: [data, label], shape: [[2, 3], []]}
  - {name: ip, type: InnerProduct, num_output: 2}
  - {name: loss, type: SoftmaxWithLoss, bottom: [ip, label]}
)", "net.yaml");
  Net train(spec, Phase::train, 4, cpu_backend(), 1);
  CHECK(train.input_names() == std::vector<std::string>{"data", "label"});
  CHECK(train.blob("data").shape() == Shape{4, 2, 3});
  CHECK(train.blob("label").shape() == Shape{4});
  CHECK_FALSE(train.layer_runs_backward(0));
  train.reshape_batch(1);
  CHECK(train.blob("data").shape() == Shape{1, 2, 3});
  Net deploy(spec, Phase::deploy, 3, cpu_backend(), 1);
  CHECK(deploy.input_names() == std::vector<std::string>{"data"});
  CHECK(deploy.blob("data").shape() == Shape{3, 2, 3});
  CHECK(deploy.output_names() == std::vector<std::string>{"ip"});
}

TEST_CASE("errors found while building: bottom counts, loss weights, parameter lists") {
  CHECK(net_error("input: {data: [4], label: []}\nlayers:\n"
                  "  - {name: ip, type: InnerProduct, num_output: 3}\n"
                  "  - {name: loss, type: SoftmaxWithLoss}\n") ==
        "net.yaml:4:5: layer 'loss' (SoftmaxWithLoss): SoftmaxWithLoss takes exactly 2 bottom(s), "
        "got 1: `ip` (by default, the previous layer's top)");
  CHECK(net_error("input: {data: [4]}\nlayers:\n"
                  "  - {name: ip, type: InnerProduct, num_output: 3, loss_weight: 1}\n") ==
        "net.yaml:3:64: layer 'ip' (InnerProduct): loss_weight: only loss layers take a loss "
        "weight, and InnerProduct is not one");
  CHECK(net_error("input: {data: [4]}\nlayers:\n"
                  "  - {name: ip, type: InnerProduct, num_output: 3, param: [{}, {}, {}]}\n") ==
        "net.yaml:3:58: layer 'ip' (InnerProduct): param: 3 entries, but InnerProduct has 2 "
        "parameter(s): `weight`, `bias`");
  CHECK(net_error("input: {data: [4]}\nlayers:\n"
                  "  - {name: ip, type: InnerProduct}\n") ==
        "net.yaml:3:5: layer 'ip' (InnerProduct): missing required key `num_output` (the number of "
        "outputs)");
}
