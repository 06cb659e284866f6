#include "data/dataset_manifest.h"

#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <numeric>

#include "core/error.h"
#include "core/file_hash.h"
#include "core/yaml_safe.h"
#include "data/datum.h"
#include "data/image.h"
#include "data/lmdb_store.h"

namespace digits {
namespace {

namespace fs = std::filesystem;

const char* const kSplitNames[] = {"train", "val", "test"};

[[noreturn]] void bad_manifest(const std::string& file, const std::string& key, const std::string& why) {
  fail_data("{}: {}: {}", file, key, why);
}

template <typename T>
T get_scalar(const YAML::Node& node, const std::string& file, const std::string& key, const char* expected) {
  if (!node || !node.IsScalar()) bad_manifest(file, key, fmt::format("missing or not {}", expected));
  try {
    return node.as<T>();
  } catch (const YAML::Exception&) {
    bad_manifest(file, key, fmt::format("expected {}, got \"{}\"", expected, node.Scalar()));
  }
}

DatasetManifest parse_manifest(const YAML::Node& root, const std::string& file) {
  if (!root.IsMap()) fail_data("{}: not a dataset manifest (expected a mapping)", file);
  DatasetManifest m;
  m.format_version = get_scalar<int>(root["format_version"], file, "format_version", "an integer");
  if (m.format_version > kDatasetFormatVersion)
    bad_manifest(file, "format_version",
                 fmt::format("{} is newer than this tool understands ({}); upgrade digits", m.format_version,
                             kDatasetFormatVersion));
  if (m.format_version < 1) bad_manifest(file, "format_version", fmt::format("invalid value {}", m.format_version));
  m.task = get_scalar<std::string>(root["task"], file, "task", "a string");
  if (m.task != "classification")
    bad_manifest(file, "task", fmt::format("\"{}\" is not supported (expected classification)", m.task));

  YAML::Node image = root["image"];
  if (!image || !image.IsMap()) bad_manifest(file, "image", "missing or not a mapping");
  m.width = get_scalar<int64_t>(image["width"], file, "image.width", "an integer");
  m.height = get_scalar<int64_t>(image["height"], file, "image.height", "an integer");
  m.channels = get_scalar<int>(image["channels"], file, "image.channels", "an integer");
  if (m.width < 1 || m.height < 1 || m.width > (1 << 20) || m.height > (1 << 20))
    bad_manifest(file, "image", fmt::format("invalid size {}x{}", m.width, m.height));
  if (m.channels != 1 && m.channels != 3)
    bad_manifest(file, "image.channels", fmt::format("{} (expected 1 or 3)", m.channels));
  m.resize_mode = get_scalar<std::string>(image["resize_mode"], file, "image.resize_mode", "a string");
  m.encoding = get_scalar<std::string>(image["encoding"], file, "image.encoding", "a string");
  try {
    parse_record_encoding(m.encoding);
  } catch (const Error& e) {
    bad_manifest(file, "image.encoding", e.what());
  }
  if (image["jpeg_quality"]) m.jpeg_quality = get_scalar<int>(image["jpeg_quality"], file, "image.jpeg_quality", "an integer");

  YAML::Node classes = root["classes"];
  if (!classes || !classes.IsSequence() || classes.size() == 0)
    bad_manifest(file, "classes", "missing or not a non-empty list");
  for (size_t i = 0; i < classes.size(); ++i)
    m.classes.push_back(get_scalar<std::string>(classes[i], file, fmt::format("classes[{}]", i), "a string"));

  YAML::Node splits = root["splits"];
  if (!splits || !splits.IsMap() || splits.size() == 0) bad_manifest(file, "splits", "missing or not a mapping");
  for (auto it = splits.begin(); it != splits.end(); ++it) {
    ManifestSplit s;
    s.name = it->first.as<std::string>();
    std::string key = "splits." + s.name;
    if (std::find(std::begin(kSplitNames), std::end(kSplitNames), s.name) == std::end(kSplitNames))
      bad_manifest(file, key, "unknown split (expected train, val or test)");
    YAML::Node node = it->second;
    if (!node.IsMap()) bad_manifest(file, key, "not a mapping");
    s.db = get_scalar<std::string>(node["db"], file, key + ".db", "a string");
    if (s.db.empty() || s.db.find('/') != std::string::npos || s.db[0] == '.')
      bad_manifest(file, key + ".db", fmt::format("\"{}\" is not a directory name inside the dataset", s.db));
    if (node["list"]) s.list = get_scalar<std::string>(node["list"], file, key + ".list", "a string");
    s.count = get_scalar<int64_t>(node["count"], file, key + ".count", "an integer");
    YAML::Node per_class = node["per_class"];
    if (!per_class || !per_class.IsSequence() || per_class.size() != m.classes.size())
      bad_manifest(file, key + ".per_class", fmt::format("expected a list of {} counts", m.classes.size()));
    for (size_t i = 0; i < per_class.size(); ++i)
      s.per_class.push_back(get_scalar<int64_t>(per_class[i], file, fmt::format("{}.per_class[{}]", key, i), "an integer"));
    if (std::accumulate(s.per_class.begin(), s.per_class.end(), int64_t{0}) != s.count)
      bad_manifest(file, key, "per_class counts do not add up to count");
    if (YAML::Node data = node["data_mdb"]) {
      if (!data.IsMap()) bad_manifest(file, key + ".data_mdb", "not a mapping");
      s.data_bytes = get_scalar<int64_t>(data["bytes"], file, key + ".data_mdb.bytes", "an integer");
      s.data_xxh64 = get_scalar<std::string>(data["xxh64"], file, key + ".data_mdb.xxh64", "a string");
      bool hex = s.data_xxh64.size() == 16 && std::all_of(s.data_xxh64.begin(), s.data_xxh64.end(), [](char c) {
                   return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                 });
      if (s.data_bytes < 0 || !hex)
        bad_manifest(file, key + ".data_mdb", "expected bytes >= 0 and xxh64 as 16 hex digits");
    }
    m.splits.push_back(std::move(s));
  }

  YAML::Node mean = root["mean"];
  if (mean && mean.IsMap()) {
    if (mean["binaryproto"]) m.mean_file = get_scalar<std::string>(mean["binaryproto"], file, "mean.binaryproto", "a string");
    if (mean["image"]) m.mean_image = get_scalar<std::string>(mean["image"], file, "mean.image", "a string");
  }

  YAML::Node source = root["source"];
  if (source && source.IsMap()) {
    for (const char* split : kSplitNames) {
      YAML::Node s = source[split];
      if (!s || !s.IsMap()) continue;
      ManifestSource src;
      src.split = split;
      if (s["kind"]) src.kind = s["kind"].as<std::string>("");
      if (s["path"]) src.path = s["path"].as<std::string>("");
      if (s["labels"]) src.labels = s["labels"].as<std::string>("");
      m.sources.push_back(src);
    }
    if (source["labels_file"]) m.labels_file = source["labels_file"].as<std::string>("");
    if (source["folder"]) m.folder = source["folder"].as<std::string>("");
    if (source["val_pct"]) m.val_pct = source["val_pct"].as<double>(0);
    if (source["test_pct"]) m.test_pct = source["test_pct"].as<double>(0);
    if (source["min_per_class"]) m.min_per_class = source["min_per_class"].as<int>(0);
    if (source["max_per_class"] && !source["max_per_class"].IsNull())
      m.max_per_class = source["max_per_class"].as<int64_t>(0);
    if (source["seed"]) m.seed = source["seed"].as<uint64_t>(0);
  }
  if (root["bad_items"]) m.bad_items = root["bad_items"].as<int64_t>(0);
  if (root["created"]) m.created = root["created"].as<std::string>("");
  if (root["tool_version"]) m.tool_version = root["tool_version"].as<std::string>("");
  return m;
}

// "%08d_%d" -> the label after the underscore; -1 if the key is not in that form.
int64_t label_from_key(std::string_view key) {
  size_t us = key.find('_');
  if (us == std::string_view::npos || us == 0 || us + 1 >= key.size()) return -1;
  int64_t label = 0;
  for (size_t i = us + 1; i < key.size(); ++i) {
    if (key[i] < '0' || key[i] > '9' || label > (int64_t{1} << 40)) return -1;
    label = label * 10 + (key[i] - '0');
  }
  return label;
}

// A directory made by NVIDIA DIGITS: labels.txt and *_db/ directories, no dataset.yaml.
DatasetManifest read_digits_dir(const std::string& dir) {
  fs::path root(dir);
  std::error_code ec;
  if (!fs::exists(root / "labels.txt", ec))
    fail_usage("{}: not a dataset directory (no {} and no labels.txt)", dir, kManifestFile);
  DatasetManifest m;
  m.made_by_digits = true;
  m.format_version = 0;
  {
    std::string text;
    FILE* f = std::fopen((root / "labels.txt").c_str(), "r");
    if (!f) fail_runtime("{}/labels.txt: cannot read", dir);
    char buffer[4096];
    size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0 && text.size() < (size_t{16} << 20)) text.append(buffer, n);
    std::fclose(f);
    size_t start = 0;
    while (start <= text.size()) {
      size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      std::string line = text.substr(start, end - start);
      while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
      size_t b = 0;
      while (b < line.size() && std::isspace(static_cast<unsigned char>(line[b]))) ++b;
      if (b < line.size()) m.classes.push_back(line.substr(b));
      start = end + 1;
    }
  }
  if (m.classes.empty()) fail_data("{}/labels.txt: no class names", dir);

