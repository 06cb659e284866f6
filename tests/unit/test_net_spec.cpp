// The network spec parser: defaults, phases, classes, standard networks, and the exact text of
// its errors (file:line:col, the layer, and what would have been valid).
#include <doctest/doctest.h>

#include <string>

#include "core/error.h"
#include "nn/net_spec.h"

using namespace digits;

namespace {

std::string spec_error(const std::string& text) {
  try {
    parse_net_spec(text, "net.yaml");
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::usage);
    return e.what();
  }
  return "";
}

const char* kChain = R"(name: Chain
input:
  data: [1, 8, 8]
  label: []
classes: 3
layers:
  - {name: conv1, type: Convolution, num_output: 4, kernel_size: 3}
  - {name: relu1, type: ReLU, bottom: conv1, top: conv1}
  - {name: ip1, type: InnerProduct, num_output: classes}
  - {name: loss, type: SoftmaxWithLoss, bottom: [ip1, label], phase: [train, val]}
  - {name: accuracy, type: Accuracy, bottom: [ip1, label]}
  - {name: prob, type: Softmax, bottom: ip1, phase: deploy}
)";

std::vector<std::string> layer_names(const NetSpec& spec, const PhasePlan& plan) {
  std::vector<std::string> names;
  for (size_t i : plan.layers) names.push_back(spec.layers[i].name);
  return names;
}

}  // namespace

TEST_CASE("a plain chain needs no wiring: bottom is the previous top, top is the name") {
  NetSpec spec = parse_net_spec(kChain, "net.yaml");
  CHECK(spec.name == "Chain");
  REQUIRE(spec.inputs.size() == 2);
  CHECK(spec.inputs[0].first == "data");
  CHECK(spec.inputs[0].second == Shape{1, 8, 8});
  CHECK(spec.inputs[1].first == "label");
  CHECK(spec.inputs[1].second == Shape{});
  REQUIRE(spec.layers.size() == 6);
  CHECK(spec.layers[0].bottoms == std::vector<std::string>{"data"});
  CHECK(spec.layers[0].tops == std::vector<std::string>{"conv1"});
  CHECK(spec.layers[1].tops == std::vector<std::string>{"conv1"});
  CHECK(spec.layers[2].bottoms == std::vector<std::string>{"conv1"});
  CHECK(spec.layers[2].tops == std::vector<std::string>{"ip1"});
  CHECK(spec.layers[3].tops == std::vector<std::string>{"loss"});
  // `num_output: classes` became the number, before any layer sees it.
  CHECK(spec.uses_classes);
  CHECK(spec.classes == 3);
  CHECK(spec.layers[2].get_int("num_output", 0) == 3);
  CHECK(spec.batch_size == 0);
  CHECK(spec.data_scale == 1.0);
}

TEST_CASE("phases: filtering, and the deploy phase drops the label and what needs it") {
  NetSpec spec = parse_net_spec(kChain, "net.yaml");
  PhasePlan train = plan_phase(spec, Phase::train);
  CHECK(layer_names(spec, train) ==
        std::vector<std::string>{"conv1", "relu1", "ip1", "loss", "accuracy"});
  CHECK(train.inputs.size() == 2);
  PhasePlan deploy = plan_phase(spec, Phase::deploy);
  // `accuracy` has no phase and needs the label: dropped. `loss` is excluded by its phase.
  CHECK(layer_names(spec, deploy) == std::vector<std::string>{"conv1", "relu1", "ip1", "prob"});
  REQUIRE(deploy.inputs.size() == 1);
  CHECK(deploy.inputs[0].first == "data");
  CHECK(layer_in_phase(spec.layers[5], Phase::deploy));
  CHECK_FALSE(layer_in_phase(spec.layers[5], Phase::val));
}

TEST_CASE("classes: the job's value wins over the spec's; a missing one is an error") {
  NetSpecOptions options;
  options.classes = 7;
  NetSpec spec = parse_net_spec(kChain, "net.yaml", options);
  CHECK(spec.classes == 7);
  CHECK(spec.layers[2].get_int("num_output", 0) == 7);
  std::string text = kChain;
  text.replace(text.find("classes: 3\n"), 11, "");
  CHECK(spec_error(text) ==
        "net.yaml:8:49: layer 'ip1' (InnerProduct): num_output: `classes` stands for the number "
        "of classes, but neither the spec (top-level `classes: N`) nor the job (its dataset) "
        "gives one");
  CHECK(parse_net_spec(text, "net.yaml", options).classes == 7);
}

