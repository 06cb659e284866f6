// The training log: what log.jsonl and train.log say about progress, data starvation included.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/fs.h"
#include "temp_dir.h"
#include "train/training_log.h"

namespace digits {
namespace {

std::vector<nlohmann::json> jsonl(const std::string& path) {
  std::vector<nlohmann::json> records;
  std::string text = read_file(path), line;
  for (char ch : text) {
    if (ch != '\n') {
      line += ch;
      continue;
    }
    records.push_back(nlohmann::json::parse(line));
    line.clear();
  }
  return records;
}

int count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST_CASE("training log: every train record carries the data-wait fraction") {
  testing::TempDir dir;
  {
    TrainingLog log(dir.path);
    log.train(0.5, 10, 20, 1.25, 0.01, 1000.0, 0.05);
    log.val(0.5, 10, 1.5, 0.75, 0.95, {});
    log.train(1.0, 20, 20, 0.75, 0.01, 1100.0, 0.0);
  }
  auto records = jsonl(dir / "log.jsonl");
  REQUIRE(records.size() == 3);
  CHECK(records[0]["type"] == "train");
  CHECK(records[0]["data_wait"].get<double>() == doctest::Approx(0.05));
  CHECK(records[0]["images_per_s"].get<double>() == doctest::Approx(1000.0));
  CHECK(records[1]["type"] == "val");
  CHECK(records[1]["accuracy"].get<double>() == doctest::Approx(0.75));
  CHECK(records[2]["data_wait"].get<double>() == doctest::Approx(0.0));
  // A loader that keeps up gives no warning.
  CHECK(count(read_file(dir / "train.log"), "starves") == 0);
}

TEST_CASE("training log: a starving loader is warned about once, naming the fraction") {
  testing::TempDir dir;
  {
    TrainingLog log(dir.path);
    log.train(0.1, 1, 10, 2.0, 0.01, 100.0, 0.1);
    log.train(0.2, 2, 10, 2.0, 0.01, 100.0, 0.6);
    log.train(0.3, 3, 10, 2.0, 0.01, 100.0, 0.7);
  }
  std::string text = read_file(dir / "train.log");
  CHECK(count(text, "the data loader starves the compute") == 1);
  CHECK(count(text, "60% of the time waiting") == 1);
}

}  // namespace
}  // namespace digits
