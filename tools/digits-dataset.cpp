// digits-dataset: image classification datasets into LMDB (DIGITS's "New Image Classification
// Dataset"), and info / verify / explore for finished ones. Parses flags and calls one library
// function per subcommand (data/dataset_builder.h, data/dataset_inspect.h); man page:
// man/man1/digits-dataset.1.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/signals.h"
#include "data/dataset_builder.h"
#include "data/dataset_inspect.h"
#include "tool_common.h"

using namespace digits;

namespace {

const char* const kTool = "digits-dataset";

struct CreateFlags {
  CreateOptions options;
  int channels = 3;
  int64_t width = 256, height = 256;
  std::string resize = "squash", encoding = "png", max_bad;
  double val_pct = 25, test_pct = 0;
  int64_t max_per_class = 0;
  bool no_mean = false, json = false;
  CLI::Option *channels_opt, *width_opt, *height_opt, *val_pct_opt, *test_pct_opt, *max_per_class_opt, *max_bad_opt;
};

// CLI11 reads "-1" as 2^64-1 and saturates numbers past 2^64-1, so a typed -1 or a huge seed was
// taken silently as another seed: digits only, and they must fit.
const CLI::Validator kWholeUint64(
    [](std::string& text) -> std::string {
      uint64_t value = 0;
      const char* end = text.data() + text.size();
      auto [stop, ec] = std::from_chars(text.data(), end, value);
      if (text.empty() || ec != std::errc() || stop != end) return "expected a whole number from 0 to 18446744073709551615";
      return "";
    },
    "");

void add_create_flags(CLI::App& create, CreateFlags& f) {
  CreateOptions& o = f.options;
  create.add_option("--train", o.inputs.train.path,
                    "Training images: a folder of class sub-folders, a text list of \"PATH LABEL\" lines, or an IDX "
                    "image file")
      ->required();
  create.add_option("--train-labels", o.inputs.train.labels, "IDX labels file for an IDX --train");
  create.add_option("--val", o.inputs.val.path, "Separate validation images (folder, text list or IDX)");
  create.add_option("--val-labels", o.inputs.val.labels, "IDX labels file for an IDX --val");
  create.add_option("--test", o.inputs.test.path, "Separate test images (folder, text list or IDX)");
  create.add_option("--test-labels", o.inputs.test.labels, "IDX labels file for an IDX --test");
  create.add_option("--labels", o.inputs.labels_file, "Class names, one per line (line 1 is label 0)");
  create.add_option("--folder", o.inputs.folder, "Prefix for relative paths in text lists");
  create.add_option("-o,--output", o.output, "Dataset directory to create")->required();
  f.channels_opt = create.add_option("--channels", f.channels, "1 (grayscale) or 3 (colour) [3; IDX: its own]");
  f.width_opt = create.add_option("--width", f.width, "Record width in pixels [256; IDX: its own]");
  f.height_opt = create.add_option("--height", f.height, "Record height in pixels [256; IDX: its own]");
  create.add_option("--resize", f.resize, "squash|crop|fill|half_crop")->capture_default_str();
  create.add_option("--encoding", f.encoding, "Record encoding: none|png|jpg")->capture_default_str();
  create.add_option("--jpeg-quality", o.jpeg_quality, "JPEG quality for --encoding jpg (1-100)")->capture_default_str();
  f.val_pct_opt = create.add_option("--val-pct", f.val_pct, "Percent of each class for validation [25; 0 with --val]");
  f.test_pct_opt = create.add_option("--test-pct", f.test_pct, "Percent of each class for test [0]");
  create.add_option("--min-per-class", o.inputs.min_per_class, "Drop classes with fewer images")->capture_default_str();
  f.max_per_class_opt = create.add_option("--max-per-class", f.max_per_class, "Keep a seeded sample of at most N per class");
  create.add_option("--seed", o.inputs.seed, "Seed for splits, sampling, record order and fill noise")
      ->capture_default_str()
      ->check(kWholeUint64);
  f.max_bad_opt = create.add_option("--max-bad", f.max_bad, "Fail (exit 3) if more than N or P% of the items are bad [no limit]");
  create.add_option("--max-pixels", o.max_pixels, "Refuse images with more pixels (checked from the header)")
      ->capture_default_str();
  create.add_flag("--no-mean", f.no_mean, "Do not compute the mean image");
  create.add_flag("--force", o.force, "Replace an existing dataset directory at -o");
  create.add_option("--threads", o.threads, "Worker threads, up to 1024 (0 = all cores)")->capture_default_str();
  create.add_flag("--json", f.json, "Print a JSON summary on stdout");
}

int run_create(CreateFlags& f) {
  CreateOptions& o = f.options;
  if (f.channels_opt->count()) o.channels = f.channels;
  if (f.width_opt->count()) o.width = f.width;
  if (f.height_opt->count()) o.height = f.height;
  if (f.val_pct_opt->count()) o.inputs.val_pct = f.val_pct;
  if (f.test_pct_opt->count()) o.inputs.test_pct = f.test_pct;
  if (f.max_per_class_opt->count()) o.inputs.max_per_class = f.max_per_class;
  if (f.max_bad_opt->count()) o.max_bad = parse_bad_limit(f.max_bad);
  o.resize = parse_resize_mode(f.resize);
  o.encoding = parse_record_encoding(f.encoding);
  o.compute_mean = !f.no_mean;
  o.tool_version = version_string(kTool);
  o.progress_bar = isatty(STDERR_FILENO) != 0;
  install_stop_handlers();
  CreateSummary summary = create_dataset(o);
  const DatasetManifest& m = summary.manifest;
  if (f.json) {
    nlohmann::ordered_json j;
    j["dataset"] = o.output;
    j["records"] = summary.records();
    for (const auto& s : m.splits) j["splits"][s.name] = s.count;
    j["classes"] = m.classes.size();
    j["bad_items"] = summary.bad_items;
    j["seconds"] = summary.seconds;
    j["images_per_second"] = summary.seconds > 0 ? static_cast<double>(summary.records() + summary.bad_items) / summary.seconds : 0.0;
    std::fputs((j.dump(2) + "\n").c_str(), stdout);
  } else {
    std::string splits;
    for (const auto& s : m.splits) splits += fmt::format("{}{} {}", splits.empty() ? "" : ", ", s.name, s.count);
    fmt::print("{}: {} records ({}), {} classes, {}x{}x{} {}\n", o.output, summary.records(), splits, m.classes.size(),
               m.width, m.height, m.channels, m.encoding);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"digits-dataset: image classification datasets into LMDB (NVIDIA DIGITS layout)", kTool};
  app.set_version_flag("--version", version_string(kTool));
  app.require_subcommand(1);

  CreateFlags create_flags;
  CLI::App* create = app.add_subcommand("create", "Create a dataset directory from images");
  add_create_flags(*create, create_flags);

  std::string info_dir;
  bool info_json_flag = false;
  CLI::App* info = app.add_subcommand("info", "Summarize a dataset: shape, encoding, classes, counts, mean, size");
  info->add_option("DIR", info_dir, "Dataset directory")->required();
  info->add_flag("--json", info_json_flag, "Print JSON instead of text");

  std::string verify_dir;
  CLI::App* verify = app.add_subcommand("verify", "Read every record back and check it against the manifest");
  verify->add_option("DIR", verify_dir, "Dataset directory")->required();

  ExploreOptions explore_options;
  CLI::App* explore = app.add_subcommand("explore", "Write a grid image of records");
  explore->add_option("DIR", explore_options.dir, "Dataset directory")->required();
  explore->add_option("--split", explore_options.split, "train, val or test")->capture_default_str();
  explore->add_option("--class", explore_options.class_name, "Only records of this class (name or label number)");
  explore->add_option("-n,--count", explore_options.count, "Number of records (1-1024)")->capture_default_str();
  explore->add_option("-o,--output", explore_options.output, "Grid image to write (.png, .jpg or .jpeg)")->required();

  if (auto status = parse_flags(app, argc, argv)) return *status;

  return run_tool(kTool, [&]() -> int {
    if (*create) return run_create(create_flags);
    if (*info) {
      DatasetInfo summary = dataset_info(info_dir);
      std::fputs((info_json_flag ? info_json(summary) : info_text(summary)).c_str(), stdout);
      return 0;
    }
    if (*verify) {
      VerifyReport report = verify_dataset(verify_dir, isatty(STDERR_FILENO) != 0);
      for (const auto& problem : report.problems) fmt::print("{}\n", problem);
      if (report.problem_count > static_cast<int64_t>(report.problems.size()))
        fmt::print("... and {} more problem(s)\n", report.problem_count - static_cast<int64_t>(report.problems.size()));
      if (!report.ok()) {
        fmt::print(stderr, "{}: verify: {}: {} problem(s) in {} record(s) checked\n", kTool, verify_dir,
                   report.problem_count, report.records_checked);
        return static_cast<int>(ExitCode::data);
      }
      fmt::print("{}: ok, {} records checked\n", verify_dir, report.records_checked);
      return 0;
    }
    ExploreResult result = explore_dataset(explore_options);
    fmt::print("{}: {} record(s) from {} {} ({}x{} pixels)\n", explore_options.output, result.keys.size(),
               explore_options.dir, explore_options.split, result.grid_width, result.grid_height);
    return 0;
  });
}
