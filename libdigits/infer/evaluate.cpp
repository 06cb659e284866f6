#include "infer/evaluate.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "data/batch_loader.h"
#include "infer/draw.h"
#include "infer/preprocess.h"

namespace digits {

Evaluation::Evaluation(std::vector<std::string> class_names) : labels(std::move(class_names)) {
  const size_t k = labels.size();
  top_k = std::min<int64_t>(5, static_cast<int64_t>(k));
  confusion.assign(k, std::vector<int64_t>(k, 0));
}

void Evaluation::add(int true_class, const float* probs) {
  const int64_t k = static_cast<int64_t>(labels.size());
  DIGITS_CHECK(true_class >= 0 && true_class < k, "class {} of {}", true_class, k);
  std::vector<int> top = top_k_indices(probs, k, top_k);
  ++count;
  ++confusion[true_class][top[0]];
  top1_correct += top[0] == true_class;
  topk_correct += std::find(top.begin(), top.end(), true_class) != top.end();
}

double Evaluation::accuracy() const {
  return count > 0 ? static_cast<double>(top1_correct) / count : 0.0;
}
double Evaluation::topk_accuracy() const {
  return count > 0 ? static_cast<double>(topk_correct) / count : 0.0;
}
int64_t Evaluation::support(int c) const {
  int64_t total = 0;
  for (int64_t v : confusion[c]) total += v;
  return total;
}
int64_t Evaluation::predicted(int c) const {
  int64_t total = 0;
  for (const auto& row : confusion) total += row[c];
  return total;
}
double Evaluation::precision(int c) const {
  int64_t p = predicted(c);
  return p > 0 ? static_cast<double>(confusion[c][c]) / p
               : std::numeric_limits<double>::quiet_NaN();
}
double Evaluation::recall(int c) const {
  int64_t s = support(c);
  return s > 0 ? static_cast<double>(confusion[c][c]) / s
               : std::numeric_limits<double>::quiet_NaN();
}

Evaluation evaluate(const EvaluateOptions& options) {
  // The dataset first: a wrong path or split is the cheapest mistake to report.
  DatasetView view = open_dataset_view(options.dataset);
  if (!view.has_split(options.split)) {
    std::string have;
    for (const char* s : {"train", "val", "test"})
      if (view.has_split(s)) have += (have.empty() ? "" : ", ") + std::string(s);
    fail_usage("dataset {} has no {} split (it has: {})", options.dataset, options.split, have);
  }
  Classifier classifier(options.classifier);
  const Preprocess& pre = classifier.preprocess();
  if (view.channels != pre.channels || view.height != pre.height || view.width != pre.width)
    fail_data("dataset {}: records are {}x{}x{} (channels x height x width), job {} was trained on "
              "{}x{}x{}",
              options.dataset, view.channels, view.height, view.width, options.classifier.job_dir,
              pre.channels, pre.height, pre.width);
  if (view.labels.size() != classifier.labels().size())
    fail_data("dataset {} has {} classes, job {} has {}", options.dataset, view.labels.size(),
              options.classifier.job_dir, classifier.labels().size());

  Evaluation result(classifier.labels());
  result.job_dir = options.classifier.job_dir;
  result.weights = classifier.snapshot().weights;
  result.dataset = options.dataset;
  result.split = options.split;
  result.notes = classifier.notes();
  for (size_t c = 0; c < view.labels.size(); ++c)
    if (view.labels[c] != classifier.labels()[c])
      result.notes.push_back(fmt::format("class {} is \"{}\" in the dataset, \"{}\" in the job", c,
                                         view.labels[c], classifier.labels()[c]));

  // Validation's transforms: the job's mean and scale, centre crop, no mirror, one pass in order.
  BatchLoaderOptions loader_options;
  loader_options.db_dir = view.db_path(options.split);
  loader_options.batch_size = classifier.batch_size();
  loader_options.channels = pre.channels;
  loader_options.height = pre.height;
  loader_options.width = pre.width;
  loader_options.crop = pre.crop;
  loader_options.mean_mode = pre.mean;
  loader_options.mean = classifier.mean();
  loader_options.scale = static_cast<float>(pre.data_scale);
  BatchLoader loader(loader_options);
  loader.start(0, /*one_pass=*/true);
  const int64_t k = classifier.num_classes();
  for (;;) {
    const Batch& batch = loader.next();
    if (batch.count == 0) break;
    std::vector<float> probs = classifier.classify_batch(batch.data.data(), batch.count);
    for (int64_t i = 0; i < batch.count; ++i) {
      const float label = batch.labels[i];
      if (label < 0 || label >= static_cast<float>(k))
        fail_data("{}: record {} has label {}, the job has {} classes", loader_options.db_dir,
                  batch.index * loader_options.batch_size + i, label, k);
      result.add(static_cast<int>(label), probs.data() + i * k);
    }
    if (batch.count < loader_options.batch_size) break;
  }
  loader.stop();
  return result;
}

namespace {

std::string ratio_text(double value) { return std::isnan(value) ? "n/a" : fmt::format("{:.4f}", value); }

}  // namespace

std::string evaluation_text(const Evaluation& e) {
  const int k = static_cast<int>(e.labels.size());
  std::string out;
  if (!e.job_dir.empty())
    out += fmt::format("job {} weights {}\ndataset {} split {}: {} images\n", e.job_dir, e.weights,
                       e.dataset, e.split, e.count);
  out += fmt::format("accuracy (top-1): {:.4f} ({}/{})\n", e.accuracy(), e.top1_correct, e.count);
  out += fmt::format("accuracy (top-{}): {:.4f} ({}/{})\n\n", e.top_k, e.topk_accuracy(),
                     e.topk_correct, e.count);
  size_t name_width = 5;
  for (const auto& name : e.labels) name_width = std::max(name_width, name.size());
  out += fmt::format("{:>5}  {:<{}}  {:>9}  {:>9}  {:>9}\n", "class", "name", name_width,
                     "precision", "recall", "support");
  for (int c = 0; c < k; ++c)
    out += fmt::format("{:>5}  {:<{}}  {:>9}  {:>9}  {:>9}\n", c, e.labels[c], name_width,
                       ratio_text(e.precision(c)), ratio_text(e.recall(c)), e.support(c));
  // Column width: the widest count, at least the widest class number.
  int64_t widest = std::max<int64_t>(1, k - 1);
  for (const auto& row : e.confusion)
    for (int64_t v : row) widest = std::max(widest, v);
  const size_t w = std::to_string(widest).size();
  out += "\nconfusion matrix (rows: true class, columns: predicted class)\n";
  out += fmt::format("{:>5}", "");
  for (int c = 0; c < k; ++c) out += fmt::format(" {:>{}}", c, w);
  out += "\n";
  for (int r = 0; r < k; ++r) {
    out += fmt::format("{:>5}", r);
    for (int c = 0; c < k; ++c) out += fmt::format(" {:>{}}", e.confusion[r][c], w);
    out += "\n";
  }
  return out;
}

std::string evaluation_json(const Evaluation& e) {
  nlohmann::ordered_json j;
  j["job"] = e.job_dir;
  j["weights"] = e.weights;
  j["dataset"] = e.dataset;
  j["split"] = e.split;
  j["count"] = e.count;
  j["accuracy"] = e.accuracy();
  j["top_k"] = e.top_k;
  j["top_k_accuracy"] = e.topk_accuracy();
  j["classes"] = nlohmann::ordered_json::array();
  auto number_or_null = [](double v) {
    return std::isnan(v) ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(v);
  };
  for (int c = 0; c < static_cast<int>(e.labels.size()); ++c)
    j["classes"].push_back({{"index", c},
                            {"name", e.labels[c]},
                            {"precision", number_or_null(e.precision(c))},
                            {"recall", number_or_null(e.recall(c))},
                            {"support", e.support(c)},
                            {"predicted", e.predicted(c)}});
  j["confusion"] = e.confusion;
  j["notes"] = e.notes;
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

Image confusion_matrix_image(const Evaluation& e) {
  const int64_t k = std::max<int64_t>(1, static_cast<int64_t>(e.labels.size()));
  // Cells shrink as classes grow, keeping the picture near 512 pixels (one pixel at worst).
  const int64_t cell = std::clamp<int64_t>(512 / k, 1, 40);
  const bool numbers = cell >= 8;
  const int64_t scale = cell >= 24 ? 2 : 1;
  const int64_t pad = 4;
  const int64_t left = numbers ? number_length(k - 1, scale) + 2 * pad : pad;
  const int64_t top = numbers ? number_length(k - 1, scale, true) + 2 * pad : pad;
  const Rgb white = {255, 255, 255}, ink = {40, 40, 40}, grid = {200, 200, 200};
  Image canvas = make_canvas(left + k * cell + pad, top + k * cell + pad, white);
  for (int64_t r = 0; r < k && r < static_cast<int64_t>(e.confusion.size()); ++r) {
    const int64_t row_total = e.support(static_cast<int>(r));
    for (int64_t c = 0; c < k; ++c) {
      const double f = row_total > 0 ? static_cast<double>(e.confusion[r][c]) / row_total : 0.0;
      // White to dark blue (8, 48, 107), linear in the row fraction.
      auto mix = [f](int to) { return static_cast<uint8_t>(std::lround(255 + f * (to - 255))); };
      const Rgb colour = {mix(8), mix(48), mix(107)};
      fill_rect(canvas, left + c * cell, top + r * cell, cell, cell, colour);
      if (cell >= 4) {  // hairlines between cells
        fill_rect(canvas, left + c * cell, top + r * cell, cell, 1, grid);
        fill_rect(canvas, left + c * cell, top + r * cell, 1, cell, grid);
      }
    }
  }
  if (numbers)
    for (int64_t i = 0; i < k; ++i) {
      const int64_t text_h = 5 * scale, text_w = 3 * scale;
      draw_number(canvas, left - pad - number_length(i, scale), top + i * cell + (cell - text_h) / 2,
                  i, scale, ink);
      draw_number(canvas, left + i * cell + (cell - text_w) / 2,
                  top - pad - number_length(i, scale, true), i, scale, ink, true);
    }
  return canvas;
}

}  // namespace digits
