// `digits-dataset create`: builds a classification dataset directory (DESIGN.md section 4)
// from a folder, text lists or IDX files, the way DIGITS's parse_folder + create_db did.
//
// Pipeline: plan_dataset() lists every input and fixes each split's records and their order
// (seeded); then, per split, worker threads read, decode, resize and encode images in parallel
// and hand serialized Datum records to the single LMDB writer thread through a bounded reorder
// window, so the records land in the planned order whatever the thread timing (keys %08d_%d,
// contiguous over the records actually written). Workers also accumulate the training split's
// pixel sums for the mean image.
//
// Atomicity: everything is written into a temporary directory beside the output
// (".NAME.partial-XXXXXX", holding the incomplete marker until the end), dataset.yaml last, and
// the directory is renamed into place; an existing output is replaced (--force) by an atomic
// exchange. A run stopped at any moment (SIGKILL included) leaves no directory at the output
// path that looks complete. A failed or interrupted run removes its temporary directory.
//
// Bad items (unreadable, corrupt, too large, wrong label, ...) are skipped with one line each
// naming the item and the reason, and counted; with max_bad set, exceeding it fails the run with
// Error(data) and nothing is published.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "data/dataset_manifest.h"
#include "data/dataset_plan.h"
#include "data/image.h"

namespace digits {

// --max-bad: "N" (a count) or "P%" (a percentage of the items found). Unset: no limit.
struct BadLimit {
  bool set = false;
  bool percent = false;
  double value = 0;
  // The number of bad items allowed out of `candidates`.
  int64_t allowed(int64_t candidates) const;
};
// Parses "12" or "5%" / "2.5%"; anything else is a usage error.
BadLimit parse_bad_limit(const std::string& text);

struct CreateOptions {
  PlanOptions inputs;
  std::string output;
  // Unset: 256x256 colour, or the IDX images' own size and channels for an IDX train source.
  std::optional<int> channels;
  std::optional<int64_t> width, height;
  ResizeMode resize = ResizeMode::squash;
  RecordEncoding encoding = RecordEncoding::png;
  int jpeg_quality = 90;
  BadLimit max_bad;
  int64_t max_pixels = 100'000'000;
  bool compute_mean = true;
  bool force = false;
  int threads = 0;            // 0: one worker per core
  std::string tool_version;   // recorded in dataset.yaml and the log
  // Progress: a redrawn bar when true, plain periodic lines when false.
  bool progress_bar = false;
};

struct CreateSummary {
  DatasetManifest manifest;
  int64_t bad_items = 0;
  double seconds = 0;
  int64_t records() const { return manifest.total_records(); }
};

// Builds the dataset. Error(usage) for bad options or inputs (exit 2), Error(data) when the
// input is rejected (too many bad items, fewer than two usable classes: exit 3), Error(runtime)
// for I/O failures, Error(sigint/sigterm) when a stop signal (core/signals.h) arrives; in every
// failure the temporary directory is removed and the output path is untouched.
CreateSummary create_dataset(const CreateOptions& options);

}  // namespace digits
