// Looking at a finished dataset directory (ours or one made by NVIDIA DIGITS):
//  info     a summary: task, shape, encoding, classes, counts per split and class, mean pixel,
//           size on disk (text for people, JSON for scripts);
//  verify   reads every record back and checks it against the manifest: key form and order,
//           Datum well-formed, shape, encoding, label range and agreement with the key, per-class
//           counts, the mean file, the list files;
//  explore  a grid image of records from one split (optionally one class), DIGITS's "Explore
//           the db", so a person can look at what went in.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset_manifest.h"

namespace digits {

struct DatasetInfo {
  std::string dir;
  DatasetManifest manifest;
  std::vector<double> mean_pixel;  // per channel, R G B (or gray); empty without a mean file
  int64_t disk_bytes = 0;          // blocks allocated by every file in the directory
};

DatasetInfo dataset_info(const std::string& dir);
std::string info_text(const DatasetInfo& info);
std::string info_json(const DatasetInfo& info);  // one JSON object, pretty-printed

struct VerifyReport {
  int64_t records_checked = 0;
  int64_t problem_count = 0;
  std::vector<std::string> problems;  // the first kMaxListedProblems of them
  static constexpr size_t kMaxListedProblems = 200;
  bool ok() const { return problem_count == 0; }
};

// Problems in the records are collected (not thrown); a directory that cannot be read as a
// dataset at all throws (Error(usage) / Error(data)). progress_bar as in CreateOptions.
VerifyReport verify_dataset(const std::string& dir, bool progress_bar);

struct ExploreOptions {
  std::string dir;
  std::string split = "train";
  std::string class_name;  // a class name or label number; empty: every class
  int count = 16;          // records in the grid (1..1024)
  std::string output;      // .png or .jpg
};
struct ExploreResult {
  std::vector<std::string> keys;  // the records shown, in grid order (row by row)
  int64_t grid_width = 0, grid_height = 0;
};
// Error(usage) for an unknown split or class (the message lists the valid ones), Error(data)
// when the split holds no record of that class or a record does not decode.
ExploreResult explore_dataset(const ExploreOptions& options);

}  // namespace digits
