// From the inputs a user names to the exact list of records each split will hold, in the order
// they will be written, before any image is decoded. This is DIGITS's parse_folder step:
// classes, per-class sampling (--max-per-class), per-class minimum (--min-per-class), per-class
// train/val/test split (--val-pct, --test-pct) and the seeded write-order shuffle.
//
// Reproducibility: every random choice draws from its own stream derive_seed(seed, purpose, i),
// so a change in one class or split never shifts another's draws.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "data/dataset_sources.h"

namespace digits {

// Seed of an independent random stream: (user seed, purpose tag, index) -> 64 bits.
uint64_t derive_seed(uint64_t seed, uint64_t purpose, uint64_t index);

// DIGITS's three_way_split_indices: per-class counts (train, val, test) for `size` items with
// pct_val and pct_test percent (0..100, sum <= 100). Each count is round-half-away-from-zero of
// its share; every split with a non-zero percentage gets at least one item when `size` allows,
// taken from train first. 30 items at 20% val and 10% test give exactly 21/6/3.
struct SplitCounts {
  int64_t train = 0, val = 0, test = 0;
};
SplitCounts three_way_split(int64_t size, double pct_val, double pct_test);

struct SourceSpec {
  std::string path;    // empty: not given
  std::string labels;  // IDX labels file (--train-labels etc.); only for IDX sources
};

struct PlanOptions {
  SourceSpec train, val, test;
  std::string labels_file;               // --labels
  std::string folder;                    // --folder: prefix for relative paths in text lists
  std::optional<double> val_pct;         // --val-pct; default 25 unless --val is given
  std::optional<double> test_pct;        // --test-pct; default 0
  int min_per_class = 2;
  std::optional<int64_t> max_per_class;
  uint64_t seed = 0;
};

struct PlannedSplit {
  std::string name;                // "train", "val", "test"
  std::vector<SourceItem> items;   // in write order
};

struct SourceDescription {
  std::string split;  // which split option named it
  SourceKind kind = SourceKind::folder;
  std::string path;
  std::string labels;  // IDX labels file, if any
};

struct DatasetPlan {
  std::vector<std::string> class_names;  // label i = class_names[i]
  std::vector<PlannedSplit> splits;      // train, val, test: only the non-empty ones
  std::vector<BadItem> bad;              // found while listing
  std::vector<std::string> notes;        // classes dropped or sampled, files ignored
  std::vector<SourceDescription> sources;
  double val_pct = 0, test_pct = 0;      // the percentages applied to the train source
  // Shape of the train source when it is IDX (rows, cols, channels), for default sizes.
  int64_t native_width = 0, native_height = 0;
  int native_channels = 0;
  int64_t candidate_items() const;       // items planned + bad items found while listing
};

// Usage errors (exit 2) for bad combinations and missing inputs; Error(data) when fewer than
// two classes keep enough images.
DatasetPlan plan_dataset(const PlanOptions& options);

}  // namespace digits
