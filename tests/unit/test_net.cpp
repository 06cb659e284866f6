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

// ---- the standard networks, end to end ----------------------------------------------------------

namespace {

struct RunResult {
  double loss;
  double first_weight_grad_norm;  // of the first layer's weights after one backward
};

RunResult run_train_step(Net& net, float lo, float hi, int classes) {
  Rng rng(11);
  fill_uniform(net.blob("data"), rng, lo, hi);
  fill_labels(net.blob("label"), rng, classes);
  double loss = net.forward(1);
  net.zero_param_grads();
  net.backward();
  Param* first = net.params().front().param;
  double sum = 0;
  for (float g : first->value.host_grad()) sum += double(g) * g;
  return {loss, std::sqrt(sum)};
}

std::vector<std::string> output_names(const Net& net) {
  std::vector<std::string> names;
  for (const auto& o : net.outputs()) names.push_back(o.name);
  return names;
}

}  // namespace

TEST_CASE("LeNet from configs/networks: shapes, parameter count, forward and backward") {
  NetSpec spec = load_net_spec(find_network("lenet"));
  Net net(spec, Phase::train, 4, cpu_backend(), 1);
  // conv1 20*1*5*5+20 = 520; conv2 50*20*5*5+50 = 25,050; ip1 500*(50*4*4)+500 = 400,500;
  // ip2 10*500+10 = 5,010: 431,080.
  CHECK(net.num_learnable_parameters() == 431080);
  CHECK(net.blob("conv1").shape() == Shape{4, 20, 24, 24});
  CHECK(net.blob("pool2").shape() == Shape{4, 50, 4, 4});
  CHECK(net.blob("ip2").shape() == Shape{4, 10});
  CHECK(net.output_names() == std::vector<std::string>{"loss"});
  RunResult r = run_train_step(net, 0.0f, 3.2f, 10);
  CHECK(r.loss > 0.5);
  CHECK(r.loss < 10.0);
  CHECK(r.first_weight_grad_norm > 0.0);
  auto params = net.params();
  CHECK(params[1].name == "conv1.bias");
  CHECK(params[1].param->lr_mult == 2.0f);

  Net val(spec, Phase::val, 3, cpu_backend(), 1);
  val.copy_params_from(net);
  Rng rng(4);
  fill_uniform(val.blob("data"), rng, 0.0f, 3.2f);
  fill_labels(val.blob("label"), rng, 10);
  val.forward();
  CHECK(output_names(val) == std::vector<std::string>{"accuracy", "loss"});

  Net deploy(spec, Phase::deploy, 2, cpu_backend(), 1);
  CHECK(deploy.input_names() == std::vector<std::string>{"data"});
  CHECK(deploy.output_names() == std::vector<std::string>{"softmax"});
  deploy.copy_params_from(net);
  fill_uniform(deploy.blob("data"), rng, 0.0f, 3.2f);
  deploy.forward();
  CHECK(deploy.blob("softmax").shape() == Shape{2, 10});
}

TEST_CASE("AlexNet from configs/networks: 227x227, grouped convolutions, 60,965,224 parameters") {
  NetSpec spec = load_net_spec(find_network("alexnet"));
  Net net(spec, Phase::train, 2, cpu_backend(), 1);
  // Weights (out * in/group * k * k) + biases, 1000 classes:
  //   conv1 96*3*11*11 + 96      =    34,944
  //   conv2 256*(96/2)*5*5 + 256  =   307,456
  //   conv3 384*256*3*3 + 384     =   885,120
  //   conv4 384*(384/2)*3*3 + 384 =   663,936
  //   conv5 256*(384/2)*3*3 + 256 =   442,624
  //   fc6 4096*(256*6*6) + 4096   = 37,752,832
  //   fc7 4096*4096 + 4096        = 16,781,312
  //   fc8 1000*4096 + 1000        =  4,097,000
  //   total                         60,965,224
  CHECK(net.num_learnable_parameters() == 60965224);
  CHECK(net.blob("conv1").shape() == Shape{2, 96, 55, 55});
  CHECK(net.blob("pool2").shape() == Shape{2, 256, 13, 13});
  CHECK(net.blob("pool5").shape() == Shape{2, 256, 6, 6});
  CHECK(net.blob("fc8").shape() == Shape{2, 1000});
  RunResult r = run_train_step(net, -100.0f, 100.0f, 1000);
  // With gaussian(0.01) weights the scores start near zero: the loss is close to ln(1000).
  CHECK(r.loss == doctest::Approx(std::log(1000.0)).epsilon(0.05));
  CHECK(r.first_weight_grad_norm > 0.0);
  // (No deploy net here: filling another 61 million weights would double the test's time; the
  // deploy phase's wiring is checked in test_net_spec.)
}