  bool have_shape = false;
  for (const char* name : kSplitNames) {
    std::string db = std::string(name) + "_db";
    if (!fs::is_directory(root / db, ec)) continue;
    LmdbReader reader((root / db).string());
    ManifestSplit split;
    split.name = name;
    split.db = db;
    if (fs::exists(root / (std::string(name) + ".txt"), ec)) split.list = std::string(name) + ".txt";
    split.per_class.assign(m.classes.size(), 0);
    reader.for_each([&](std::string_view key, std::string_view value) {
      std::string what = fmt::format("{}/{} record {}", dir, db, key);
      int64_t label = label_from_key(key);
      if (label < 0 || !have_shape) {
        Datum datum = parse_datum(value, what);
        if (label < 0) label = datum.label;
        if (!have_shape) {
          check_datum_shape(datum, what);
          m.channels = datum.channels;
          m.height = datum.height;
          m.width = datum.width;
          if (datum.encoded) {
            ImageInfo info = probe_image(reinterpret_cast<const uint8_t*>(datum.data.data()), datum.data.size());
            m.encoding = info.format == ImageFormat::jpeg ? "jpg" : image_format_name(info.format);
            m.width = info.width;
            m.height = info.height;
          } else {
            m.encoding = "none";
          }
          have_shape = true;
        }
      }
      if (label < 0 || label >= static_cast<int64_t>(m.classes.size()))
        fail_data("{}: label {} out of range for {} classes in labels.txt", what, label, m.classes.size());
      ++split.per_class[static_cast<size_t>(label)];
      ++split.count;
      return true;
    });
    m.splits.push_back(std::move(split));
  }
  if (m.splits.empty()) fail_usage("{}: not a dataset directory (no {}, no train_db/val_db/test_db)", dir, kManifestFile);
  if (!have_shape) fail_data("{}: the databases hold no records", dir);
  if (fs::exists(root / "mean.binaryproto", ec)) m.mean_file = "mean.binaryproto";
  for (const char* image : {"mean.jpg", "mean.png"})
    if (fs::exists(root / image, ec)) {
      m.mean_image = image;
      break;
    }
  return m;
}

}  // namespace

