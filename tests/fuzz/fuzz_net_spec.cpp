// Network specs (nn/net_spec): YAML text to a NetSpec, then each phase's plan (phase
// filtering, deploy pruning, wiring). Building the layers is not fuzzed: a valid spec may ask
// for any amount of memory.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "nn/net_spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  digits::fuzz::expect_clean_rejection([&] {
    digits::NetSpecOptions options;
    options.classes = 10;
    digits::NetSpec spec = digits::parse_net_spec(text, "fuzz.yaml", options);
    for (digits::Phase phase : {digits::Phase::train, digits::Phase::val, digits::Phase::deploy})
      digits::plan_phase(spec, phase);
  });
  return 0;
}