TEST_CASE("GoogLeNet from configs/networks: inception modules, auxiliary heads weighted 0.3") {
  NetSpec spec = load_net_spec(find_network("googlenet"));
  Net net(spec, Phase::train, 2, cpu_backend(), 1);
  // Convolutions: out*in*k*k + out. Stem: conv1 64*3*7*7+64 = 9,472; conv2/3x3_reduce
  // 64*64+64 = 4,160; conv2/3x3 192*64*9+192 = 110,784; sum 124,416.
  // Inception (in -> 1x1 a, 1x1 b -> 3x3 c, 1x1 d -> 5x5 e, pool -> 1x1 f):
  //   in*(a+b+d+f) + b*c*9 + d*e*25 + (a+b+c+d+e+f):
  //   3a (192: 64, 96->128, 16->32, 32)    =   163,696   out 256
  //   3b (256: 128, 128->192, 32->96, 64)  =   388,736   out 480
  //   4a (480: 192, 96->208, 16->48, 64)   =   376,176   out 512
  //   4b (512: 160, 112->224, 24->64, 64)  =   449,160   out 512
  //   4c (512: 128, 128->256, 24->64, 64)  =   510,104   out 512
  //   4d (512: 112, 144->288, 32->64, 64)  =   605,376   out 528
  //   4e (528: 256, 160->320, 32->128, 128) =  868,352   out 832
  //   5a (832: 256, 160->320, 32->128, 128) = 1,043,456  out 832
  //   5b (832: 384, 192->384, 48->128, 128) = 1,444,080  out 1024
  // Classifier 1000*1024+1000 = 1,025,000. Deploy total: 6,998,552.
  // Each auxiliary head: conv 128*in+128 (in 512 after 4a: 65,664; 528 after 4d: 67,712),
  // fc 1024*(128*4*4)+1024 = 2,098,176, classifier 1000*1024+1000 = 1,025,000:
  // 3,188,840 and 3,190,888. Train total: 13,378,280.
  CHECK(net.num_learnable_parameters() == 13378280);
  CHECK(net.blob("pool2/3x3_s2").shape() == Shape{2, 192, 28, 28});
  CHECK(net.blob("inception_3a/output").shape() == Shape{2, 256, 28, 28});
  CHECK(net.blob("inception_4a/output").shape() == Shape{2, 512, 14, 14});
  CHECK(net.blob("loss1/ave_pool").shape() == Shape{2, 512, 4, 4});
  CHECK(net.blob("inception_5b/output").shape() == Shape{2, 1024, 7, 7});
  CHECK(net.blob("pool5/7x7_s1").shape() == Shape{2, 1024, 1, 1});
  CHECK(net.blob("loss3/classifier").shape() == Shape{2, 1000});
  CHECK(net.output_names() == std::vector<std::string>{"loss1/loss", "loss2/loss", "loss"});
  RunResult r = run_train_step(net, -100.0f, 100.0f, 1000);
  auto outputs = net.outputs();
  REQUIRE(outputs.size() == 3);
  CHECK(outputs[0].loss_weight == doctest::Approx(0.3));
  CHECK(outputs[1].loss_weight == doctest::Approx(0.3));
  CHECK(outputs[2].loss_weight == 1.0f);
  CHECK(r.loss == doctest::Approx(0.3 * outputs[0].value + 0.3 * outputs[1].value +
                                  outputs[2].value)
                      .epsilon(1e-6));
  CHECK(std::isfinite(r.loss));
  CHECK(r.first_weight_grad_norm > 0.0);

  Net deploy(spec, Phase::deploy, 1, cpu_backend(), 1);
  CHECK(deploy.num_learnable_parameters() == 6998552);
  CHECK(deploy.output_names() == std::vector<std::string>{"softmax"});
  CHECK_FALSE(deploy.has_blob("loss1/ave_pool"));
  deploy.copy_params_from(net);
}
