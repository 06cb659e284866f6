// digits-infer's library on job directories built by hand: a 4-class network whose weights make
// the class the brightest quadrant of a 4x4 image, so every probability is known in closed form.
// Covers the preprocessing (against hand-computed numbers and against BatchLoader itself),
// classify's top-N and probabilities, the list parser and output formats, evaluate's confusion
// matrix and precision/recall on a hand-written LMDB, top-N selection, and every bad input.
#include <doctest/doctest.h>

#include "temp_dir.h"

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/fs.h"
#include "data/batch_loader.h"
#include "data/datum.h"
#include "data/image.h"
#include "data/lmdb_store.h"
#include "data/transform.h"
#include "infer/classifier.h"
#include "infer/classify.h"
#include "infer/draw.h"
#include "infer/evaluate.h"
#include "infer/preprocess.h"
#include "infer/topn.h"
#include "train/job_dir.h"
#include "train/safetensors.h"

using namespace digits;
namespace fs = std::filesystem;

namespace {

using digits::testing::TempDir;

// The error a call throws: its code and message (code ok when nothing was thrown).
struct Thrown {
  ExitCode code = ExitCode::ok;
  std::string message;
};
template <typename F>
Thrown thrown_by(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return {e.code(), e.what()};
  }
  return {};
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// 4x4 gray image: `bright` quadrant (0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right)
// at `high`, the rest at `low`.
Image quadrant_image(int bright, uint8_t high = 255, uint8_t low = 0) {
  Image image;
  image.width = image.height = 4;
  image.channels = 1;
  image.pixels.resize(16);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x) {
      int q = (y >= 2 ? 2 : 0) + (x >= 2 ? 1 : 0);
      image.pixels[y * 4 + x] = q == bright ? high : low;
    }
  return image;
}

// Weights of the quadrant net: class q sums the 4 pixels of quadrant q.
std::vector<float> quadrant_weights() {
  std::vector<float> w(4 * 16, 0.0f);
  for (int q = 0; q < 4; ++q)
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 4; ++x)
        if ((y >= 2 ? 2 : 0) + (x >= 2 ? 1 : 0) == q) w[q * 16 + y * 4 + x] = 1.0f;
  return w;
}

struct JobOptions {
  bool deploy_softmax = true;  // the deploy net ends with a Softmax layer
  std::string mean = "none";
  int64_t crop = 0;
  double data_scale = 1.0 / 255.0;
  std::vector<std::string> labels = {"top left", "top right", "bottom left", "bottom right"};
  bool write_bias = true;
  Shape weight_shape = {4, 16};
};

const char* const kNetTrainAndDeploy = R"(name: quadrants
input:
  data: [1, 4, 4]
  label: []
layers:
  - {name: fc, type: InnerProduct, num_output: 4}
  - {name: loss, type: SoftmaxWithLoss, bottom: [fc, label]}
  - {name: prob, type: Softmax, bottom: fc, phase: deploy}
)";
const char* const kNetNoSoftmax = R"(name: quadrants_logits
input:
  data: [1, 4, 4]
  label: []
layers:
  - {name: fc, type: InnerProduct, num_output: 4}
  - {name: loss, type: SoftmaxWithLoss, bottom: [fc, label]}
)";

void write_snapshot(const std::string& job, double epoch, int64_t iteration, double val_accuracy,
                    const std::vector<std::pair<std::string, Tensor>>& tensors) {
  std::vector<std::pair<std::string, const Tensor*>> refs;
  for (const auto& [name, t] : tensors) refs.emplace_back(name, &t);
  std::map<std::string, std::string> meta = {{"format", kWeightsFormat},
                                             {"format_version", "1"},
                                             {"epoch", fmt::format("{}", epoch)},
                                             {"iteration", std::to_string(iteration)}};
  if (val_accuracy >= 0) meta["val_accuracy"] = fmt::format("{}", val_accuracy);
  std::string stem = (fs::path(job) / "snapshots" / snapshot_stem(epoch)).string();
  save_safetensors(stem + ".safetensors", refs, meta);
  save_safetensors(stem + ".solverstate.safetensors", {}, {{"format", "digits.solverstate"}});
}

Tensor tensor_of(const Shape& shape, const std::vector<float>& values) {
  Tensor t(shape);
  t.set_data(values);
  return t;
}