TEST_CASE("errors: unknown keys and types say what was meant") {
  CHECK(spec_error("nmae: x\ninput: {data: [1]}\nlayers: []\n") ==
        "net.yaml:1:1: unknown key `nmae`; did you mean `name`?");
  CHECK(spec_error("colour: x\ninput: {data: [1]}\nlayers: []\n") ==
        "net.yaml:1:1: unknown key `colour` (a network spec has: name, description, input, "
        "batch_size, val_batch_size, data_scale, classes, layers)");
  std::string bad_type = spec_error(
      "input: {data: [1, 4, 4]}\nlayers:\n  - {name: c, type: Convolutoin, num_output: 2}\n");
  CHECK(bad_type.rfind("net.yaml:3:21: layer 'c' (Convolutoin): type: unknown layer type "
                       "`Convolutoin`; did you mean `Convolution`? (known types: Input, "
                       "Convolution, Pooling, InnerProduct, LRN, ReLU,",
                       0) == 0);
  CHECK(spec_error("input: {data: [1]}\nlayers:\n  - {name: r, type: relu}\n")
            .find("unknown layer type `relu`; did you mean `ReLU`?") != std::string::npos);
  CHECK(spec_error("input: {data: [1, 4, 4]}\nlayers:\n"
                   "  - {name: c, type: Convolution, num_output: 2, kernal_size: 3}\n") ==
        "net.yaml:3:49: layer 'c' (Convolution): unknown key `kernal_size`; did you mean "
        "`kernel_size`?");
  CHECK(spec_error("input: {data: [1]}\nlayers:\n  - {name: r, type: ReLU, colour: red}\n") ==
        "net.yaml:3:27: layer 'r' (ReLU): unknown key `colour` (ReLU accepts: name, type, "
        "bottom, top, phase, param, loss_weight, lr_mult, decay_mult, negative_slope)");
  CHECK(spec_error("input: {data: [1]}\nlayers:\n  - {type: ReLU}\n") ==
        "net.yaml:3:5: layers[0] (ReLU): missing `name`");
  CHECK(spec_error("input: {data: [1]}\nlayers:\n  - {name: r}\n") ==
        "net.yaml:3:5: layer 'r': missing `type`");
}

TEST_CASE("errors: missing bottoms, out of order layers and cycles") {
  CHECK(spec_error("input: {data: [1], label: []}\nlayers:\n"
                   "  - {name: a, type: ReLU}\n"
                   "  - {name: b, type: ReLU, bottom: aa}\n") ==
        "net.yaml:4:35: layer 'b' (ReLU): bottom: `aa`: no input or earlier layer produces it; "
        "did you mean `a`? (available: data, label, a)");
  CHECK(spec_error("input: {data: [1]}\nlayers:\n"
                   "  - {name: a, type: ReLU, bottom: b}\n"
                   "  - {name: b, type: ReLU, bottom: data}\n") ==
        "net.yaml:3:35: layer 'a' (ReLU): bottom: `b` is produced only by layer 'b' at line 4, "
        "later in the file; layers run in the order written, so move 'b' above 'a'");
  CHECK(spec_error("input: {data: [1]}\nlayers:\n"
                   "  - {name: a, type: Eltwise, bottom: [data, c]}\n"
                   "  - {name: b, type: ReLU, bottom: a}\n"
                   "  - {name: c, type: ReLU, bottom: b}\n") ==
        "net.yaml:3:38: layer 'a' (Eltwise): bottom: `c` is produced by layer 'c' (line 5), "
        "which itself depends on this layer: a cycle ('a' -> 'b' -> 'c' -> 'a')");
  // A blob that exists only in another phase.
  CHECK(spec_error("input: {data: [1]}\nlayers:\n"
                   "  - {name: a, type: ReLU, phase: train}\n"
                   "  - {name: b, type: ReLU}\n") ==
        "net.yaml:4:5: layer 'b' (ReLU): bottom: `a` (by default, the previous layer's top) is "
        "produced by layer 'a' (line 3), which does not run in the val phase; give this layer a "
        "`phase` too, or wire it to another blob");
  // A layer placed in deploy explicitly that needs the label.
  CHECK(spec_error("input: {data: [1], label: []}\nlayers:\n"
                   "  - {name: a, type: Accuracy, bottom: [data, label], phase: deploy}\n") ==
        "net.yaml:3:39: layer 'a' (Accuracy): bottom: `label`: the deploy phase has no `label` "
        "input; add `phase: [train, val]` to this layer");
}

