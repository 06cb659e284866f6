// digits-infer: classify images with a trained job (DIGITS's "Classify One" / "Classify Many"),
// evaluate a snapshot on a dataset split, and show the top-N images per class. Parses flags and
// calls the library (infer/classify.h, infer/evaluate.h, infer/topn.h); man page:
// man/man1/digits-infer.1.
//
// Per-image problems (a missing or corrupt file, a bad list line) are reported one line each on
// stderr, the other images are still answered, and the exit status is 3 at the end.
#include <CLI/CLI.hpp>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <cstdlib>
#include <iostream>

#include "core/error.h"
#include "infer/classify.h"
#include "infer/evaluate.h"
#include "infer/topn.h"
#include "tool_common.h"

using namespace digits;

namespace {

const char* const kTool = "digits-infer";

std::string default_device() {
  const char* env = std::getenv("DIGITS_DEVICE");
  return env && *env ? env : "auto";
}

// The flags every subcommand shares: which job, which snapshot, where to run it.
void add_job_flags(CLI::App& app, ClassifierOptions& o) {
  app.add_option("--job", o.job_dir, "Job directory (digits-train -o)")->required();
  app.add_option("--snapshot", o.snapshot, "Snapshot: last, best (highest validation accuracy) or an epoch")
      ->capture_default_str();
  app.add_option("--device", o.device, "cpu, gpu, gpu:N or auto [$DIGITS_DEVICE, else auto]");
  app.add_option("--batch-size", o.batch_size, "Images per forward pass (1-4096)")->capture_default_str();
}

// A picture's name must say PNG or JPEG: checked before the work rather than after it.
void check_image_output(const std::string& path, const char* flag) {
  std::string ext = std::filesystem::path(path).extension().string();
  for (auto& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (ext != ".png" && ext != ".jpg" && ext != ".jpeg")
    fail_usage("{} {}: expected a .png, .jpg or .jpeg file name", flag, path);
}

void print_loaded(const Classifier& classifier) {
  const SnapshotInfo& s = classifier.snapshot();
  fmt::print(stderr, "{}: job {}: {} (epoch {:.4g}, iteration {}), {} classes\n", kTool, classifier.job_dir(),
             s.weights, s.epoch, s.iteration, classifier.num_classes());
  for (const auto& note : classifier.notes()) fmt::print(stderr, "{}: warning: {}\n", kTool, note);
}

// Items from --list (with --folder) and the positional arguments, in that order.
std::vector<ImageItem> gather_items(const std::string& list, const std::string& folder,
                                    const std::vector<std::string>& args, int64_t classes) {
  std::vector<ImageItem> items;
  if (!list.empty()) items = read_image_list(list, folder, classes);
  std::vector<ImageItem> more = collect_image_items(args, std::cin, classes);
  items.insert(items.end(), more.begin(), more.end());
  if (items.empty())
    fail_usage("nothing to classify: give image files, folders, - (paths on stdin) or --list F");
  return items;
}

int finish_items(const ClassifySummary& summary) {
  if (summary.failed == 0) return 0;
  fmt::print(stderr, "{}: {} of {} image(s) could not be classified\n", kTool, summary.failed, summary.items);
  return static_cast<int>(ExitCode::data);
}

struct ClassifyFlags {
  ClassifierOptions options;
  int64_t top = 5;
  std::string format = "table", list, folder;
  std::vector<std::string> images;
};

int run_classify(ClassifyFlags& f) {
  ResultFormat format = parse_result_format(f.format);
  if (f.top < 1) fail_usage("--top {}: expected a positive number of classes", f.top);
  Classifier classifier(f.options);
  print_loaded(classifier);
  std::vector<ImageItem> items = gather_items(f.list, f.folder, f.images, classifier.num_classes());
  bool with_labels = false;
  for (const auto& item : items) with_labels |= item.label >= 0;
  ResultFormatter formatter(format, classifier.labels(), f.top, with_labels);
  std::fputs(formatter.header().c_str(), stdout);
  ClassifySummary summary = classify_items(classifier, items, [&](const ItemResult& r) {
    if (r.probs) {
      std::fputs(formatter.line(r).c_str(), stdout);
    } else {
      std::fflush(stdout);
      fmt::print(stderr, "{}: {}\n", kTool, r.error);
    }
  });
  std::fflush(stdout);
  if (summary.labelled > 0) fmt::print(stderr, "{}: {}\n", kTool, accuracy_summary(summary));
  return finish_items(summary);
}

struct EvaluateFlags {
  EvaluateOptions options;
  bool json = false;
  std::string plot;
};

int run_evaluate(EvaluateFlags& f) {
  if (!f.plot.empty()) check_image_output(f.plot, "--plot");
  Evaluation evaluation = evaluate(f.options);
  for (const auto& note : evaluation.notes) fmt::print(stderr, "{}: warning: {}\n", kTool, note);
  if (!f.plot.empty()) {
    write_image_file(f.plot, confusion_matrix_image(evaluation));
    fmt::print(stderr, "{}: confusion matrix written to {}\n", kTool, f.plot);
  }
  std::fputs((f.json ? evaluation_json(evaluation) : evaluation_text(evaluation)).c_str(), stdout);
  return 0;
}

struct TopNFlags {
  ClassifierOptions options;
  std::string list, folder, output;
  int64_t count = 9;
};

int run_topn(TopNFlags& f) {
  if (f.count < 1 || f.count > 1000) fail_usage("-n {}: expected 1 to 1000 images per class", f.count);
  check_image_output(f.output, "-o");
  Classifier classifier(f.options);
  print_loaded(classifier);
  // Labels in the list are accepted and ignored (digits-infer(1)): 0 classes checks none.
  std::vector<ImageItem> items = gather_items(f.list, f.folder, {}, 0);
  TopNCollector collector(classifier.num_classes(), f.count);
  ClassifySummary summary = classify_items(classifier, items, [&](const ItemResult& r) {
    if (r.probs)
      collector.add(r.item - items.data(), r.probs);
    else
      fmt::print(stderr, "{}: {}\n", kTool, r.error);
  });
  write_image_file(f.output, topn_grid(classifier, items, collector.per_class(), f.count));
  std::fputs(topn_listing(classifier, items, collector.per_class()).c_str(), stdout);
  fmt::print(stderr, "{}: top {} of {} image(s) per class written to {}\n", kTool, f.count,
             summary.items - summary.failed, f.output);
  return finish_items(summary);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"digits-infer: classify images with a trained digits job, evaluate it, show its top-N", kTool};
  app.set_version_flag("--version", version_string(kTool));
  app.require_subcommand(1);

  ClassifyFlags classify_flags;
  classify_flags.options.device = default_device();
  CLI::App* classify = app.add_subcommand("classify", "Top-N classes with probabilities for each image");
  add_job_flags(*classify, classify_flags.options);
  classify->add_option("--top", classify_flags.top, "Classes shown per image")->capture_default_str();
  classify->add_option("--format", classify_flags.format, "Output: table, csv or jsonl")->capture_default_str();
  classify->add_option("--list", classify_flags.list, "Text list of \"PATH [LABEL]\" lines (DIGITS's Classify Many)");
  classify->add_option("--folder", classify_flags.folder, "Prefix for relative paths in --list");
  classify->add_option("IMAGE", classify_flags.images, "Image files, folders (every image under them), - for a list on stdin");

  EvaluateFlags evaluate_flags;
  evaluate_flags.options.classifier.device = default_device();
  CLI::App* evaluate_cmd = app.add_subcommand("evaluate", "Accuracy, per-class precision/recall and confusion matrix on a dataset split");
  add_job_flags(*evaluate_cmd, evaluate_flags.options.classifier);
  evaluate_cmd->add_option("--dataset", evaluate_flags.options.dataset, "Dataset directory (digits-dataset create -o)")->required();
  evaluate_cmd->add_option("--split", evaluate_flags.options.split, "val, test or train")->capture_default_str();
  evaluate_cmd->add_flag("--json", evaluate_flags.json, "Print JSON instead of text");
  evaluate_cmd->add_option("--plot", evaluate_flags.plot, "Write the confusion matrix as an image (.png, .jpg or .jpeg)");

  TopNFlags topn_flags;
  topn_flags.options.device = default_device();
  CLI::App* topn = app.add_subcommand("topn", "For each class, the N images scoring highest for it, in one picture");
  add_job_flags(*topn, topn_flags.options);
  topn->add_option("--list", topn_flags.list, "Text list of \"PATH [LABEL]\" lines")->required();
  topn->add_option("--folder", topn_flags.folder, "Prefix for relative paths in --list");
  topn->add_option("-n,--count", topn_flags.count, "Images per class (1-1000)")->capture_default_str();
  topn->add_option("-o,--output", topn_flags.output, "Grid image to write (.png, .jpg or .jpeg)")->required();

  if (auto status = parse_flags(app, argc, argv)) return *status;

  return run_tool(kTool, [&]() -> int {
    if (*classify) return run_classify(classify_flags);
    if (*evaluate_cmd) return run_evaluate(evaluate_flags);
    return run_topn(topn_flags);
  });
}