// A job dir as digits-train lays it out (train/job_dir.h), with the quadrant network.
std::string make_job(const TempDir& tmp, const JobOptions& o = {}, const std::string& name = "job") {
  std::string job = tmp / name;
  fs::create_directories(fs::path(job) / "snapshots");
  write_file_atomic(job + "/job.yaml", "dataset: none\n");
  write_file_atomic(job + "/network.yaml", o.deploy_softmax ? kNetTrainAndDeploy : kNetNoSoftmax);
  std::string labels;
  for (const auto& l : o.labels) labels += l + "\n";
  write_file_atomic(job + "/labels.txt", labels);
  Preprocess p;
  p.channels = 1;
  p.height = p.width = 4;
  p.mean = o.mean;
  p.crop = o.crop;
  p.data_scale = o.data_scale;
  write_preprocess(job, p);
  if (o.mean != "none") {
    BlobProto mean;
    mean.num = 1;
    mean.channels = 1;
    mean.height = mean.width = 4;
    mean.data.assign(16, 0.0f);
    write_file_atomic(job + "/mean.binaryproto", serialize_blob_proto(mean));
  }
  JobStatus status;
  status.state = "done";
  write_status(job, status);
  std::vector<float> w = quadrant_weights();
  if (o.weight_shape != Shape{4, 16}) w.assign(static_cast<size_t>(shape_count(o.weight_shape)), 0.0f);
  std::vector<std::pair<std::string, Tensor>> tensors;
  tensors.emplace_back("fc.weight", tensor_of(o.weight_shape, w));
  if (o.write_bias) tensors.emplace_back("fc.bias", tensor_of({4}, {0, 0, 0, 0}));
  write_snapshot(job, 1, 10, 0.5, tensors);
  return job;
}

void write_png(const std::string& path, const Image& image) { write_image_file(path, image); }

// p(bright quadrant) for an image whose bright quadrant sums to 4 (after scaling) and others 0.
const double kP4 = std::exp(4.0) / (std::exp(4.0) + 3.0);
const double kP0 = 1.0 / (std::exp(4.0) + 3.0);

}  // namespace

// ---- preprocessing ---------------------------------------------------------------------------

TEST_CASE("preprocess: scale only, gray") {
  Preprocess p;
  p.channels = 1;
  p.height = p.width = 4;
  p.data_scale = 0.5;
  Image image = quadrant_image(1, 200, 10);
  std::vector<float> x = preprocess_image(image, p, {});
  REQUIRE(x.size() == 16);
  CHECK(x[0] == doctest::Approx(5.0));   // (10 - 0) * 0.5
  CHECK(x[3] == doctest::Approx(100.0)); // top-right: (200 - 0) * 0.5
  CHECK(x[15] == doctest::Approx(5.0));
}

TEST_CASE("preprocess: RGB to planar BGR, mean image cropped at the crop's offset, then scale") {
  // 4x4 RGB: R = 10*y + x, G = 100, B = 200 - x. Crop 2 takes rows 1-2, columns 1-2.
  Image image;
  image.width = image.height = 4;
  image.channels = 3;
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x) {
      image.pixels.push_back(static_cast<uint8_t>(10 * y + x));
      image.pixels.push_back(100);
      image.pixels.push_back(static_cast<uint8_t>(200 - x));
    }
  Preprocess p;
  p.channels = 3;
  p.height = p.width = 4;
  p.crop = 2;
  p.mean = "image";
  p.data_scale = 0.5;
  // mean (C, H, W), BGR: channel c at (y, x) = c + 0.25 * (4*y + x)
  std::vector<float> mean(48);
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < 16; ++i) mean[c * 16 + i] = static_cast<float>(c + 0.25 * i);
  std::vector<float> x = preprocess_image(image, p, mean);
  REQUIRE(x.size() == 3 * 2 * 2);
  // Blue plane first: B(1,1) = 199, mean[0][1][1] = 0.25 * 5 = 1.25 -> (199 - 1.25) * 0.5
  CHECK(x[0] == doctest::Approx(98.875));
  // Blue at crop (0,1) = image (1,2): B = 198, mean 0.25 * 6 = 1.5 -> 98.25
  CHECK(x[1] == doctest::Approx(98.25));
  // Green plane, crop (1,0) = image (2,1): G = 100, mean 1 + 0.25 * 9 = 3.25 -> 48.375
  CHECK(x[4 + 2] == doctest::Approx(48.375));
  // Red plane, crop (1,1) = image (2,2): R = 22, mean 2 + 0.25 * 10 = 4.5 -> 8.75
  CHECK(x[8 + 3] == doctest::Approx(8.75));
}