TEST_CASE("errors: duplicates") {
  CHECK(spec_error("input: {data: [1]}\nlayers:\n"
                   "  - {name: a, type: ReLU}\n"
                   "  - {name: a, type: ReLU}\n") ==
        "net.yaml:4:12: layer 'a' (ReLU): name: duplicate layer name `a` (first used at line 3); "
        "layer names must be unique, they name the saved weights");
  CHECK(spec_error("input: {data: [1]}\nlayers:\n"
                   "  - {name: a, type: ReLU}\n"
                   "  - {name: b, type: ReLU, bottom: data, top: a}\n") ==
        "net.yaml:4:46: layer 'b' (ReLU): top: `a` is already produced by layer 'a' (line 3); a "
        "blob is produced once, except in place (top equal to a bottom, as ReLU: {bottom: x, "
        "top: x})");
  CHECK(spec_error("input: {data: [1]}\nlayers:\n"
                   "  - {name: a, type: ReLU, top: data}\n") == "");
  CHECK(spec_error("input: {data: [1]}\nlayers:\n"
                   "  - {name: a, type: ReLU, bottom: data, top: [x, x]}\n") ==
        "net.yaml:3:46: layer 'a' (ReLU): top: `x` is listed twice");
  CHECK(spec_error("name: a\nname: b\n") ==
        "net.yaml:2:1: duplicate key `name` (first given at line 1)");
}

