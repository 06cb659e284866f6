// Dataset planning (no image decoding): DIGITS's per-class split arithmetic, folder scanning
// with symlink loops, text lists with spaces and --folder, IDX pairs, class dropping and
// sampling, seeded reproducibility, usage errors, and --max-bad parsing.
#include <doctest/doctest.h>

#include "temp_dir.h"
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include "core/error.h"
#include "data/dataset_builder.h"
#include "data/dataset_plan.h"
#include "data/idx.h"

using namespace digits;
namespace fs = std::filesystem;

namespace {
using digits::testing::TempDir;

void touch(const std::string& path) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path) << "x";
}

// root/<class>/<i>.png for each (class, count).
void make_folder(const std::string& root, const std::map<std::string, int>& classes) {
  for (const auto& [name, count] : classes)
    for (int i = 0; i < count; ++i) touch(fmt::format("{}/{}/{:03d}.png", root, name, i));
}

const PlannedSplit* find_split(const DatasetPlan& plan, const std::string& name) {
  for (const auto& s : plan.splits)
    if (s.name == name) return &s;
  return nullptr;
}

std::vector<int64_t> per_class(const DatasetPlan& plan, const std::string& split) {
  std::vector<int64_t> counts(plan.class_names.size(), 0);
  if (const PlannedSplit* s = find_split(plan, split))
    for (const auto& item : s->items) ++counts[static_cast<size_t>(item.label)];
  return counts;
}

ExitCode code_of(const PlanOptions& options) {
  try {
    plan_dataset(options);
  } catch (const Error& e) {
    return e.code();
  }
  return ExitCode::ok;
}
}  // namespace

TEST_CASE("three_way_split follows DIGITS's parse_folder arithmetic") {
  auto check = [](int64_t size, double val, double test, int64_t a, int64_t b, int64_t c) {
    SplitCounts s = three_way_split(size, val, test);
    INFO("size=" << size << " val=" << val << " test=" << test);
    CHECK(s.train == a);
    CHECK(s.val == b);
    CHECK(s.test == c);
  };
  check(30, 20, 10, 21, 6, 3);   // the example
  check(100, 25, 0, 75, 25, 0);  // DIGITS defaults
  check(5, 10, 10, 3, 1, 1);     // 0.5 rounds up to 1 val; test takes one from train
  check(2, 25, 0, 1, 1, 0);      // train 1.5 -> 2 leaves no val: val takes one from train
  check(1, 25, 0, 1, 0, 0);      // one image: train only
  check(3, 50, 50, 0, 2, 1);     // no train share
  check(10, 0, 0, 10, 0, 0);
  check(7, 0, 100, 0, 0, 7);
  check(0, 25, 0, 0, 0, 0);
}

TEST_CASE("plan: folder classes, 21/6/3 per class, '_' as space, seeded and reproducible") {
  TempDir tmp;
  make_folder(tmp.path + "/src", {{"big_cat", 30}, {"dog", 30}, {"emu", 30}});
  touch(tmp.path + "/src/README.txt");      // top-level file: ignored with a note
  touch(tmp.path + "/src/dog/notes.txt");   // not an image extension: ignored with a note
  touch(tmp.path + "/src/emu/sub/deeper/a.PNG");  // nested, upper-case extension
  PlanOptions options;
  options.train.path = tmp.path + "/src";
  options.val_pct = 20;
  options.test_pct = 10;
  options.seed = 7;
  DatasetPlan plan = plan_dataset(options);
  CHECK(plan.class_names == std::vector<std::string>{"big cat", "dog", "emu"});
  CHECK(per_class(plan, "train") == std::vector<int64_t>{21, 21, 22});  // emu has 31: round(21.7)=22
  CHECK(per_class(plan, "val") == std::vector<int64_t>{6, 6, 6});
  CHECK(per_class(plan, "test") == std::vector<int64_t>{3, 3, 3});
  CHECK(plan.bad.empty());
  CHECK(plan.notes.size() == 2);

  // Same seed, same plan (order included); another seed, another order.
  DatasetPlan again = plan_dataset(options);
  REQUIRE(again.splits.size() == 3);
  for (size_t s = 0; s < 3; ++s)
    for (size_t i = 0; i < plan.splits[s].items.size(); ++i)
      CHECK(plan.splits[s].items[i].path == again.splits[s].items[i].path);
  options.seed = 8;
  DatasetPlan other = plan_dataset(options);
  int same = 0;
  for (size_t i = 0; i < plan.splits[0].items.size(); ++i) same += plan.splits[0].items[i].path == other.splits[0].items[i].path;
  CHECK(same < 10);
  // Every file appears exactly once across the splits.
  std::set<std::string> seen;
  for (const auto& s : plan.splits)
    for (const auto& item : s.items) CHECK(seen.insert(item.path).second);
  CHECK(seen.size() == 91);
}