TEST_CASE("preprocess: mean pixel is the per-channel average of the whole mean image") {
  Image image = quadrant_image(0, 100, 100);  // every pixel 100
  Preprocess p;
  p.channels = 1;
  p.height = p.width = 4;
  p.crop = 2;
  p.mean = "pixel";
  p.data_scale = 2.0;
  std::vector<float> mean(16);
  for (int i = 0; i < 16; ++i) mean[i] = static_cast<float>(i);
  mean[0] = 16;  // the whole image averages 8.5; the centre crop's own average would be 7.5
  std::vector<float> x = preprocess_image(image, p, mean);
  REQUIRE(x.size() == 4);
  for (float v : x) CHECK(v == doctest::Approx((100 - 8.5) * 2.0));
}

TEST_CASE("preprocess: another size is resized with the job's resize mode") {
  Image big;
  big.width = 8;
  big.height = 6;
  big.channels = 1;
  for (int i = 0; i < 48; ++i) big.pixels.push_back(static_cast<uint8_t>(i * 5));
  Preprocess p;
  p.channels = 1;
  p.height = p.width = 4;
  for (const char* mode : {"squash", "crop", "fill", "half_crop"}) {
    CAPTURE(mode);
    p.resize_mode = mode;
    Rng rng(7);
    Image expected = resize_image(big, 4, 4, parse_resize_mode(mode), rng);
    std::vector<float> x = preprocess_image(big, p, {}, 7);
    REQUIRE(x.size() == 16);
    for (int i = 0; i < 16; ++i) CHECK(x[i] == static_cast<float>(expected.pixels[i]));
  }
  // The wrong channel count is the caller's mistake, reported as such.
  Image rgb;
  rgb.width = rgb.height = 4;
  rgb.channels = 3;
  rgb.pixels.assign(48, 0);
  CHECK(thrown_by([&] { preprocess_image(rgb, p, {}); }).code == ExitCode::usage);
}

TEST_CASE("preprocess: identical to what BatchLoader feeds validation (same records, same floats)") {
  TempDir tmp;
  // Three 3x5x6 BGR records, mean image, crop 4, scale 0.25.
  const int c = 3, h = 5, w = 6;
  std::vector<Image> images;
  {
    LmdbWriter writer(tmp / "val_db");
    for (int n = 0; n < 3; ++n) {
      Image image;
      image.width = w;
      image.height = h;
      image.channels = c;
      for (int i = 0; i < h * w * c; ++i) image.pixels.push_back(static_cast<uint8_t>((i * 37 + n * 11) % 256));
      Datum d;
      d.channels = c;
      d.height = h;
      d.width = w;
      d.label = n;
      std::vector<uint8_t> planar = to_planar_bgr(image);
      d.data.assign(planar.begin(), planar.end());
      writer.put(fmt::format("{:08d}_{}", n, n), serialize_datum(d));
      images.push_back(image);
    }
    writer.finish();
  }
  std::vector<float> mean(c * h * w);
  for (size_t i = 0; i < mean.size(); ++i) mean[i] = static_cast<float>((i * 13) % 97) + 0.3f;
  for (const char* mode : {"image", "pixel", "none"}) {
    CAPTURE(mode);
    BatchLoaderOptions o;
    o.db_dir = tmp / "val_db";
    o.batch_size = 3;
    o.channels = c;
    o.height = h;
    o.width = w;
    o.crop = 4;
    o.mean_mode = mode;
    o.mean = mean;
    o.scale = 0.25f;
    BatchLoader loader(o);
    loader.start(0, true);
    const Batch& batch = loader.next();
    REQUIRE(batch.count == 3);
    Preprocess p;
    p.channels = c;
    p.height = h;
    p.width = w;
    p.crop = 4;
    p.mean = mode;
    p.data_scale = 0.25;
    for (int n = 0; n < 3; ++n) {
      std::vector<float> x = preprocess_image(images[n], p, mean);
      REQUIRE(x.size() == static_cast<size_t>(c * 4 * 4));
      for (size_t i = 0; i < x.size(); ++i) REQUIRE(x[i] == batch.data[n * x.size() + i]);
    }
    loader.stop();
  }
}

TEST_CASE("transform: the crop or mean that does not fit is a usage error") {
  std::vector<float> mean(16, 0.0f);
  CHECK(thrown_by([&] { make_sample_transform(1, 4, 4, 5, "none", mean, 1.0f); }).code == ExitCode::usage);
  CHECK(thrown_by([&] { make_sample_transform(1, 4, 4, 0, "image", {}, 1.0f); }).code == ExitCode::usage);
  CHECK(thrown_by([&] { make_sample_transform(1, 4, 4, 0, "median", mean, 1.0f); }).code == ExitCode::usage);
}

// ---- classify ---------------------------------------------------------------------------------