TEST_CASE("errors: phases, numbers and multipliers") {
  CHECK(spec_error("input: {data: [1]}\nlayers:\n  - {name: a, type: ReLU, phase: test}\n") ==
        "net.yaml:3:34: layer 'a' (ReLU): phase: unknown phase `test`; did you mean `val`? "
        "(Caffe's TEST phase) (expected train, val or deploy, or a list of them)");
  CHECK(spec_error("input: {data: [1]}\nlayers:\n  - {name: a, type: ReLU, phase: [trian]}\n") ==
        "net.yaml:3:34: layer 'a' (ReLU): phase: unknown phase `trian`; did you mean `train`? "
        "(expected train, val or deploy, or a list of them)");
  CHECK(spec_error("input: {data: [1]}\nlayers:\n  - {name: a, type: ReLU, phase: []}\n") ==
        "net.yaml:3:34: layer 'a' (ReLU): phase: an empty list: the layer would never run");
  CHECK(spec_error("input: {data: [1, 4, 4]}\nlayers:\n  - {name: c, type: Convolution, "
                   "num_output: 2, kernel_size: 3, weight_filler: {type: gaussian, std: .nan}}\n") ==
        "net.yaml:3:102: layer 'c' (Convolution): weight_filler.std: expected a finite number of "
        "reasonable size (|x| <= 1e12), got .nan");
  CHECK(spec_error("input: {data: [1]}\nlayers:\n  - {name: a, type: ReLU, negative_slope: 1e30}\n") ==
        "net.yaml:3:43: layer 'a' (ReLU): negative_slope: expected a finite number of reasonable "
        "size (|x| <= 1e12), got 1e30");
  CHECK(spec_error("input: {data: [1]}\ndata_scale: -.inf\nlayers:\n  - {name: a, type: ReLU}\n") ==
        "net.yaml:2:13: data_scale: expected a finite number, got \"-.inf\"");
  CHECK(spec_error("input: {data: [1]}\nbatch_size: 0\nlayers:\n  - {name: a, type: ReLU}\n") ==
        "net.yaml:2:13: batch_size: expected an integer from 1 to 1048576, got 0");
  CHECK(spec_error("input: {data: [1, 0]}\nlayers:\n  - {name: a, type: ReLU}\n") ==
        "net.yaml:1:15: input `data`: expected a list of dimensions such as [1, 28, 28] ([] for "
        "one value per sample); dimension 1 is \"0\"");
  CHECK(spec_error("input: {data: [1]}\nlayers:\n  - {name: a, type: ReLU, param: [{lr_mul: 1}]}\n") ==
        "net.yaml:3:34: layer 'a' (ReLU): param: param[0]: unknown key `lr_mul`; did you mean "
        "`lr_mult`? (accepted: lr_mult, decay_mult)");
  CHECK(spec_error("input: {data: [1]}\nlayers:\n  - {name: a, type: ReLU, lr_mult: -1}\n") ==
        "net.yaml:3:36: layer 'a' (ReLU): lr_mult: value: expected a number from 0 to 1e6, got "
        "\"-1\"");
  CHECK(spec_error("input: {data: [1]}\nlayers:\n"
                   "  - {name: a, type: ReLU, lr_mult: 0, param: [{lr_mult: 1}]}\n") ==
        "net.yaml:3:46: layer 'a' (ReLU): param: give either `param` (one entry per parameter) "
        "or the `lr_mult`/`decay_mult` shorthand for all parameters, not both");
  CHECK(spec_error("input: {data: [1]}\nlayers:\n  - {name: a, type: SoftmaxWithLoss, "
                   "bottom: [data, data], loss_weight: -1}\n") ==
        "net.yaml:3:73: layer 'a' (SoftmaxWithLoss): loss_weight: expected a number >= 0, got -1");
  CHECK(spec_error("input: {data: [1]}\nlayers: {a: 1}\n") ==
        "net.yaml:2:9: layers: expected a non-empty list of layers");
  CHECK(spec_error("layers:\n  - {name: a, type: ReLU}\n") ==
        "net.yaml:2:5: layer 'a' (ReLU): no `bottom` given and no input or earlier layer to take "
        "it from");
  CHECK(spec_error("input: {data: [1]}\nlayers:\n  - {name: a b, type: ReLU}\n") ==
        "net.yaml:3:12: name: `a b`: names may not contain spaces or control characters");
}

TEST_CASE("multipliers and loss weights") {
  NetSpec spec = parse_net_spec("input: {data: [1], label: []}\nlayers:\n"
                                "  - {name: a, type: InnerProduct, num_output: 2, param: "
                                "[{lr_mult: 1, decay_mult: 1}, {lr_mult: 2, decay_mult: 0}]}\n"
                                "  - {name: b, type: InnerProduct, num_output: 2, lr_mult: 0}\n"
                                "  - {name: l, type: SoftmaxWithLoss, bottom: [b, label], "
                                "loss_weight: 0.3}\n",
                                "net.yaml");
  ParamMultipliers a = param_multipliers(spec.layers[0]);
  REQUIRE(a.per_param.size() == 2);
  CHECK(*a.per_param[1].lr_mult == 2.0f);
  CHECK(*a.per_param[1].decay_mult == 0.0f);
  CHECK_FALSE(a.for_param(2).lr_mult.has_value());
  ParamMultipliers b = param_multipliers(spec.layers[1]);
  CHECK(b.per_param.empty());
  CHECK(*b.for_param(0).lr_mult == 0.0f);
  CHECK(*b.for_param(5).lr_mult == 0.0f);
  CHECK_FALSE(b.for_param(0).decay_mult.has_value());
  CHECK(layer_loss_weight(spec.layers[2], true) == doctest::Approx(0.3));
  CHECK(layer_loss_weight(spec.layers[1], false) == 0.0f);
  CHECK(layer_loss_weight(spec.layers[1], true) == 1.0f);
}