TEST_CASE("plan: min-per-class drops and renumbers folder classes; max-per-class samples") {
  TempDir tmp;
  make_folder(tmp.path + "/src", {{"a", 10}, {"b", 1}, {"c", 12}});
  fs::create_directories(tmp.path + "/src/empty");
  PlanOptions options;
  options.train.path = tmp.path + "/src";
  DatasetPlan plan = plan_dataset(options);
  CHECK(plan.class_names == std::vector<std::string>{"a", "c"});
  CHECK(per_class(plan, "train") == std::vector<int64_t>{8, 9});  // 25% val: round(7.5)=8, round(9)=9
  CHECK(per_class(plan, "val") == std::vector<int64_t>{2, 3});
  int dropped = 0;
  for (const auto& note : plan.notes) dropped += note.find("class dropped") != std::string::npos;
  CHECK(dropped == 2);  // "b" (1 image) and "empty" (0)

  options.max_per_class = 4;
  options.val_pct = 0.0;
  plan = plan_dataset(options);
  CHECK(per_class(plan, "train") == std::vector<int64_t>{4, 4});
  CHECK(find_split(plan, "val") == nullptr);

  // Fewer than two classes left: the input is rejected (exit 3).
  TempDir one;
  make_folder(one.path + "/src", {{"only", 5}, {"tiny", 1}});
  PlanOptions single;
  single.train.path = one.path + "/src";
  CHECK(code_of(single) == ExitCode::data);
}

TEST_CASE("plan: symlink loops are reported and not followed; shared directories scanned once") {
  TempDir tmp;
  make_folder(tmp.path + "/src", {{"a", 3}, {"b", 3}});
  fs::create_directory_symlink("..", tmp.path + "/src/a/up");          // loop to the root
  fs::create_directory_symlink(".", tmp.path + "/src/b/self");         // loop to itself
  fs::create_symlink(tmp.path + "/src/a/l2.png", tmp.path + "/src/a/l1.png");  // file link loop
  fs::create_symlink(tmp.path + "/src/a/l1.png", tmp.path + "/src/a/l2.png");
  fs::create_symlink(tmp.path + "/nowhere.png", tmp.path + "/src/b/broken.png");
  PlanOptions options;
  options.train.path = tmp.path + "/src";
  options.val_pct = 0.0;
  DatasetPlan plan = plan_dataset(options);
  CHECK(per_class(plan, "train") == std::vector<int64_t>{3, 3});
  std::map<std::string, std::string> bad;
  for (const auto& b : plan.bad) bad[fs::path(b.item).filename().string()] = b.reason;
  CHECK(bad["up"].find("symlink loop") != std::string::npos);
  CHECK(bad["self"].find("symlink loop") != std::string::npos);
  CHECK(bad["l1.png"].find("symlink loop") != std::string::npos);
  CHECK(bad["l2.png"].find("symlink loop") != std::string::npos);
  CHECK(bad["broken.png"].find("broken symlink") != std::string::npos);
}

TEST_CASE("plan: text lists with spaces in paths, --folder, labels file, bad lines") {
  TempDir tmp;
  std::ofstream(tmp.path + "/labels.txt") << "red\n\n  green  \nblue\n";
  std::ofstream(tmp.path + "/train.txt") << "# comment\n"
                                         << "dir with space/img 1.png 0\n"
                                         << "/abs/path/x.jpg   2\n"
                                         << "\n"
                                         << "plain.png\t1\r\n"
                                         << "no label here\n"
                                         << "out/of/range.png 3\n"
                                         << "b.png 0\n"
                                         << "c.png 1\n"
                                         << "d.png 2\n";
  PlanOptions options;
  options.train.path = tmp.path + "/train.txt";
  options.labels_file = tmp.path + "/labels.txt";
  options.folder = tmp.path;
  options.val_pct = 0.0;
  options.min_per_class = 1;
  DatasetPlan plan = plan_dataset(options);
  CHECK(plan.class_names == std::vector<std::string>{"red", "green", "blue"});
  std::set<std::string> paths;
  for (const auto& item : plan.splits.at(0).items) paths.insert(item.path);
  CHECK(paths.count(tmp.path + "/dir with space/img 1.png") == 1);
  CHECK(paths.count(tmp.path + "/plain.png") == 1);
  // With --folder, nothing outside it is read: an absolute path elsewhere is a bad line.
  CHECK(paths.count("/abs/path/x.jpg") == 0);
  CHECK(per_class(plan, "train") == std::vector<int64_t>{2, 2, 1});
  REQUIRE(plan.bad.size() == 3);
  CHECK(plan.bad[0].item == tmp.path + "/train.txt:3");
  CHECK(plan.bad[0].reason.find("outside the --folder") != std::string::npos);
  CHECK(plan.bad[1].item == tmp.path + "/train.txt:6");
  CHECK(plan.bad[2].reason.find("label 3 out of range: 3 classes (0..2)") != std::string::npos);

  // A text list without --labels is a usage error; so is --train-labels for a non-IDX source.
  PlanOptions no_labels = options;
  no_labels.labels_file.clear();
  CHECK(code_of(no_labels) == ExitCode::usage);
  PlanOptions stray = options;
  stray.train.labels = tmp.path + "/labels.txt";
  CHECK(code_of(stray) == ExitCode::usage);
}

