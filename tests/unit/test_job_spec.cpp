#include <doctest/doctest.h>

#include <string>

#include "core/error.h"
#include "train/job_spec.h"
#include "train/solver.h"

using namespace digits;

static std::string error_of(const std::string& yaml, const std::vector<std::string>& sets = {}) {
  YAML::Node root = YAML::Load(yaml);
  try {
    for (const auto& s : sets) apply_override(root, s);
    parse_job_spec(root, "job.yaml");
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::usage);
    return e.what();
  }
  return "";
}

TEST_CASE("job spec: defaults are DIGITS's") {
  JobSpec spec = parse_job_spec(YAML::Load("dataset: d"), "job.yaml");
  CHECK(spec.dataset == "d");
  CHECK(spec.epochs == 30);
  CHECK(spec.network == "lenet");
  CHECK(spec.batch_accumulation == 1);
  CHECK(spec.snapshot_interval == 1.0);
  CHECK(spec.transforms.mean == "image");
  CHECK(spec.transforms.mirror == false);
  CHECK(spec.device == "auto");
  // The printed defaults parse back to the same values.
  JobSpec printed = parse_job_spec(YAML::Load(job_spec_defaults_yaml()), "defaults");
  CHECK(printed.epochs == spec.epochs);
  CHECK(printed.seed == spec.seed);
  CHECK(printed.transforms.mean == spec.transforms.mean);
  // Complete: every solver key digits-job(5) documents is there, at its default.
  SolverConfig printed_solver = parse_solver_config(printed.solver, "defaults", 300);
  SolverConfig default_solver = parse_solver_config(YAML::Node(), "defaults", 300);
  for (const char* key : {"type", "base_lr", "momentum", "momentum2", "rms_decay", "delta",
                          "weight_decay", "lr_policy"})
    CHECK_MESSAGE(printed.solver[key].IsDefined(), key);
  CHECK(printed_solver.momentum2 == default_solver.momentum2);
  CHECK(printed_solver.rms_decay == default_solver.rms_decay);
  CHECK(printed_solver.delta == default_solver.delta);
  CHECK(printed_solver.weight_decay == doctest::Approx(default_solver.weight_decay));
  CHECK(printed_solver.lr_policy.step_size == default_solver.lr_policy.step_size);
}

TEST_CASE("job spec: --set overrides win over the file, creating sections") {
  YAML::Node root = YAML::Load("epochs: 5\nsolver: {type: sgd}\n");
  apply_override(root, "epochs=7");
  apply_override(root, "solver.base_lr=0.1");
  apply_override(root, "solver.lr_policy.type=fixed");
  apply_override(root, "transforms.crop=24");
  JobSpec spec = parse_job_spec(root, "job.yaml");
  CHECK(spec.epochs == 7);
  CHECK(spec.transforms.crop == 24);
  CHECK(spec.solver["base_lr"].as<double>() == 0.1);
  CHECK(spec.solver["type"].as<std::string>() == "sgd");
  CHECK(spec.solver["lr_policy"]["type"].as<std::string>() == "fixed");
  // A policy given as a plain name becomes a mapping that keeps the name.
  YAML::Node plain = YAML::Load("solver: {lr_policy: exp}");
  apply_override(plain, "solver.lr_policy.gamma=0.9");
  CHECK(plain["solver"]["lr_policy"]["type"].as<std::string>() == "exp");
  CHECK(plain["solver"]["lr_policy"]["gamma"].as<double>() == 0.9);
}

TEST_CASE("job spec: errors name the file, position, key and what is valid") {
  CHECK(error_of("epochs: 3\nepoch: 4\n") ==
        "job.yaml:2:1: unknown key `epoch`; did you mean `epochs`?");
  CHECK(error_of("epochs: three\n") == "job.yaml:1:9: epochs: expected an integer, got \"three\"");
  CHECK(error_of("epochs: 0\n") == "job.yaml:1:9: epochs: expected a positive integer, got 0");
  CHECK(error_of("transforms:\n  mean: mean\n") ==
        "job.yaml:2:9: transforms.mean: expected one of none, image, pixel, got \"mean\"");
  CHECK(error_of("transforms: {mirorr: true}\n") ==
        "job.yaml:1:14: unknown key `transforms.mirorr`; did you mean `transforms.mirror`?");
  CHECK(error_of("snapshot_interval: -1\n") ==
        "job.yaml:1:20: snapshot_interval: must be >= 0, got -1");
  CHECK(error_of("format_version: 2\n").find("format_version 2 is not supported") !=
        std::string::npos);
  CHECK(error_of("", {"epochs"}) == "--set epochs: expected key.sub=value");
}

// The solver section is read later (parse_solver_config, once the run's length is known): its
// errors still point at the line and column in the job file, not at 1:1.
static std::string solver_error_of(const std::string& yaml) {
  JobSpec spec = parse_job_spec(YAML::Load(yaml), "job.yaml");
  try {
    parse_solver_config(spec.solver, "job.yaml", 100);
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::usage);
    return e.what();
  }
  return "";
}

TEST_CASE("job spec: solver errors name the line and column in the job file") {
  CHECK(solver_error_of("dataset: d\nsolver:\n  type: sgd\n  momentm: 0.9\n")
            .rfind("job.yaml:4:3: solver.momentm: unknown key", 0) == 0);
  CHECK(solver_error_of("epochs: 2\nsolver:\n  base_lr: fast\n") ==
        "job.yaml:3:12: solver.base_lr: expected a number, got \"fast\"");
  CHECK(solver_error_of("solver:\n  lr_policy: {type: step, step_size: abc}\n")
            .rfind("job.yaml:2:38: solver.lr_policy.step_size:", 0) == 0);
}