TEST_CASE("Input layers declare inputs too") {
  NetSpec spec = parse_net_spec("layers:\n"
                                "  - {name: in, type: Input, top: [data, label], shape: [[2, 3], []]}\n"
                                "  - {name: ip, type: InnerProduct, num_output: 2}\n",
                                "net.yaml");
  CHECK(spec.layers[1].bottoms == std::vector<std::string>{"data"});
  PhasePlan deploy = plan_phase(spec, Phase::deploy);
  CHECK(deploy.layers.size() == 2);
  CHECK(spec_error("layers:\n  - {name: in, type: Input, top: [data, label], shape: [2, 3]}\n") ==
        "net.yaml:2:56: layer 'in' (Input): shape: 1 shape(s) for 2 top(s); give one shape per "
        "top");
  CHECK(spec_error("layers:\n  - {name: in, type: Input, bottom: x, shape: [2]}\n") ==
        "net.yaml:2:37: layer 'in' (Input): bottom: an Input layer has no bottom");
}

TEST_CASE("hostile YAML is refused by the spec loader") {
  CHECK(spec_error("a: &x 1\nb: *x\n").find("YAML anchors are not accepted") != std::string::npos);
  CHECK(spec_error("input:\n\tdata: [1]\n").find("YAML indents with spaces only") !=
        std::string::npos);
  // A byte-order mark is fine.
  CHECK(parse_net_spec(std::string("\xEF\xBB\xBF") + kChain, "net.yaml").layers.size() == 6);
}

TEST_CASE("standard networks are found by name and parse") {
  std::string lenet_path = find_network("lenet");
  CHECK(lenet_path.size() > 10);
  CHECK(lenet_path.substr(lenet_path.size() - 10) == "lenet.yaml");
  CHECK(find_network(lenet_path) == lenet_path);
  try {
    find_network("lenett");
    FAIL("expected an error");
  } catch (const Error& e) {
    std::string message = e.what();
    CHECK(e.code() == ExitCode::usage);
    CHECK(message.rfind("network `lenett` not found: not a file, and not in ", 0) == 0);
    CHECK(message.find("; did you mean `lenet`? (known networks: alexnet, googlenet, lenet") !=
          std::string::npos);
  }
  CHECK_THROWS_WITH_AS(find_network("no/such/net.yaml"), "no/such/net.yaml: no such network file",
                       Error);

  NetSpec lenet = load_net_spec(lenet_path);
  CHECK(lenet.name == "LeNet");
  CHECK(lenet.classes == 10);
  CHECK(lenet.batch_size == 64);
  CHECK(lenet.val_batch_size == 32);
  CHECK(lenet.data_scale == doctest::Approx(0.0125));
  CHECK(lenet.inputs[0].second == Shape{1, 28, 28});
  CHECK(plan_phase(lenet, Phase::train).layers.size() == 8);
  CHECK(plan_phase(lenet, Phase::val).layers.size() == 9);
  CHECK(plan_phase(lenet, Phase::deploy).layers.size() == 8);

  NetSpec alexnet = load_net_spec(find_network("alexnet"));
  CHECK(alexnet.inputs[0].second == Shape{3, 227, 227});
  CHECK(alexnet.batch_size == 128);
  CHECK(alexnet.val_batch_size == 32);

  NetSpec googlenet = load_net_spec(find_network("googlenet.yaml"));
  CHECK(googlenet.inputs[0].second == Shape{3, 224, 224});
  CHECK(googlenet.batch_size == 32);
  CHECK(googlenet.val_batch_size == 16);
  // 9 inception modules of 14 layers, a stem of 10, pool3 and pool4, 2 auxiliary heads of 10,
  // and 7 final layers (pool, dropout, classifier, loss, 2 accuracies, softmax).
  CHECK(googlenet.layers.size() == 9 * 14 + 10 + 2 + 2 * 10 + 7);
  // Deploy drops both auxiliary heads and all losses and accuracies, keeps the softmax.
  CHECK(plan_phase(googlenet, Phase::deploy).layers.size() == 9 * 14 + 10 + 2 + 3 + 1);
  // Train: the heads without their accuracies, the final loss.
  CHECK(plan_phase(googlenet, Phase::train).layers.size() == 9 * 14 + 10 + 2 + 2 * 8 + 4);
  CHECK(plan_phase(googlenet, Phase::val).layers.size() == googlenet.layers.size() - 1);
}