TEST_CASE("classify: the brightest quadrant wins with the closed-form softmax probability") {
  TempDir tmp;
  for (bool softmax : {true, false}) {
    CAPTURE(softmax);
    JobOptions o;
    o.deploy_softmax = softmax;
    std::string job = make_job(tmp, o, softmax ? "with_softmax" : "logits_only");
    ClassifierOptions co;
    co.job_dir = job;
    co.batch_size = 3;  // 4 images: one full batch and one padded one
    Classifier classifier(co);
    CHECK(classifier.num_classes() == 4);
    CHECK(classifier.output_name() == (softmax ? "prob" : "fc"));
    CHECK(classifier.snapshot().iteration == 10);
    std::vector<ImageItem> items;
    for (int q : {2, 0, 3, 1}) {
      std::string path = tmp / fmt::format("q{}.png", q);
      write_png(path, quadrant_image(q));
      items.push_back({path, q, path, ""});
    }
    std::vector<std::vector<float>> probs;
    ClassifySummary summary = classify_items(classifier, items, [&](const ItemResult& r) {
      REQUIRE(r.probs != nullptr);
      probs.emplace_back(r.probs, r.probs + 4);
    });
    CHECK(summary.items == 4);
    CHECK(summary.failed == 0);
    CHECK(summary.labelled == 4);
    CHECK(summary.top1_correct == 4);
    CHECK(summary.top5 == 4);
    REQUIRE(probs.size() == 4);
    int expected[4] = {2, 0, 3, 1};
    for (int i = 0; i < 4; ++i)
      for (int c = 0; c < 4; ++c)
        CHECK(probs[i][c] == doctest::Approx(c == expected[i] ? kP4 : kP0).epsilon(1e-5));
  }
}

TEST_CASE("classify: top-N order and ties") {
  float probs[5] = {0.1f, 0.3f, 0.3f, 0.05f, 0.25f};
  CHECK(top_k_indices(probs, 5, 3) == std::vector<int>{1, 2, 4});
  CHECK(top_k_indices(probs, 5, 9) == std::vector<int>{1, 2, 4, 0, 3});
}

TEST_CASE("classify: bad items are reported one by one, the good ones answered") {
  TempDir tmp;
  std::string job = make_job(tmp);
  write_png(tmp / "good1.png", quadrant_image(1));
  write_png(tmp / "good3.png", quadrant_image(3));
  write_file_atomic(tmp / "corrupt.png", std::string("\x89PNG\r\n\x1a\n garbage, not an image"));
  write_file_atomic(tmp / "text.png", "hello");
  write_file_atomic(tmp / "list.txt",
                    "good1.png 1\n"
                    "missing.png 0\n"
                    "\n# a comment\n"
                    "corrupt.png\n"
                    "good3.png 2\n"   // wrong label: counts against accuracy
                    "text.png 1\n"
                    "good1.png 7\n");  // label out of range
  ClassifierOptions co;
  co.job_dir = job;
  co.batch_size = 4;
  Classifier classifier(co);
  std::vector<ImageItem> items = read_image_list(tmp / "list.txt", tmp.path, 4);
  REQUIRE(items.size() == 6);
  std::vector<std::string> answered, errors;
  ClassifySummary summary = classify_items(classifier, items, [&](const ItemResult& r) {
    if (r.probs)
      answered.push_back(fs::path(r.item->path).filename().string());
    else
      errors.push_back(r.error);
  });
  CHECK(answered == std::vector<std::string>{"good1.png", "good3.png"});
  REQUIRE(errors.size() == 4);
  CHECK(contains(errors[0], "list.txt:2: "));
  CHECK(contains(errors[0], "missing.png"));
  CHECK(contains(errors[1], "list.txt:5: "));
  CHECK(contains(errors[1], "corrupt.png"));
  CHECK(contains(errors[2], "text.png"));
  CHECK(contains(errors[3], "list.txt:8: good1.png: label 7 out of range (the job has 4 classes"));
  CHECK(summary.items == 6);
  CHECK(summary.failed == 4);
  CHECK(summary.labelled == 2);
  CHECK(summary.top1_correct == 1);
  CHECK(summary.top5_correct == 2);  // top-4 of 4 classes always holds the label
  CHECK(accuracy_summary(summary) ==
        "top-1 accuracy 0.5000 (1/2), top-4 accuracy 1.0000 (2/2) over 2 labelled image(s)");
}

