#include "data/dataset_plan.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/rng.h"

namespace digits {
namespace {

// Purpose tags for derive_seed().
constexpr uint64_t kClassShuffle = 1;  // per-class shuffle of the train source (sample + split)
constexpr uint64_t kValSample = 2;     // per-class sample of a separate val source
constexpr uint64_t kTestSample = 3;    // per-class sample of a separate test source
constexpr uint64_t kWriteOrder = 4;    // per-split write order

template <typename T>
void shuffle(std::vector<T>& items, Rng& rng) {
  for (size_t i = items.size(); i > 1; --i) {
    size_t j = static_cast<size_t>(rng.below(i));
    std::swap(items[i - 1], items[j]);
  }
}

void check_percent(const char* flag, double value) {
  if (!(value >= 0.0 && value <= 100.0)) fail_usage("{} {}: expected a percentage from 0 to 100", flag, value);
}

// Lists one source into per-class items, using the class list already fixed (val and test
// sources) or, for the train source, returning the folder's own class names.
struct Listed {
  std::vector<std::vector<SourceItem>> by_class;  // index = label in `names`
  std::vector<std::string> names;                 // folder-derived names (train, no --labels)
  int64_t idx_rows = 0, idx_cols = 0;
  int idx_channels = 0;
};

}  // namespace

uint64_t derive_seed(uint64_t seed, uint64_t purpose, uint64_t index) {
  return splitmix64(splitmix64(seed ^ splitmix64(purpose * 0x9e3779b97f4a7c15ULL)) ^ index);
}

SplitCounts three_way_split(int64_t size, double pct_val, double pct_test) {
  SplitCounts out;
  if (size <= 0) return out;
  double pct_train = 100.0 - (pct_val + pct_test);
  if (pct_train >= 100.0) {
    out.train = size;
    return out;
  }
  if (pct_val >= 100.0) {
    out.val = size;
    return out;
  }
  if (pct_test >= 100.0) {
    out.test = size;
    return out;
  }
  // std::round rounds half away from zero, like Python 2's round() that DIGITS used.
  int64_t a = static_cast<int64_t>(std::round(static_cast<double>(size) * pct_train / 100.0));
  if (pct_train > 0 && a == 0) a = 1;
  int64_t b = static_cast<int64_t>(std::round(static_cast<double>(size) * pct_val / 100.0));
  if (a + b > size) b = size - a;
  if (pct_val > 0 && b == 0) {
    if (a > 1) {
      a -= 1;
      b = 1;
    } else if (a != size) {
      b = 1;
    }
  }
  int64_t c = size - (a + b);
  if (pct_test > 0 && c == 0) {
    if (b > 1) {
      b -= 1;
      c = 1;
    } else if (a > 1) {
      a -= 1;
      c = 1;
    }
  }
  out.train = a;
  out.val = b;
  out.test = size - (a + b);
  return out;
}

int64_t DatasetPlan::candidate_items() const {
  int64_t n = static_cast<int64_t>(bad.size());
  for (const auto& s : splits) n += static_cast<int64_t>(s.items.size());
  return n;
}

namespace {

// Reads one source. `fixed_names` empty means "derive class names from this (train) folder".
Listed list_source(const SourceSpec& spec, const char* split_flag, SourceKind kind,
                   const std::vector<std::string>& fixed_names, const std::string& folder_prefix,
                   DatasetPlan& plan) {
  Listed listed;
  int num_classes = static_cast<int>(fixed_names.size());
  switch (kind) {
    case SourceKind::folder: {
      FolderScan scan = scan_folder(spec.path);
      plan.bad.insert(plan.bad.end(), scan.bad.begin(), scan.bad.end());
      plan.notes.insert(plan.notes.end(), scan.notes.begin(), scan.notes.end());
      if (fixed_names.empty()) {
        for (auto& cls : scan.classes) {
          std::vector<SourceItem> items;
          for (auto& f : cls.files) {
            SourceItem item;
            item.path = std::move(f);
            item.label = static_cast<int32_t>(listed.names.size());
            items.push_back(std::move(item));
          }
          listed.names.push_back(cls.name);
          listed.by_class.push_back(std::move(items));
        }
      } else {
        listed.by_class.resize(fixed_names.size());
        for (auto& cls : scan.classes) {
          auto it = std::find(fixed_names.begin(), fixed_names.end(), cls.name);
          if (it == fixed_names.end()) it = std::find(fixed_names.begin(), fixed_names.end(), cls.folder);
          if (it == fixed_names.end()) {
            plan.notes.push_back(fmt::format("{}/{}: class \"{}\" is not one of the dataset's classes; skipped",
                                             spec.path, cls.folder, cls.name));
            continue;
          }
          int32_t label = static_cast<int32_t>(it - fixed_names.begin());
          for (auto& f : cls.files) {
            SourceItem item;
            item.path = std::move(f);
            item.label = label;
            listed.by_class[static_cast<size_t>(label)].push_back(std::move(item));
          }
        }
      }
      break;
    }
    case SourceKind::text_list: {
      if (fixed_names.empty())
        fail_usage("{} {}: a text list needs --labels FILE naming the classes (one per line)", split_flag, spec.path);
      TextList list = read_text_list(spec.path, folder_prefix, num_classes);
      plan.bad.insert(plan.bad.end(), list.bad.begin(), list.bad.end());
      listed.by_class.resize(fixed_names.size());
      for (auto& item : list.items) listed.by_class[static_cast<size_t>(item.label)].push_back(std::move(item));
      break;
    }
    case SourceKind::idx: {
      IdxSource idx = read_idx_source(spec.path, spec.labels, num_classes);
      plan.bad.insert(plan.bad.end(), idx.bad.begin(), idx.bad.end());
      listed.idx_rows = idx.images->rows;
      listed.idx_cols = idx.images->cols;
      listed.idx_channels = idx.images->channels;
      if (fixed_names.empty()) {
        for (int32_t i = 0; i <= idx.max_label; ++i) listed.names.push_back(std::to_string(i));
      }
      listed.by_class.resize(fixed_names.empty() ? listed.names.size() : fixed_names.size());
      for (auto& item : idx.items) listed.by_class[static_cast<size_t>(item.label)].push_back(std::move(item));
      break;
    }
  }
  return listed;
}

void check_source_flags(const SourceSpec& spec, const char* split_flag, const char* labels_flag,
                        SourceKind kind) {
  if (kind == SourceKind::idx && spec.labels.empty())
    fail_usage("{} {}: an IDX image file needs {} naming its IDX labels file", split_flag, spec.path, labels_flag);
  if (kind != SourceKind::idx && !spec.labels.empty())
    fail_usage("{} {}: only an IDX image source takes a labels file (for a {}, use --labels for class names)",
               labels_flag, spec.labels, source_kind_name(kind));
}

}  // namespace

DatasetPlan plan_dataset(const PlanOptions& options) {
  DatasetPlan plan;
  if (options.train.path.empty()) fail_usage("--train is required");
  if (options.min_per_class < 1) fail_usage("--min-per-class {}: expected at least 1", options.min_per_class);
  if (options.max_per_class && *options.max_per_class < 1)
    fail_usage("--max-per-class {}: expected at least 1", *options.max_per_class);
  if (options.val_pct && !options.val.path.empty())
    fail_usage("--val-pct cannot be combined with --val (the validation set is given)");
  if (options.test_pct && !options.test.path.empty())
    fail_usage("--test-pct cannot be combined with --test (the test set is given)");
  plan.val_pct = options.val.path.empty() ? options.val_pct.value_or(25.0) : 0.0;
  plan.test_pct = options.test.path.empty() ? options.test_pct.value_or(0.0) : 0.0;
  check_percent("--val-pct", plan.val_pct);
  check_percent("--test-pct", plan.test_pct);
  if (plan.val_pct + plan.test_pct >= 100.0)
    fail_usage("--val-pct {} + --test-pct {} leave nothing for training (their sum must be below 100)",
               plan.val_pct, plan.test_pct);
  if (!options.folder.empty()) {
    SourceKind folder_kind = detect_source_kind(options.folder);
    if (folder_kind != SourceKind::folder) fail_usage("--folder {}: not a folder", options.folder);
  }

  // Kinds and flags first, so every usage error comes before any long scan.
  SourceKind train_kind = detect_source_kind(options.train.path);
  check_source_flags(options.train, "--train", "--train-labels", train_kind);
  SourceKind val_kind = SourceKind::folder, test_kind = SourceKind::folder;
  if (!options.val.path.empty()) {
    val_kind = detect_source_kind(options.val.path);
    check_source_flags(options.val, "--val", "--val-labels", val_kind);
  } else if (!options.val.labels.empty()) {
    fail_usage("--val-labels needs --val");
  }
  if (!options.test.path.empty()) {
    test_kind = detect_source_kind(options.test.path);
    check_source_flags(options.test, "--test", "--test-labels", test_kind);
  } else if (!options.test.labels.empty()) {
    fail_usage("--test-labels needs --test");
  }
  // --folder only prefixes the paths of text lists: with none, it would silently change nothing
  // (and be recorded in dataset.yaml as if it had), a mistake to point out as --train-labels is.
  bool any_list = train_kind == SourceKind::text_list ||
                  (!options.val.path.empty() && val_kind == SourceKind::text_list) ||
                  (!options.test.path.empty() && test_kind == SourceKind::text_list);
  if (!options.folder.empty() && !any_list)
    fail_usage("--folder {}: only text lists take a path prefix, and no source is a text list", options.folder);
  plan.sources.push_back({"train", train_kind, options.train.path, options.train.labels});
  if (!options.val.path.empty()) plan.sources.push_back({"val", val_kind, options.val.path, options.val.labels});
  if (!options.test.path.empty()) plan.sources.push_back({"test", test_kind, options.test.path, options.test.labels});

  std::vector<std::string> fixed_names;
  if (!options.labels_file.empty()) fixed_names = read_labels_file(options.labels_file);
  bool names_from_source = fixed_names.empty();

  Listed train = list_source(options.train, "--train", train_kind, fixed_names, options.folder, plan);
  plan.native_width = train.idx_cols;
  plan.native_height = train.idx_rows;
  plan.native_channels = train.idx_channels;
  std::vector<std::string> names = names_from_source ? train.names : fixed_names;
  // Only classes named by sub-folders may be dropped and the rest renumbered; label numbers
  // given by a labels file or by IDX labels keep their meaning.
  bool renumber = names_from_source && train_kind == SourceKind::folder;

  // Per class: shuffle (seeded), keep at most max_per_class, require the minimum, split.
  int required = 1 + (plan.val_pct > 0) + (plan.test_pct > 0);
  int64_t minimum = std::max<int64_t>(options.min_per_class, required);
  std::vector<int32_t> new_label(names.size(), -1);
  std::vector<std::string> kept_names;
  PlannedSplit train_split{"train", {}}, val_split{"val", {}}, test_split{"test", {}};
  for (size_t c = 0; c < names.size(); ++c) {
    auto& items = train.by_class[c];
    Rng rng(derive_seed(options.seed, kClassShuffle, c));
    shuffle(items, rng);
    if (options.max_per_class && static_cast<int64_t>(items.size()) > *options.max_per_class) {
      plan.notes.push_back(fmt::format("class \"{}\": {} images, sampled down to --max-per-class {}", names[c],
                                       items.size(), *options.max_per_class));
      items.resize(static_cast<size_t>(*options.max_per_class));
    }
    if (static_cast<int64_t>(items.size()) < minimum) {
      plan.notes.push_back(fmt::format(
          "class \"{}\": {} image(s), fewer than the minimum of {} (--min-per-class {}{}); {}", names[c],
          items.size(), minimum, options.min_per_class,
          required > 1 ? fmt::format(", one per split: {}", required) : "",
          renumber ? "class dropped" : "its images are not used"));
      if (!renumber) {
        new_label[c] = static_cast<int32_t>(kept_names.size());
        kept_names.push_back(names[c]);
      }
      continue;
    }
    new_label[c] = static_cast<int32_t>(kept_names.size());
    kept_names.push_back(names[c]);
    SplitCounts counts = three_way_split(static_cast<int64_t>(items.size()), plan.val_pct, plan.test_pct);
    for (int64_t i = 0; i < static_cast<int64_t>(items.size()); ++i) {
      SourceItem& item = items[static_cast<size_t>(i)];
      item.label = new_label[c];
      PlannedSplit& target = i < counts.train ? train_split : i < counts.train + counts.val ? val_split : test_split;
      target.items.push_back(std::move(item));
    }
  }
  plan.class_names = kept_names;

  int64_t classes_with_training_images = 0;
  {
    std::vector<bool> has(plan.class_names.size(), false);
    for (const auto& item : train_split.items) has[static_cast<size_t>(item.label)] = true;
    classes_with_training_images = std::count(has.begin(), has.end(), true);
  }
  if (classes_with_training_images < 2)
    fail_data("{}: found {} class(es) with at least {} image(s); a classification dataset needs at least 2",
              options.train.path, classes_with_training_images, minimum);

  // Separate val/test sources: every item goes to that split; labels by class name for folders.
  auto add_separate = [&](const SourceSpec& spec, const char* flag, SourceKind kind, uint64_t purpose,
                          PlannedSplit& split) {
    if (spec.path.empty()) return;
    // Folders match class names; lists and IDX files carry label numbers of the final list.
    std::vector<std::string> source_names = plan.class_names;
    Listed listed = list_source(spec, flag, kind, source_names, options.folder, plan);
    for (size_t c = 0; c < listed.by_class.size(); ++c) {
      auto& items = listed.by_class[c];
      if (options.max_per_class && static_cast<int64_t>(items.size()) > *options.max_per_class) {
        Rng rng(derive_seed(options.seed, purpose, c));
        shuffle(items, rng);
        plan.notes.push_back(fmt::format("{} {}: class \"{}\": {} images, sampled down to --max-per-class {}", flag,
                                         spec.path, plan.class_names[c], items.size(), *options.max_per_class));
        items.resize(static_cast<size_t>(*options.max_per_class));
      }
      for (auto& item : items) split.items.push_back(std::move(item));
    }
  };
  add_separate(options.val, "--val", val_kind, kValSample, val_split);
  add_separate(options.test, "--test", test_kind, kTestSample, test_split);

  // Write order: each split shuffled with its own stream, as DIGITS's create_db shuffled.
  PlannedSplit* all[3] = {&train_split, &val_split, &test_split};
  for (int s = 0; s < 3; ++s) {
    Rng rng(derive_seed(options.seed, kWriteOrder, static_cast<uint64_t>(s)));
    shuffle(all[s]->items, rng);
    if (!all[s]->items.empty()) plan.splits.push_back(std::move(*all[s]));
  }
  return plan;
}

}  // namespace digits
