#include "infer/classify.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "data/dataset_sources.h"
#include "infer/preprocess.h"

namespace digits {

namespace fs = std::filesystem;

namespace {

std::string trim(const std::string& s) {
  size_t begin = 0, end = s.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(s[begin]))) ++begin;
  while (end > begin && std::isspace(static_cast<unsigned char>(s[end - 1]))) --end;
  return s.substr(begin, end - begin);
}

// Splits "PATH LABEL" (DIGITS: `(.*\S)\s+(\d+)$`); false when the line has no trailing label.
bool split_label(const std::string& line, std::string* path, std::string* label) {
  size_t end = line.size();
  size_t digits_begin = end;
  while (digits_begin > 0 && std::isdigit(static_cast<unsigned char>(line[digits_begin - 1])))
    --digits_begin;
  if (digits_begin == end || digits_begin == 0) return false;
  size_t space_begin = digits_begin;
  while (space_begin > 0 && std::isspace(static_cast<unsigned char>(line[space_begin - 1])))
    --space_begin;
  if (space_begin == digits_begin || space_begin == 0) return false;
  *path = line.substr(0, space_begin);
  *label = line.substr(digits_begin);
  return true;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::vector<ImageItem> parse_image_list(std::istream& in, const std::string& origin,
                                        const std::string& folder, int64_t num_classes) {
  std::vector<ImageItem> items;
  int64_t line_number = 0;
  for (std::string raw; std::getline(in, raw);) {
    ++line_number;
    std::string line = trim(raw);
    if (line.empty() || line[0] == '#') continue;
    ImageItem item;
    item.origin = fmt::format("{}:{}", origin, line_number);
    std::string path = line, label;
    if (split_label(line, &path, &label)) {
      // Digits only, so the sole failure is overflow. num_classes 0: the label is not used.
      if (num_classes <= 0)
        ;
      else if (label.size() > 9 || std::stoll(label) >= num_classes)
        item.problem = fmt::format("{}: label {} out of range (the job has {} classes: 0 to {})",
                                   path, label, num_classes, num_classes - 1);
      else
        item.label = static_cast<int32_t>(std::stoll(label));
    }
    item.path = !folder.empty() && fs::path(path).is_relative()
                    ? (fs::path(folder) / path).string()
                    : path;
    items.push_back(std::move(item));
  }
  return items;
}

std::vector<ImageItem> read_image_list(const std::string& path, const std::string& folder,
                                       int64_t num_classes) {
  if (fs::is_directory(path)) fail_usage("--list {}: is a directory (pass it as an argument)", path);
  std::ifstream in(path);
  if (!in) fail_usage("--list {}: cannot open", path);
  return parse_image_list(in, path, folder, num_classes);
}

std::vector<ImageItem> list_image_folder(const std::string& dir) {
  std::vector<std::string> files;
  std::error_code ec;
  auto options = fs::directory_options::follow_directory_symlink |
                 fs::directory_options::skip_permission_denied;
  for (fs::recursive_directory_iterator it(dir, options, ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it->is_regular_file(ec) && has_image_extension(it->path().filename().string()))
      files.push_back(it->path().string());
  }
  if (ec) fail_runtime("{}: cannot list: {}", dir, ec.message());
  std::sort(files.begin(), files.end());
  std::vector<ImageItem> items;
  for (auto& f : files) {
    ImageItem item;
    item.path = item.origin = f;
    items.push_back(std::move(item));
  }
  return items;
}

std::vector<ImageItem> collect_image_items(const std::vector<std::string>& args,
                                           std::istream& stdin_list, int64_t num_classes) {
  std::vector<ImageItem> items;
  for (const auto& arg : args) {
    std::vector<ImageItem> more;
    if (arg == "-") {
      more = parse_image_list(stdin_list, "<stdin>", "", num_classes);
    } else if (fs::is_directory(arg)) {
      more = list_image_folder(arg);
    } else {
      ImageItem item;
      item.path = item.origin = arg;
      more.push_back(std::move(item));
    }
    items.insert(items.end(), std::make_move_iterator(more.begin()),
                 std::make_move_iterator(more.end()));
  }
  return items;
}

ClassifySummary classify_items(Classifier& classifier, const std::vector<ImageItem>& items,
                               const std::function<void(const ItemResult&)>& on_result) {
  ClassifySummary summary;
  const int64_t k = classifier.num_classes();
  const int64_t batch = classifier.batch_size();
  const int64_t sample = classifier.sample_size();
  summary.top5 = std::min<int64_t>(5, k);
  std::vector<float> inputs(static_cast<size_t>(batch * sample));  // (batch, C, H, W)
  std::vector<std::string> errors(static_cast<size_t>(batch));
  std::vector<int64_t> good;  // positions in the current chunk that preprocessed

  for (size_t first = 0; first < items.size(); first += static_cast<size_t>(batch)) {
    const int64_t n = std::min<int64_t>(batch, static_cast<int64_t>(items.size() - first));
    // Decode and preprocess in parallel; each image writes its own slot.
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t i = 0; i < n; ++i) {
      const ImageItem& item = items[first + i];
      errors[i].clear();
      if (!item.problem.empty()) {
        errors[i] = item.problem;
        continue;
      }
      try {
        std::vector<float> x =
            preprocess_image_file(item.path, classifier.preprocess(), classifier.mean());
        std::copy(x.begin(), x.end(), inputs.begin() + i * sample);
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    }
    // Pack the good ones to the front, run them, answer everything in order.
    good.clear();
    for (int64_t i = 0; i < n; ++i)
      if (errors[i].empty()) {
        if (static_cast<int64_t>(good.size()) != i)
          std::copy(inputs.begin() + i * sample, inputs.begin() + (i + 1) * sample,
                    inputs.begin() + static_cast<int64_t>(good.size()) * sample);
        good.push_back(i);
      }
    std::vector<float> probs;
    if (!good.empty()) probs = classifier.classify_batch(inputs.data(), static_cast<int64_t>(good.size()));
    size_t next_good = 0;
    for (int64_t i = 0; i < n; ++i) {
      const ImageItem& item = items[first + i];
      ItemResult result;
      result.item = &item;
      ++summary.items;
      if (!errors[i].empty()) {
        result.error = errors[i];
        // Messages from the decoder start with the path; add it when they do not.
        if (result.error.rfind(item.path, 0) != 0) result.error = item.origin + ": " + result.error;
        else if (item.origin != item.path) result.error = item.origin + ": " + result.error;
        ++summary.failed;
      } else {
        result.probs = probs.data() + static_cast<int64_t>(next_good++) * k;
        if (item.label >= 0) {
          ++summary.labelled;
          std::vector<int> top = top_k_indices(result.probs, k, summary.top5);
          summary.top1_correct += top[0] == item.label;
          summary.top5_correct += std::find(top.begin(), top.end(), item.label) != top.end();
        }
      }
      on_result(result);
    }
  }
  return summary;
}

ResultFormat parse_result_format(const std::string& name) {
  if (name == "table") return ResultFormat::table;
  if (name == "csv") return ResultFormat::csv;
  if (name == "jsonl") return ResultFormat::jsonl;
  fail_usage("--format {}: expected table, csv or jsonl", name);
}

ResultFormatter::ResultFormatter(ResultFormat format, const std::vector<std::string>& labels,
                                 int64_t top, bool with_labels)
    : format_(format),
      labels_(labels),
      top_(std::clamp<int64_t>(top, 1, static_cast<int64_t>(labels.size()))),
      with_labels_(with_labels) {}

std::string ResultFormatter::header() const {
  if (format_ != ResultFormat::csv) return "";
  std::string out = "image";
  if (with_labels_) out += ",label";
  for (int64_t r = 1; r <= top_; ++r) out += fmt::format(",class_{},probability_{}", r, r);
  return out + "\n";
}

std::string ResultFormatter::line(const ItemResult& result) const {
  DIGITS_CHECK(result.probs != nullptr, "formatting a failed item {}", result.item->path);
  const int64_t k = static_cast<int64_t>(labels_.size());
  std::vector<int> top = top_k_indices(result.probs, k, top_);
  const ImageItem& item = *result.item;
  std::string out;
  switch (format_) {
    case ResultFormat::table:
      out = item.path;
      if (with_labels_) out += fmt::format("  [{}]", item.label >= 0 ? labels_[item.label] : "-");
      for (int c : top) out += fmt::format("  {} ({:.2f}%)", labels_[c], 100.0 * result.probs[c]);
      break;
    case ResultFormat::csv:
      out = csv_field(item.path);
      if (with_labels_) out += "," + (item.label >= 0 ? csv_field(labels_[item.label]) : "");
      for (int c : top) out += fmt::format(",{},{:.6f}", csv_field(labels_[c]), result.probs[c]);
      break;
    case ResultFormat::jsonl: {
      nlohmann::ordered_json j;
      j["image"] = item.path;
      if (item.label >= 0) {
        j["label"] = item.label;
        j["label_name"] = labels_[item.label];
      }
      j["top"] = nlohmann::ordered_json::array();
      for (int c : top)
        // The float's shortest decimal form ("0.7", not 0.699999988079071).
        j["top"].push_back({{"class", labels_[c]},
                            {"index", c},
                            {"probability", std::stod(fmt::format("{}", result.probs[c]))}});
      out = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      break;
    }
  }
  return out + "\n";
}

std::string accuracy_summary(const ClassifySummary& s) {
  auto ratio = [](int64_t a, int64_t b) { return b > 0 ? static_cast<double>(a) / b : 0.0; };
  return fmt::format("top-1 accuracy {:.4f} ({}/{}), top-{} accuracy {:.4f} ({}/{}) over {} "
                     "labelled image(s)",
                     ratio(s.top1_correct, s.labelled), s.top1_correct, s.labelled, s.top5,
                     ratio(s.top5_correct, s.labelled), s.top5_correct, s.labelled, s.labelled);
}

}  // namespace digits