TEST_CASE("image lists: DIGITS's PATH [LABEL] lines, folders, stdin") {
  std::istringstream list(
      "a.png 3\n"
      "  dir with space/b c.png   1  \n"
      "/abs/x.png\n"
      "name2\n"
      "#skip 1\n"
      "\n"
      "9\n");
  std::vector<ImageItem> items = parse_image_list(list, "l.txt", "/root", 5);
  REQUIRE(items.size() == 5);
  CHECK(items[0].path == "/root/a.png");
  CHECK(items[0].label == 3);
  CHECK(items[0].origin == "l.txt:1");
  CHECK(items[1].path == "/root/dir with space/b c.png");
  CHECK(items[1].label == 1);
  CHECK(items[2].path == "/abs/x.png");
  CHECK(items[2].label == -1);
  CHECK(items[3].path == "/root/name2");  // no whitespace before the digit: part of the name
  CHECK(items[3].label == -1);
  CHECK(items[4].path == "/root/9");      // a lone number is a path
  CHECK(items[4].origin == "l.txt:7");
  // 0 classes: labels are read past and not used (topn), whatever their value.
  std::istringstream labelled("a.png 12\nb.png 99999999999\n");
  std::vector<ImageItem> unchecked = parse_image_list(labelled, "l.txt", "", 0);
  REQUIRE(unchecked.size() == 2);
  CHECK(unchecked[0].path == "a.png");
  CHECK(unchecked[0].label == -1);
  CHECK(unchecked[0].problem.empty());
  CHECK(unchecked[1].path == "b.png");
  CHECK(unchecked[1].problem.empty());

  TempDir tmp;
  fs::create_directories(tmp / "imgs/sub");
  write_png(tmp / "imgs/sub/b.png", quadrant_image(0));
  write_png(tmp / "imgs/a.png", quadrant_image(0));
  write_file_atomic(tmp / "imgs/notes.txt", "not an image");
  std::istringstream stdin_list("from_stdin.png 2\n");
  std::vector<ImageItem> args =
      collect_image_items({tmp / "one.png", tmp / "imgs", "-"}, stdin_list, 4);
  REQUIRE(args.size() == 4);
  CHECK(args[0].path == tmp / "one.png");
  CHECK(args[1].path == tmp / "imgs/a.png");
  CHECK(args[2].path == tmp / "imgs/sub/b.png");
  CHECK(args[3].path == "from_stdin.png");
  CHECK(args[3].label == 2);
  CHECK(args[3].origin == "<stdin>:1");
  CHECK(thrown_by([&] { read_image_list(tmp / "nope.txt", "", 4); }).code == ExitCode::usage);
}

TEST_CASE("output formats: table, csv, jsonl") {
  std::vector<std::string> labels = {"cat", "dog, big", "bird"};
  float probs[3] = {0.25f, 0.70f, 0.05f};
  ImageItem with_label{"img 1.png", 0, "img 1.png", ""};
  ImageItem no_label{"x.png", -1, "x.png", ""};
  ItemResult a{&with_label, probs, ""}, b{&no_label, probs, ""};

  ResultFormatter table(ResultFormat::table, labels, 2, true);
  CHECK(table.header() == "");
  CHECK(table.line(a) == "img 1.png  [cat]  dog, big (70.00%)  cat (25.00%)\n");
  CHECK(table.line(b) == "x.png  [-]  dog, big (70.00%)  cat (25.00%)\n");
  ResultFormatter plain(ResultFormat::table, labels, 1, false);
  CHECK(plain.line(b) == "x.png  dog, big (70.00%)\n");

  ResultFormatter csv(ResultFormat::csv, labels, 2, true);
  CHECK(csv.header() == "image,label,class_1,probability_1,class_2,probability_2\n");
  CHECK(csv.line(a) == "img 1.png,cat,\"dog, big\",0.700000,cat,0.250000\n");
  CHECK(csv.line(b) == "x.png,,\"dog, big\",0.700000,cat,0.250000\n");
  ResultFormatter csv_many(ResultFormat::csv, labels, 10, false);  // clamped to 3 classes
  CHECK(csv_many.header() == "image,class_1,probability_1,class_2,probability_2,class_3,probability_3\n");

  ResultFormatter jsonl(ResultFormat::jsonl, labels, 1, true);
  CHECK(jsonl.line(a) ==
        "{\"image\":\"img 1.png\",\"label\":0,\"label_name\":\"cat\",\"top\":[{\"class\":\"dog, "
        "big\",\"index\":1,\"probability\":0.7}]}\n");
  CHECK(jsonl.line(b) ==
        "{\"image\":\"x.png\",\"top\":[{\"class\":\"dog, big\",\"index\":1,\"probability\":0.7}]}\n");
  CHECK(thrown_by([] { parse_result_format("xml"); }).message == "--format xml: expected table, csv or jsonl");
}

// ---- bad jobs -----------------------------------------------------------------------------------