TEST_CASE("plan: IDX train and test, usage errors") {
  TempDir tmp;
  IdxArray images, labels;
  images.dims = {40, 3, 2};
  images.data.assign(240, 9);
  labels.dims = {40};
  for (int i = 0; i < 40; ++i) labels.data.push_back(static_cast<uint8_t>(i % 4));
  write_idx_file(tmp.path + "/img.gz", images, true);
  write_idx_file(tmp.path + "/lab.gz", labels, true);
  write_idx_file(tmp.path + "/lab_plain", labels, false);
  PlanOptions options;
  options.train = {tmp.path + "/img.gz", tmp.path + "/lab.gz"};
  options.test = {tmp.path + "/img.gz", tmp.path + "/lab_plain"};
  DatasetPlan plan = plan_dataset(options);
  CHECK(plan.class_names == std::vector<std::string>{"0", "1", "2", "3"});
  CHECK(plan.native_width == 2);
  CHECK(plan.native_height == 3);
  CHECK(plan.native_channels == 1);
  CHECK(per_class(plan, "train") == std::vector<int64_t>{8, 8, 8, 8});  // 10 per class: round(7.5) = 8
  CHECK(per_class(plan, "val") == std::vector<int64_t>{2, 2, 2, 2});    // round(2.5) = 3 capped to 10 - 8
  CHECK(per_class(plan, "test") == std::vector<int64_t>{10, 10, 10, 10});
  CHECK(find_split(plan, "train")->items[0].idx != nullptr);

  PlanOptions bad = options;
  bad.train.labels.clear();  // IDX without its labels
  CHECK(code_of(bad) == ExitCode::usage);
  bad = options;
  bad.test_pct = 10;  // with --test given
  CHECK(code_of(bad) == ExitCode::usage);
  bad = options;
  bad.train.path = tmp.path + "/missing";
  CHECK(code_of(bad) == ExitCode::usage);
  bad = options;
  bad.val_pct = 60;
  bad.test.path.clear();
  bad.test.labels.clear();
  bad.test_pct = 40;
  CHECK(code_of(bad) == ExitCode::usage);
  bad = options;
  bad.val_pct = -1;
  CHECK(code_of(bad) == ExitCode::usage);
  // Labels file with fewer classes than the IDX labels use: out-of-range items are bad items.
  std::ofstream(tmp.path + "/names.txt") << "zero\none\ntwo\n";
  PlanOptions named = options;
  named.labels_file = tmp.path + "/names.txt";
  named.test = {};
  DatasetPlan named_plan = plan_dataset(named);
  CHECK(named_plan.class_names.size() == 3);
  CHECK(named_plan.bad.size() == 10);
}

TEST_CASE("--max-bad parsing and limits") {
  BadLimit none;
  CHECK(none.allowed(1000) == INT64_MAX);
  BadLimit count = parse_bad_limit("12");
  CHECK(count.allowed(5) == 12);
  BadLimit pct = parse_bad_limit("2.5%");
  CHECK(pct.allowed(1000) == 25);
  CHECK(pct.allowed(39) == 0);
  CHECK(parse_bad_limit("0").allowed(100) == 0);
  for (const char* wrong : {"", "%", "-1", "1.5", "abc", "5%%", "101%", "3x"})
    CHECK_THROWS_AS(parse_bad_limit(wrong), Error);
}
