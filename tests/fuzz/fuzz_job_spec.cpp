// Job specs (train/job_spec, train/solver): what digits-train does with a job file before it
// opens the dataset. A first line "#set key=value" is also applied as a --set override, so the
// override parser is fuzzed too.
#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "core/yaml_safe.h"
#include "fuzz_util.h"
#include "train/job_spec.h"
#include "train/solver.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  std::string assignment;
  if (text.rfind("#set ", 0) == 0) {
    size_t end = text.find('\n');
    assignment = text.substr(5, end == std::string::npos ? std::string::npos : end - 5);
  }
  digits::fuzz::expect_clean_rejection([&] {
    YAML::Node root = digits::load_yaml_string(text, "job.yaml");
    if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
    if (!root.IsMap()) digits::fail_usage("job.yaml: expected a mapping");
    if (!assignment.empty()) digits::apply_override(root, assignment);
    digits::JobSpec spec = digits::parse_job_spec(root, "job.yaml");
    digits::SolverConfig solver = digits::parse_solver_config(spec.solver, "job.yaml", 1000);
    for (int64_t iter : {int64_t{0}, int64_t{1}, int64_t{500}, int64_t{999}})
      digits::learning_rate(solver.lr_policy, solver.base_lr, iter, 1000);
  });
  return 0;
}
