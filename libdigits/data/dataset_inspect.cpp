#include "data/dataset_inspect.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/fs.h"
#include "data/datum.h"
#include "data/image.h"
#include "data/lmdb_store.h"
#include "data/progress.h"

namespace digits {
namespace {

namespace fs = std::filesystem;

int64_t disk_usage(const fs::path& dir) {
  int64_t bytes = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    struct stat st;
    if (::lstat(it->path().c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) bytes += static_cast<int64_t>(st.st_blocks) * 512;
  }
  return bytes;
}

std::string human_bytes(int64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int u = 0;
  while (value >= 1024 && u < 4) {
    value /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", value, units[u]);
}

// The mean BlobProto, checked against the dataset's shape.
BlobProto read_mean(const std::string& path, const DatasetManifest& m) {
  // Named by the manifest, so a missing file is a damaged dataset (exit 3), not a usage error.
  std::error_code ec;
  if (!fs::exists(path, ec)) fail_data("{}: missing, but {} names it as the mean", path, kManifestFile);
  std::string bytes = read_file(path, size_t{1} << 31);
  BlobProto blob = parse_blob_proto(bytes, path);
  int64_t c = blob.channels, h = blob.height, w = blob.width;
  if (blob.shape.size() == 4) c = blob.shape[1], h = blob.shape[2], w = blob.shape[3];
  if (c != m.channels || h != m.height || w != m.width)
    fail_data("{}: mean is {}x{}x{} (width x height x channels), the records are {}x{}x{}", path, w, h, c, m.width,
              m.height, m.channels);
  if (static_cast<int64_t>(blob.data.size()) != c * h * w)
    fail_data("{}: holds {} values, expected {}", path, blob.data.size(), c * h * w);
  return blob;
}

// Per-channel average of a (C, H, W) BGR mean, returned in R G B order (or gray).
std::vector<double> mean_pixel_of(const BlobProto& blob, int channels) {
  size_t plane = blob.data.size() / static_cast<size_t>(channels);
  std::vector<double> bgr(static_cast<size_t>(channels), 0.0);
  for (int c = 0; c < channels; ++c) {
    double sum = 0;
    for (size_t i = 0; i < plane; ++i) sum += blob.data[static_cast<size_t>(c) * plane + i];
    bgr[static_cast<size_t>(c)] = plane ? sum / static_cast<double>(plane) : 0.0;
  }
  if (channels == 3) std::reverse(bgr.begin(), bgr.end());
  return bgr;
}

// A record's pixels as an Image (H, W, C) RGB or gray.
Image record_image(const Datum& datum, int channels, const std::string& what) {
  if (datum.encoded) {
    DecodeOptions decode;
    decode.channels = channels;
    try {
      return decode_image(reinterpret_cast<const uint8_t*>(datum.data.data()), datum.data.size(), decode);
    } catch (const Error& e) {
      fail_data("{}: {}", what, e.what());
    }
  }
  if (datum.channels != channels)
    fail_data("{}: raw record has {} channel(s), the dataset {}", what, datum.channels, channels);
  Image image;
  image.width = datum.width;
  image.height = datum.height;
  image.channels = channels;
  int64_t plane = image.width * image.height;
  image.pixels.resize(static_cast<size_t>(plane * channels));
  for (int c = 0; c < channels; ++c) {
    int source_plane = channels == 3 ? 2 - c : c;  // stored BGR
    for (int64_t i = 0; i < plane; ++i)
      image.pixels[static_cast<size_t>(i * channels + c)] =
          static_cast<uint8_t>(datum.data[static_cast<size_t>(source_plane * plane + i)]);
  }
  return image;
}

bool key_has_record_form(std::string_view key, int64_t& index, int64_t& label) {
  // %08d_%d: at least 8 digits, '_', at least one digit.
  size_t us = key.find('_');
  if (us == std::string_view::npos || us < 8 || us + 1 >= key.size() || us > 18 || key.size() - us > 12) return false;
  index = 0;
  label = 0;
  for (size_t i = 0; i < us; ++i) {
    if (key[i] < '0' || key[i] > '9') return false;
    index = index * 10 + (key[i] - '0');
  }
  for (size_t i = us + 1; i < key.size(); ++i) {
    if (key[i] < '0' || key[i] > '9') return false;
    label = label * 10 + (key[i] - '0');
  }
  return true;
}

class ProblemList {
 public:
  explicit ProblemList(VerifyReport& report) : report_(report) {}
  void add(std::string text) {
    ++report_.problem_count;
    if (report_.problems.size() < VerifyReport::kMaxListedProblems) report_.problems.push_back(std::move(text));
  }

 private:
  VerifyReport& report_;
};

int64_t count_lines(const fs::path& path) {
  std::ifstream in(path);
  int64_t lines = 0;
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) ++lines;
  return lines;
}

}  // namespace

DatasetInfo dataset_info(const std::string& dir) {
  DatasetInfo info;
  info.dir = dir;
  info.manifest = read_dataset_dir(dir);
  if (!info.manifest.mean_file.empty()) {
    BlobProto blob = read_mean((fs::path(dir) / info.manifest.mean_file).string(), info.manifest);
    info.mean_pixel = mean_pixel_of(blob, info.manifest.channels);
  }
  info.disk_bytes = disk_usage(dir);
  return info;
}

std::string info_text(const DatasetInfo& info) {
  const DatasetManifest& m = info.manifest;
  std::string out;
  out += fmt::format("dataset:    {}\n", info.dir);
  if (m.made_by_digits)
    out += "format:     NVIDIA DIGITS dataset (no dataset.yaml; shape and counts read from the records)\n";
  else
    out += fmt::format("format:     digits-dataset v{}, created {} by {}\n", m.format_version, m.created, m.tool_version);
  out += fmt::format("task:       {}\n", m.task);
  out += fmt::format("shape:      {}x{}x{} (width x height x channels, {})\n", m.width, m.height, m.channels,
                     m.channels == 1 ? "grayscale" : "colour");
  out += fmt::format("encoding:   {}{}\n", m.encoding, m.encoding == "jpg" && m.jpeg_quality ? fmt::format(" (quality {})", m.jpeg_quality) : "");
  if (!m.resize_mode.empty()) out += fmt::format("resize:     {}\n", m.resize_mode);
  for (const auto& src : m.sources)
    out += fmt::format("source:     {}: {} {}{}\n", src.split, src.kind, src.path, src.labels.empty() ? "" : " (labels " + src.labels + ")");
  std::string split_counts;
  for (const auto& s : m.splits) split_counts += fmt::format("{}{} {}", split_counts.empty() ? "" : ", ", s.name, s.count);
  out += fmt::format("records:    {} ({})\n", m.total_records(), split_counts);
  if (!m.made_by_digits) out += fmt::format("bad items:  {} skipped at creation\n", m.bad_items);
  if (info.mean_pixel.empty()) {
    out += "mean:       none\n";
  } else {
    std::string values;
    for (double v : info.mean_pixel) values += fmt::format("{}{:.2f}", values.empty() ? "" : " ", v);
    out += fmt::format("mean pixel: {} ({}; {})\n", values, m.channels == 3 ? "R G B" : "gray", m.mean_file);
  }
  out += fmt::format("disk:       {}\n", human_bytes(info.disk_bytes));
  out += fmt::format("classes:    {}\n", m.classes.size());
  size_t name_width = 5;
  for (const auto& c : m.classes) name_width = std::max(name_width, c.size());
  name_width = std::min<size_t>(name_width, 40);
  out += fmt::format("  {:>5}  {:<{}}", "label", "class", name_width);
  for (const auto& s : m.splits) out += fmt::format(" {:>9}", s.name);
  out += "\n";
  for (size_t c = 0; c < m.classes.size(); ++c) {
    out += fmt::format("  {:>5}  {:<{}}", c, m.classes[c], name_width);
    for (const auto& s : m.splits) out += fmt::format(" {:>9}", s.per_class[c]);
    out += "\n";
  }
  return out;
}

std::string info_json(const DatasetInfo& info) {
  const DatasetManifest& m = info.manifest;
  nlohmann::ordered_json j;
  j["dataset"] = info.dir;
  j["format_version"] = m.format_version;
  j["made_by_digits"] = m.made_by_digits;
  j["task"] = m.task;
  j["width"] = m.width;
  j["height"] = m.height;
  j["channels"] = m.channels;
  j["encoding"] = m.encoding;
  if (m.encoding == "jpg" && m.jpeg_quality) j["jpeg_quality"] = m.jpeg_quality;
  j["resize_mode"] = m.resize_mode.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(m.resize_mode);
  j["classes"] = m.classes;
  nlohmann::ordered_json splits = nlohmann::ordered_json::object();
  for (const auto& s : m.splits) {
    nlohmann::ordered_json split;
    split["count"] = s.count;
    split["per_class"] = s.per_class;
    split["db"] = s.db;
    splits[s.name] = split;
  }
  j["splits"] = splits;
  j["records"] = m.total_records();
  j["mean_pixel"] = info.mean_pixel;
  j["mean_file"] = m.mean_file.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(m.mean_file);
  j["disk_bytes"] = info.disk_bytes;
  j["bad_items"] = m.bad_items;
  j["created"] = m.created;
  j["tool_version"] = m.tool_version;
  nlohmann::ordered_json sources = nlohmann::ordered_json::array();
  for (const auto& s : m.sources) sources.push_back({{"split", s.split}, {"kind", s.kind}, {"path", s.path}, {"labels", s.labels}});
  j["sources"] = sources;
  j["seed"] = m.seed;
  return j.dump(2) + "\n";
}

VerifyReport verify_dataset(const std::string& dir, bool progress_bar) {
  DatasetManifest m = read_dataset_dir(dir);
  VerifyReport report;
  ProblemList problems(report);
  fs::path root(dir);
  std::error_code ec;

  // labels.txt agrees with the manifest.
  if (!m.made_by_digits) {
    if (!fs::exists(root / "labels.txt", ec)) {
      problems.add("labels.txt: missing");
    } else {
      std::ifstream in(root / "labels.txt");
      std::vector<std::string> names;
      std::string line;
      while (std::getline(in, line))
        if (!line.empty()) names.push_back(line);
      if (names != m.classes)
        problems.add(fmt::format("labels.txt: {} class name(s) that differ from dataset.yaml's {}", names.size(), m.classes.size()));
    }
  }
  if (!m.mean_file.empty()) {
    try {
      BlobProto blob = read_mean((root / m.mean_file).string(), m);
      for (float v : blob.data)
        if (!(v >= 0.0f && v <= 255.0f)) {
          problems.add(fmt::format("{}: value {} outside 0..255", m.mean_file, v));
          break;
        }
    } catch (const Error& e) {
      problems.add(e.what());
    }
  }

  Progress progress(progress_bar);
  const std::string expected_format = m.encoding == "jpg" ? "jpeg" : m.encoding;
  for (const auto& split : m.splits) {
    std::string db_path = (root / split.db).string();
    if (!fs::is_directory(db_path, ec)) {
      problems.add(fmt::format("{}: missing", split.db));
      continue;
    }
    try {
      check_split_data(dir, split);
    } catch (const Error& e) {
      problems.add(e.what());
      continue;  // never hand LMDB a damaged file
    }
    std::vector<int64_t> per_class(m.classes.size(), 0);
    int64_t position = 0;
    try {
      LmdbReader reader(db_path);
      progress.start("verify " + split.name, static_cast<int64_t>(reader.count()));
      reader.for_each([&](std::string_view key_view, std::string_view value) {
        std::string key(key_view);
        std::string what = fmt::format("{} record {}", split.db, key);
        int64_t index = -1, key_label = -1;
        if (!key_has_record_form(key, index, key_label))
          problems.add(fmt::format("{}: key is not in the form %08d_%d (index_label)", what));
        else if (index != position)
          problems.add(fmt::format("{}: index {} out of sequence (expected {})", what, index, position));
        ++position;
        progress.update(position);
        Datum datum;
        try {
          datum = parse_datum(value, what);
          check_datum_shape(datum, what);
        } catch (const Error& e) {
          problems.add(e.what());
          return true;
        }
        if (datum.label < 0 || datum.label >= static_cast<int32_t>(m.classes.size())) {
          problems.add(fmt::format("{}: label {} out of range ({} classes)", what, datum.label, m.classes.size()));
          return true;
        }
        if (key_label >= 0 && key_label != datum.label)
          problems.add(fmt::format("{}: key says label {}, the Datum says {}", what, key_label, datum.label));
        ++per_class[static_cast<size_t>(datum.label)];
        if (datum.channels != m.channels || datum.height != m.height || datum.width != m.width)
          problems.add(fmt::format("{}: Datum shape {}x{}x{}, expected {}x{}x{} (width x height x channels)", what,
                                   datum.width, datum.height, datum.channels, m.width, m.height, m.channels));
        if (datum.encoded != (m.encoding != "none")) {
          problems.add(fmt::format("{}: {} record in a dataset with encoding {}", what, datum.encoded ? "encoded" : "raw",
                                   m.encoding));
          return true;
        }
        if (datum.encoded) {
          try {
            const auto* bytes = reinterpret_cast<const uint8_t*>(datum.data.data());
            ImageInfo probe = probe_image(bytes, datum.data.size());
            if (image_format_name(probe.format) != expected_format)
              problems.add(fmt::format("{}: holds {}, expected {}", what, image_format_name(probe.format), m.encoding));
            if (probe.channels_in_file != m.channels)
              problems.add(fmt::format("{}: image has {} channel(s), expected {}", what, probe.channels_in_file, m.channels));
            Image image = record_image(datum, m.channels, what);
            if (image.width != m.width || image.height != m.height)
              problems.add(fmt::format("{}: decodes to {}x{}, expected {}x{}", what, image.width, image.height, m.width,
                                       m.height));
          } catch (const Error& e) {
            problems.add(fmt::format("{}: does not decode: {}", what, e.what()));
          }
        }
        ++report.records_checked;
        return true;
      });
      progress.finish();
    } catch (const Error& e) {
      problems.add(e.what());
      continue;
    }
    if (position != split.count)
      problems.add(fmt::format("{}: holds {} records, dataset.yaml says {}", split.db, position, split.count));
    for (size_t c = 0; c < m.classes.size(); ++c)
      if (per_class[c] != split.per_class[c])
        problems.add(fmt::format("{}: class {} (\"{}\") has {} records, the manifest says {}", split.db, c, m.classes[c],
                                 per_class[c], split.per_class[c]));
    if (!split.list.empty()) {
      if (!fs::exists(root / split.list, ec))
        problems.add(fmt::format("{}: missing", split.list));
      else if (!m.made_by_digits && count_lines(root / split.list) != split.count)
        problems.add(fmt::format("{}: {} lines, expected {}", split.list, count_lines(root / split.list), split.count));
    }
  }
  return report;
}

ExploreResult explore_dataset(const ExploreOptions& options) {
  if (options.count < 1 || options.count > 1024) fail_usage("-n {}: expected 1 to 1024 records", options.count);
  if (options.output.empty()) fail_usage("-o IMAGE.png is required");
  DatasetManifest m = read_dataset_dir(options.dir);
  const ManifestSplit* split = m.split(options.split);
  if (!split) {
    std::string have;
    for (const auto& s : m.splits) have += (have.empty() ? "" : ", ") + s.name;
    fail_usage("--split {}: {} has no such split (it has: {})", options.split, options.dir, have);
  }
  int32_t wanted = -1;
  if (!options.class_name.empty()) {
    auto it = std::find(m.classes.begin(), m.classes.end(), options.class_name);
    if (it != m.classes.end()) {
      wanted = static_cast<int32_t>(it - m.classes.begin());
    } else if (std::all_of(options.class_name.begin(), options.class_name.end(), [](char ch) { return ch >= '0' && ch <= '9'; }) &&
               options.class_name.size() < 9 && std::stoi(options.class_name) < static_cast<int>(m.classes.size())) {
      wanted = std::stoi(options.class_name);
    } else {
      std::string names;
      for (size_t i = 0; i < m.classes.size() && i < 20; ++i) names += fmt::format("{}\"{}\"", i ? ", " : "", m.classes[i]);
      if (m.classes.size() > 20) names += ", ...";
      fail_usage("--class \"{}\": no such class (classes: {}; or a label number 0..{})", options.class_name, names,
                 m.classes.size() - 1);
    }
  }
  int64_t cols = static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(options.count))));
  int64_t rows = (options.count + cols - 1) / cols;
  constexpr int64_t gap = 2;
  ExploreResult result;
  result.grid_width = cols * m.width + (cols + 1) * gap;
  result.grid_height = rows * m.height + (rows + 1) * gap;
  if (result.grid_width * result.grid_height > 100'000'000)
    fail_usage("-n {}: a grid of {}x{} pixels is too large; ask for fewer records", options.count, result.grid_width,
               result.grid_height);

  Image grid;
  grid.width = result.grid_width;
  grid.height = result.grid_height;
  grid.channels = m.channels;
  grid.pixels.assign(static_cast<size_t>(grid.width * grid.height * grid.channels), 64);
  // As verify and digits-train do: LMDB trusts its file, so a damaged one is refused unopened.
  check_split_data(options.dir, *split);
  LmdbReader reader((fs::path(options.dir) / split->db).string());
  reader.for_each([&](std::string_view key, std::string_view value) {
    std::string what = fmt::format("{} record {}", split->db, key);
    Datum datum = parse_datum(value, what);
    if (wanted >= 0 && datum.label != wanted) return true;
    check_datum_shape(datum, what);
    Image image = record_image(datum, m.channels, what);
    if (image.width != m.width || image.height != m.height)
      fail_data("{}: {}x{} image in a {}x{} dataset", what, image.width, image.height, m.width, m.height);
    int64_t k = static_cast<int64_t>(result.keys.size());
    int64_t x0 = gap + (k % cols) * (m.width + gap), y0 = gap + (k / cols) * (m.height + gap);
    size_t row_bytes = static_cast<size_t>(m.width * m.channels);
    for (int64_t y = 0; y < m.height; ++y)
      std::copy_n(image.pixels.data() + static_cast<size_t>(y) * row_bytes, row_bytes,
                  grid.pixels.data() + static_cast<size_t>(((y0 + y) * grid.width + x0) * grid.channels));
    result.keys.emplace_back(key);
    return static_cast<int64_t>(result.keys.size()) < options.count;
  });
  if (result.keys.empty())
    fail_data("{}: split {} holds no record{}", options.dir, options.split,
              wanted >= 0 ? fmt::format(" of class \"{}\"", m.classes[static_cast<size_t>(wanted)]) : "");
  write_image_file(options.output, grid, 90);
  return result;
}

}  // namespace digits