RecordEncoding parse_record_encoding(const std::string& name) {
  if (name == "none") return RecordEncoding::none;
  if (name == "png") return RecordEncoding::png;
  if (name == "jpg" || name == "jpeg") return RecordEncoding::jpg;
  fail_usage("encoding \"{}\": expected none, png or jpg", name);
}

const char* record_encoding_name(RecordEncoding encoding) {
  switch (encoding) {
    case RecordEncoding::none: return "none";
    case RecordEncoding::png: return "png";
    case RecordEncoding::jpg: return "jpg";
  }
  return "?";
}

const ManifestSplit* DatasetManifest::split(const std::string& name) const {
  for (const auto& s : splits)
    if (s.name == name) return &s;
  return nullptr;
}

int64_t DatasetManifest::total_records() const {
  int64_t n = 0;
  for (const auto& s : splits) n += s.count;
  return n;
}

std::string manifest_to_yaml(const DatasetManifest& m) {
  YAML::Emitter out;
  out << YAML::Comment("digits-dataset manifest; written last: a dataset directory is complete when this file exists");
  out << YAML::BeginMap;
  out << YAML::Key << "format_version" << YAML::Value << m.format_version;
  out << YAML::Key << "task" << YAML::Value << m.task;
  out << YAML::Key << "created" << YAML::Value << m.created;
  out << YAML::Key << "tool_version" << YAML::Value << m.tool_version;
  out << YAML::Key << "image" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "width" << YAML::Value << m.width;
  out << YAML::Key << "height" << YAML::Value << m.height;
  out << YAML::Key << "channels" << YAML::Value << m.channels;
  out << YAML::Key << "resize_mode" << YAML::Value << m.resize_mode;
  out << YAML::Key << "encoding" << YAML::Value << m.encoding;
  if (m.encoding == "jpg") out << YAML::Key << "jpeg_quality" << YAML::Value << m.jpeg_quality;
  out << YAML::EndMap;
  out << YAML::Key << "classes" << YAML::Value << YAML::BeginSeq;
  for (const auto& c : m.classes) out << YAML::DoubleQuoted << c;
  out << YAML::EndSeq;
  out << YAML::Key << "splits" << YAML::Value << YAML::BeginMap;
  for (const auto& s : m.splits) {
    out << YAML::Key << s.name << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "db" << YAML::Value << s.db;
    if (!s.list.empty()) out << YAML::Key << "list" << YAML::Value << s.list;
    out << YAML::Key << "count" << YAML::Value << s.count;
    out << YAML::Key << "per_class" << YAML::Value << YAML::Flow << s.per_class;
    if (s.data_bytes >= 0) {
      out << YAML::Key << "data_mdb" << YAML::Value << YAML::Flow << YAML::BeginMap;
      out << YAML::Key << "bytes" << YAML::Value << s.data_bytes;
      out << YAML::Key << "xxh64" << YAML::Value << YAML::DoubleQuoted << s.data_xxh64 << YAML::EndMap;
    }
    out << YAML::EndMap;
  }
  out << YAML::EndMap;
  out << YAML::Key << "mean" << YAML::Value;
  if (m.mean_file.empty()) {
    out << YAML::Null;
  } else {
    out << YAML::BeginMap;
    out << YAML::Key << "binaryproto" << YAML::Value << m.mean_file;
    if (!m.mean_image.empty()) out << YAML::Key << "image" << YAML::Value << m.mean_image;
    out << YAML::EndMap;
  }
  out << YAML::Key << "source" << YAML::Value << YAML::BeginMap;
  for (const auto& s : m.sources) {
    out << YAML::Key << s.split << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "kind" << YAML::Value << s.kind;
    out << YAML::Key << "path" << YAML::Value << YAML::DoubleQuoted << s.path;
    if (!s.labels.empty()) out << YAML::Key << "labels" << YAML::Value << YAML::DoubleQuoted << s.labels;
    out << YAML::EndMap;
  }
  if (!m.labels_file.empty()) out << YAML::Key << "labels_file" << YAML::Value << YAML::DoubleQuoted << m.labels_file;
  if (!m.folder.empty()) out << YAML::Key << "folder" << YAML::Value << YAML::DoubleQuoted << m.folder;
  out << YAML::Key << "val_pct" << YAML::Value << m.val_pct;
  out << YAML::Key << "test_pct" << YAML::Value << m.test_pct;
  out << YAML::Key << "min_per_class" << YAML::Value << m.min_per_class;
  out << YAML::Key << "max_per_class" << YAML::Value;
  if (m.max_per_class) out << *m.max_per_class; else out << YAML::Null;
  out << YAML::Key << "seed" << YAML::Value << m.seed;
  out << YAML::EndMap;
  out << YAML::Key << "bad_items" << YAML::Value << m.bad_items;
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

DatasetManifest read_dataset_dir(const std::string& dir) {
  std::error_code ec;
  fs::path root(dir);
  if (!fs::is_directory(root, ec)) {
    if (fs::exists(root, ec)) fail_usage("{}: not a directory (a dataset is the directory digits-dataset create makes)", dir);
    fail_usage("{}: no such dataset directory", dir);
  }
  if (fs::exists(root / kIncompleteMarker, ec))
    fail_data("{}: an incomplete dataset (its creation was interrupted); delete it and create it again", dir);
  fs::path manifest = root / kManifestFile;
  if (!fs::exists(manifest, ec)) return read_digits_dir(dir);
  YAML::Node node;
  try {
    node = load_yaml_file(manifest.string());
  } catch (const Error& e) {
    // load_yaml_file reports usage errors (it is mostly used for specs); a malformed manifest
    // is a corrupt dataset.
    fail_data("{}", e.what());
  } catch (const YAML::Exception& e) {
    fail_data("{}: {}", manifest.string(), e.what());
  }
  return parse_manifest(node, manifest.string());
}

void check_split_data(const std::string& dir, const ManifestSplit& split) {
  if (split.data_bytes < 0) return;
  std::string path = (fs::path(dir) / split.db / "data.mdb").string();
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    fail_data("{}: missing ({}); the dataset is damaged: create it again", path, std::strerror(errno));
  if (!S_ISREG(st.st_mode)) fail_data("{}: not a regular file; the dataset is damaged: create it again", path);
  if (st.st_size != split.data_bytes)
    fail_data("{}: {} bytes, but {} records {} bytes ({}); the dataset is damaged: create it again", path,
              st.st_size, kManifestFile, split.data_bytes, st.st_size < split.data_bytes ? "truncated" : "grown");
  std::string hash = hash_hex(hash_file_xxh64(path));
  if (hash != split.data_xxh64)
    fail_data("{}: content hash xxh64 {} differs from {} recorded in {}: the file was changed or damaged "
              "after creation; create the dataset again",
              path, hash, split.data_xxh64, kManifestFile);
}

void check_dataset_data(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(fs::path(dir) / kManifestFile, ec) && !fs::exists(fs::path(dir) / kIncompleteMarker, ec))
    return;  // a DIGITS directory: nothing recorded
  DatasetManifest manifest = read_dataset_dir(dir);
  for (const auto& split : manifest.splits) check_split_data(dir, split);
}

std::string utc_timestamp_now() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

}  // namespace digits
