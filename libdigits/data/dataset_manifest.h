// dataset.yaml, our manifest of a classification dataset directory (DESIGN.md section 4), and
// reading any dataset directory: ours (dataset.yaml) or one made by NVIDIA DIGITS (no
// dataset.yaml: classes from labels.txt, splits from the *_db directories, shape and encoding
// from the first record).
//
// dataset.yaml is written last, after every other file is complete; its presence is what makes
// a directory a finished dataset. A directory holding the marker file kIncompleteMarker is a
// creation that was interrupted and is refused by every reader.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace digits {

inline constexpr int kDatasetFormatVersion = 1;
inline constexpr const char* kManifestFile = "dataset.yaml";
inline constexpr const char* kIncompleteMarker = ".digits-incomplete";

enum class RecordEncoding { none, png, jpg };
// "none", "png", "jpg" ("jpeg" accepted); anything else is a usage error listing the choices.
RecordEncoding parse_record_encoding(const std::string& name);
const char* record_encoding_name(RecordEncoding encoding);

struct ManifestSplit {
  std::string name;                // train | val | test
  std::string db;                  // directory name: train_db
  std::string list;                // train.txt ("" if absent)
  int64_t count = 0;
  std::vector<int64_t> per_class;  // size == classes.size()
  // The database file db/data.mdb as created: its size and XXH64 content hash (core/file_hash.h),
  // checked by check_split_data() before LMDB opens it. -1 / "" when not recorded (a DIGITS
  // directory, or a dataset from before hashes were recorded).
  int64_t data_bytes = -1;
  std::string data_xxh64;
};

struct ManifestSource {
  std::string split;   // train | val | test
  std::string kind;    // folder | text list | IDX
  std::string path;
  std::string labels;  // IDX labels file
};

struct DatasetManifest {
  int format_version = kDatasetFormatVersion;
  std::string task = "classification";
  int64_t width = 0, height = 0;
  int channels = 0;
  std::string resize_mode;         // "" when unknown (a DIGITS directory)
  std::string encoding;            // none | png | jpg
  int jpeg_quality = 0;            // when encoding == jpg and known
  std::vector<std::string> classes;
  std::vector<ManifestSplit> splits;
  std::string mean_file;           // "mean.binaryproto", "" when there is no mean
  std::string mean_image;          // "mean.jpg", "" when none
  std::vector<ManifestSource> sources;
  std::string labels_file, folder;
  double val_pct = 0, test_pct = 0;
  int min_per_class = 0;
  std::optional<int64_t> max_per_class;
  uint64_t seed = 0;
  int64_t bad_items = 0;
  std::string created;             // ISO 8601 UTC
  std::string tool_version;
  bool made_by_digits = false;     // read from a directory without dataset.yaml

  const ManifestSplit* split(const std::string& name) const;
  int64_t total_records() const;
};

std::string manifest_to_yaml(const DatasetManifest& manifest);

// Reads `dir` as a dataset. Error(usage) if it does not exist or is not a dataset at all,
// Error(data) if it is incomplete or its manifest is malformed or from a newer format.
DatasetManifest read_dataset_dir(const std::string& dir);

// Checks DIR/<split.db>/data.mdb against the size and hash recorded in dataset.yaml (nothing to
// check when none were recorded): Error(data) naming the file if it was truncated, extended or
// changed since creation. LMDB trusts its file's page numbers and lengths, so a damaged file
// must be refused before it is opened, or reading it could crash the process.
void check_split_data(const std::string& dir, const ManifestSplit& split);
// check_split_data() for every split of the dataset at `dir`, when it has a dataset.yaml (which
// is read, so an incomplete or malformed dataset is refused too).
void check_dataset_data(const std::string& dir);

// "2026-01-31T12:00:00Z"
std::string utc_timestamp_now();

}  // namespace digits