TEST_CASE("bad jobs: not a job dir, no such snapshot, weights that do not fit, broken files") {
  TempDir tmp;
  ClassifierOptions co;

  co.job_dir = tmp / "nowhere";
  Thrown t = thrown_by([&] { Classifier c(co); });
  CHECK(t.code == ExitCode::usage);
  CHECK(contains(t.message, "no such directory"));

  fs::create_directories(tmp / "plain");
  co.job_dir = tmp / "plain";
  t = thrown_by([&] { Classifier c(co); });
  CHECK(t.code == ExitCode::usage);
  CHECK(contains(t.message, "not a job directory"));

  co.job_dir = make_job(tmp);
  co.snapshot = "7";
  t = thrown_by([&] { Classifier c(co); });
  CHECK(t.code == ExitCode::usage);
  CHECK(contains(t.message, "no snapshot at epoch 7 (available: 1, last, best)"));
  co.snapshot = "1";
  CHECK(thrown_by([&] { Classifier c(co); }).code == ExitCode::ok);
  co.snapshot = "best";
  CHECK(thrown_by([&] { Classifier c(co); }).code == ExitCode::ok);

  // A missing tensor and a shape mismatch: both named in one error.
  JobOptions bad;
  bad.write_bias = false;
  bad.weight_shape = {4, 9};
  co.job_dir = make_job(tmp, bad, "mismatch");
  co.snapshot = "last";
  t = thrown_by([&] { Classifier c(co); });
  CHECK(t.code == ExitCode::data);
  CHECK(contains(t.message, "epoch_1.safetensors: does not match network quadrants (2 problem(s))"));
  CHECK(contains(t.message, "tensor fc.weight has shape [4,9], the network needs [4,16]"));
  CHECK(contains(t.message, "tensor fc.bias is missing"));

  // Extra tensors are a warning, not an error.
  std::string extra = make_job(tmp, {}, "extra");
  write_snapshot(extra, 2, 20, -1,
                 [] {
                   std::vector<std::pair<std::string, Tensor>> v;
                   v.emplace_back("fc.weight", tensor_of({4, 16}, quadrant_weights()));
                   v.emplace_back("fc.bias", tensor_of({4}, {0, 0, 0, 0}));
                   v.emplace_back("old.weight", tensor_of({1}, {1}));
                   return v;
                 }());
  co.job_dir = extra;
  {
    Classifier c(co);
    CHECK(c.snapshot().iteration == 20);
    REQUIRE(c.notes().size() == 1);
    CHECK(contains(c.notes()[0], "1 tensor(s) not used by the network: old.weight"));
  }

  // No snapshot yet.
  std::string empty = make_job(tmp, {}, "empty");
  fs::remove_all(fs::path(empty) / "snapshots");
  co.job_dir = empty;
  t = thrown_by([&] { Classifier c(co); });
  CHECK(t.code == ExitCode::usage);
  CHECK(contains(t.message, "no snapshot yet"));

  // labels.txt disagreeing with the network's output.
  JobOptions three;
  three.labels = {"a", "b", "c"};
  co.job_dir = make_job(tmp, three, "three");
  t = thrown_by([&] { Classifier c(co); });
  CHECK(t.code == ExitCode::data);
  CHECK(contains(t.message, "output `prob` is [64,4] per batch, but"));
  CHECK(contains(t.message, "names 3 classes"));

  // Incomplete job dirs: the missing file is named.
  for (const char* file : {"network.yaml", "labels.txt", "preprocess.yaml"}) {
    CAPTURE(file);
    std::string job = make_job(tmp, {}, std::string("no_") + file);
    fs::remove(fs::path(job) / file);
    co.job_dir = job;
    t = thrown_by([&] { Classifier c(co); });
    CHECK(t.code == ExitCode::data);
    CHECK(contains(t.message, std::string(file) + ": missing"));
  }
  JobOptions with_mean;
  with_mean.mean = "image";
  std::string no_mean = make_job(tmp, with_mean, "no_mean");
  fs::remove(fs::path(no_mean) / "mean.binaryproto");
  co.job_dir = no_mean;
  t = thrown_by([&] { Classifier c(co); });
  CHECK(t.code == ExitCode::data);
  CHECK(contains(t.message, "mean.binaryproto: missing, but preprocess.yaml says mean: image"));

  // A corrupt weights file.
  std::string corrupt = make_job(tmp, {}, "corrupt");
  write_file_atomic(corrupt + "/snapshots/epoch_1.safetensors",
                    std::string("\x08\0\0\0\0\0\0\0{bad jso", 16));
  co.job_dir = corrupt;
  CHECK(thrown_by([&] { Classifier c(co); }).code == ExitCode::data);

  co.job_dir = make_job(tmp, {}, "batch");
  co.batch_size = 0;
  CHECK(thrown_by([&] { Classifier c(co); }).code == ExitCode::usage);
}

