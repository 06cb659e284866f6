// dataset.yaml: written and read back unchanged; malformed, newer or incomplete datasets are
// refused with the file and key named.
#include <doctest/doctest.h>

#include "temp_dir.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/error.h"
#include "data/dataset_manifest.h"

using namespace digits;
namespace fs = std::filesystem;

namespace {
using digits::testing::TempDir;

DatasetManifest sample() {
  DatasetManifest m;
  m.created = "2026-01-02T03:04:05Z";
  m.tool_version = "digits-dataset 0.1.0";
  m.width = 32;
  m.height = 24;
  m.channels = 3;
  m.resize_mode = "half_crop";
  m.encoding = "jpg";
  m.jpeg_quality = 85;
  m.classes = {"big cat", "dog: \"good\"", "T-shirt/top"};
  m.splits = {{"train", "train_db", "train.txt", 6, {1, 2, 3}}, {"test", "test_db", "test.txt", 3, {1, 1, 1}}};
  m.mean_file = "mean.binaryproto";
  m.mean_image = "mean.jpg";
  m.sources = {{"train", "folder", "/data/my images", ""}, {"test", "IDX", "/d/t10k.gz", "/d/labels.gz"}};
  m.labels_file = "/d/names.txt";
  m.val_pct = 0;
  m.test_pct = 12.5;
  m.min_per_class = 3;
  m.max_per_class = 1000;
  m.seed = 18446744073709551615ULL;
  m.bad_items = 4;
  return m;
}

std::string error_of(const std::string& dir) {
  try {
    read_dataset_dir(dir);
  } catch (const Error& e) {
    return fmt::format("{} {}", static_cast<int>(e.code()), e.what());
  }
  return "ok";
}
}  // namespace

TEST_CASE("manifest: round trip through dataset.yaml") {
  TempDir tmp;
  DatasetManifest m = sample();
  std::ofstream(tmp.path + "/dataset.yaml") << manifest_to_yaml(m);
  DatasetManifest back = read_dataset_dir(tmp.path);
  CHECK(back.format_version == 1);
  CHECK(back.task == "classification");
  CHECK(back.created == m.created);
  CHECK(back.tool_version == m.tool_version);
  CHECK(back.width == 32);
  CHECK(back.height == 24);
  CHECK(back.channels == 3);
  CHECK(back.resize_mode == "half_crop");
  CHECK(back.encoding == "jpg");
  CHECK(back.jpeg_quality == 85);
  CHECK(back.classes == m.classes);
  REQUIRE(back.splits.size() == 2);
  CHECK(back.splits[1].name == "test");
  CHECK(back.splits[1].per_class == std::vector<int64_t>{1, 1, 1});
  CHECK(back.split("train")->count == 6);
  CHECK(back.split("val") == nullptr);
  CHECK(back.total_records() == 9);
  CHECK(back.mean_file == "mean.binaryproto");
  REQUIRE(back.sources.size() == 2);
  CHECK(back.sources[0].path == "/data/my images");
  CHECK(back.sources[1].labels == "/d/labels.gz");
  CHECK(back.labels_file == "/d/names.txt");
  CHECK(back.test_pct == 12.5);
  CHECK(back.min_per_class == 3);
  CHECK(back.max_per_class == 1000);
  CHECK(back.seed == 18446744073709551615ULL);
  CHECK(back.bad_items == 4);
  CHECK_FALSE(back.made_by_digits);

  m.mean_file.clear();
  m.max_per_class.reset();
  std::ofstream(tmp.path + "/dataset.yaml") << manifest_to_yaml(m);
  back = read_dataset_dir(tmp.path);
  CHECK(back.mean_file.empty());
  CHECK_FALSE(back.max_per_class.has_value());
}

TEST_CASE("manifest: malformed, newer and incomplete datasets are refused") {
  TempDir tmp;
  std::string good = manifest_to_yaml(sample());
  auto with = [&](const std::string& from, const std::string& to) {
    std::string text = good;
    size_t at = text.find(from);
    REQUIRE(at != std::string::npos);
    text.replace(at, from.size(), to);
    std::ofstream(tmp.path + "/dataset.yaml") << text;
    return error_of(tmp.path);
  };
  CHECK(with("format_version: 1", "format_version: 2").find("newer than this tool understands") != std::string::npos);
  CHECK(with("format_version: 1", "format_version: one").find("format_version: expected an integer") != std::string::npos);
  CHECK(with("task: classification", "task: detection").find("task: \"detection\" is not supported") != std::string::npos);
  CHECK(with("channels: 3", "channels: 2").find("image.channels") != std::string::npos);
  CHECK(with("encoding: jpg", "encoding: gif").find("image.encoding") != std::string::npos);
  CHECK(with("count: 6", "count: 7").find("splits.train: per_class counts do not add up") != std::string::npos);
  CHECK(with("db: train_db", "db: ../elsewhere").find("splits.train.db") != std::string::npos);
  CHECK(with("per_class: [1, 2, 3]", "per_class: [1, 2]").find("splits.train.per_class") != std::string::npos);
  CHECK(with("width: 32", "width: -5").find("invalid size") != std::string::npos);
  // Every refusal is "input data rejected" (exit 3) and names the file.
  std::string e = with("width: 32", "width: [1]");
  CHECK(e.rfind("3 ", 0) == 0);
  CHECK(e.find(tmp.path + "/dataset.yaml") != std::string::npos);
  // Not YAML at all; YAML with an anchor (refused by the safe loader).
  std::ofstream(tmp.path + "/dataset.yaml") << "format_version: [\n";
  CHECK(error_of(tmp.path).rfind("3 ", 0) == 0);
  std::ofstream(tmp.path + "/dataset.yaml") << "a: &x 1\nb: *x\n";
  CHECK(error_of(tmp.path).rfind("3 ", 0) == 0);

  // Interrupted creation: refused even with a manifest.
  std::ofstream(tmp.path + "/dataset.yaml") << good;
  std::ofstream(tmp.path + "/" + kIncompleteMarker) << "x";
  CHECK(error_of(tmp.path).find("incomplete dataset") != std::string::npos);
  // Missing directory, or one that is not a dataset: usage errors.
  CHECK(error_of(tmp.path + "/nope").rfind("2 ", 0) == 0);
  TempDir empty;
  CHECK(error_of(empty.path).find("not a dataset directory") != std::string::npos);
}

TEST_CASE("record encodings") {
  CHECK(parse_record_encoding("none") == RecordEncoding::none);
  CHECK(parse_record_encoding("png") == RecordEncoding::png);
  CHECK(parse_record_encoding("jpeg") == RecordEncoding::jpg);
  CHECK(std::string(record_encoding_name(RecordEncoding::jpg)) == "jpg");
  CHECK_THROWS_AS(parse_record_encoding("webp"), Error);
}