// ---- evaluate ---------------------------------------------------------------------------------

namespace {

// A dataset dir (labels.txt, train_db, val_db) of 4x4 gray quadrant records.
// val records: (bright quadrant, label) pairs.
std::string make_dataset(const TempDir& tmp, const std::vector<std::pair<int, int>>& val) {
  std::string dir = tmp / "dataset";
  fs::create_directories(dir);
  write_file_atomic(dir + "/labels.txt", "top left\ntop right\nbottom left\nbottom right\n");
  auto write_db = [&](const std::string& name, const std::vector<std::pair<int, int>>& records) {
    LmdbWriter writer(dir + "/" + name);
    for (size_t i = 0; i < records.size(); ++i) {
      Image image = quadrant_image(records[i].first);
      Datum d;
      d.channels = 1;
      d.height = d.width = 4;
      d.label = records[i].second;
      d.data.assign(image.pixels.begin(), image.pixels.end());
      writer.put(fmt::format("{:08d}_{}", i, d.label), serialize_datum(d));
    }
    writer.finish();
  };
  write_db("train_db", {{0, 0}, {1, 1}});
  write_db("val_db", val);
  return dir;
}

}  // namespace

TEST_CASE("evaluate: confusion matrix, accuracy, per-class precision and recall") {
  TempDir tmp;
  // Predictions follow the bright quadrant. True -> predicted:
  //   class 0: 0, 0, 1   class 1: 1   class 2: 3, 3   class 3: 3   (7 records, batch of 3)
  std::vector<std::pair<int, int>> val = {{0, 0}, {0, 0}, {1, 0}, {1, 1}, {3, 2}, {3, 2}, {3, 3}};
  EvaluateOptions o;
  o.classifier.job_dir = make_job(tmp);
  o.classifier.batch_size = 3;
  o.dataset = make_dataset(tmp, val);
  Evaluation e = evaluate(o);
  CHECK(e.count == 7);
  CHECK(e.top1_correct == 4);
  CHECK(e.accuracy() == doctest::Approx(4.0 / 7));
  CHECK(e.top_k == 4);
  CHECK(e.topk_accuracy() == doctest::Approx(1.0));
  std::vector<std::vector<int64_t>> expected = {{2, 1, 0, 0}, {0, 1, 0, 0}, {0, 0, 0, 2}, {0, 0, 0, 1}};
  CHECK(e.confusion == expected);
  CHECK(e.precision(0) == doctest::Approx(1.0));
  CHECK(e.recall(0) == doctest::Approx(2.0 / 3));
  CHECK(e.precision(1) == doctest::Approx(0.5));
  CHECK(e.recall(1) == doctest::Approx(1.0));
  CHECK(std::isnan(e.precision(2)));  // never predicted
  CHECK(e.recall(2) == doctest::Approx(0.0));
  CHECK(e.precision(3) == doctest::Approx(1.0 / 3));
  CHECK(e.recall(3) == doctest::Approx(1.0));
  CHECK(e.support(2) == 2);
  CHECK(e.predicted(3) == 3);
  CHECK(e.notes.empty());

  std::string text = evaluation_text(e);
  CHECK(contains(text, "accuracy (top-1): 0.5714 (4/7)\n"));
  CHECK(contains(text, "accuracy (top-4): 1.0000 (7/7)\n"));
  CHECK(contains(text, "    2  bottom left         n/a     0.0000          2\n"));
  CHECK(contains(text, "confusion matrix (rows: true class, columns: predicted class)\n"
                       "      0 1 2 3\n"
                       "    0 2 1 0 0\n"
                       "    1 0 1 0 0\n"
                       "    2 0 0 0 2\n"
                       "    3 0 0 0 1\n"));
  std::string json = evaluation_json(e);
  CHECK(contains(json, "\"count\": 7"));
  CHECK(contains(json, "\"precision\": null"));
  CHECK(contains(json, "\"name\": \"bottom left\""));

  Image plot = confusion_matrix_image(e);
  CHECK(plot.channels == 3);
  // 4 classes: 40-pixel cells with numbers; the (3, 3) cell is fully dark blue (row fraction 1),
  // the (1, 0) cell white.
  const int64_t cell = 40;
  const int64_t left = plot.width - 4 * cell - 4, top = plot.height - 4 * cell - 4;
  auto pixel = [&](int64_t x, int64_t y) {
    const uint8_t* p = plot.pixels.data() + (y * plot.width + x) * 3;
    return std::vector<int>{p[0], p[1], p[2]};
  };
  CHECK(pixel(left + 3 * cell + 20, top + 3 * cell + 20) == std::vector<int>{8, 48, 107});
  CHECK(pixel(left + 0 * cell + 20, top + 1 * cell + 20) == std::vector<int>{255, 255, 255});

  // The test split does not exist; another record shape; another class count.
  o.split = "test";
  Thrown t = thrown_by([&] { evaluate(o); });
  CHECK(t.code == ExitCode::usage);
  CHECK(contains(t.message, "has no test split (it has: train, val)"));
}

TEST_CASE("evaluate: a dataset that does not fit the job is rejected") {
  TempDir tmp;
  EvaluateOptions o;
  o.dataset = make_dataset(tmp, {{0, 0}});
  o.classifier.job_dir = make_job(tmp);
  write_file_atomic(o.dataset + "/labels.txt", "a\nb\nc\n");
  Thrown t = thrown_by([&] { evaluate(o); });
  CHECK(t.code == ExitCode::data);
  CHECK(contains(t.message, "has 3 classes, job"));
  write_file_atomic(o.dataset + "/labels.txt", "tl\ntop right\nbottom left\nbottom right\n");
  Evaluation e = evaluate(o);
  REQUIRE(e.notes.size() == 1);
  CHECK(e.notes[0] == "class 0 is \"tl\" in the dataset, \"top left\" in the job");
}

// ---- top-N --------------------------------------------------------------------------------------

TEST_CASE("topn: the n best per class, best first, earlier items winning ties") {
  TopNCollector collector(2, 2);
  float a[2] = {0.9f, 0.1f}, b[2] = {0.5f, 0.5f}, c[2] = {0.9f, 0.1f}, d[2] = {0.2f, 0.8f};
  collector.add(0, a);
  collector.add(1, b);
  collector.add(2, c);
  collector.add(3, d);
  const auto& best = collector.per_class();
  REQUIRE(best[0].size() == 2);
  CHECK(best[0][0].item == 0);
  CHECK(best[0][1].item == 2);
  REQUIRE(best[1].size() == 2);
  CHECK(best[1][0].item == 3);
  CHECK(best[1][1].item == 1);
}

TEST_CASE("topn: grid of one row per class from the job's classifier") {
  TempDir tmp;
  ClassifierOptions co;
  co.job_dir = make_job(tmp);
  Classifier classifier(co);
  std::vector<ImageItem> items;
  for (int q : {0, 0, 1, 3}) {
    std::string path = tmp / fmt::format("img{}.png", items.size());
    write_png(path, quadrant_image(q, static_cast<uint8_t>(200 + items.size())));
    items.push_back({path, -1, path, ""});
  }
  TopNCollector collector(4, 2);
  classify_items(classifier, items, [&](const ItemResult& r) { collector.add(r.item - items.data(), r.probs); });
  const auto& best = collector.per_class();
  CHECK(best[0][0].item == 1);  // brighter (201) than item 0 (200)
  CHECK(best[0][1].item == 0);
  Image grid = topn_grid(classifier, items, best, 2);
  // 4 rows of 4-pixel tiles with 2-pixel gaps; a label column for one digit.
  CHECK(grid.height == 4 * (4 + 2) + 2);
  CHECK(grid.width == (3 + 4) + 2 * (4 + 2) + 2);
  // Row 0, first tile: item 1's top-left pixel is its bright value.
  CHECK(grid.pixels[(2 * grid.width + 7) * 3] == 201);
  std::string listing = topn_listing(classifier, items, best);
  CHECK(contains(listing, fmt::format("0\ttop left\t1\t{:.6f}\t{}\n", best[0][0].probability, items[1].path)));
}

TEST_CASE("draw: class numbers in the 3x5 digit font, clipped to the canvas") {
  Image canvas = make_canvas(8, 6, Rgb{0, 0, 0});
  draw_number(canvas, 0, 0, 10, 1, Rgb{255, 255, 255});
  CHECK(number_length(10, 1) == 7);
  CHECK(number_length(10, 2, true) == 22);
  std::string rows;
  for (int y = 0; y < 6; ++y) {
    for (int x = 0; x < 8; ++x) rows += canvas.pixels[(y * 8 + x) * 3] ? '#' : '.';
    rows += '\n';
  }
  CHECK(rows ==
        ".#..###.\n"
        "##..#.#.\n"
        ".#..#.#.\n"
        ".#..#.#.\n"
        "###.###.\n"
        "........\n");
  draw_number(canvas, 6, 4, 8, 2, Rgb{1, 2, 3});  // mostly outside: clipped, no crash
  CHECK(canvas.pixels[(4 * 8 + 6) * 3 + 2] == 3);
}
