#include "data/dataset_sources.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <filesystem>
#include <set>
#include <unordered_map>
#include <utility>

#include "core/error.h"
#include "data/idx.h"
#include "data/image.h"

namespace digits {
namespace {

namespace fs = std::filesystem;

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string join_path(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  if (dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

// Windows editors start UTF-8 text files with a byte order mark (EF BB BF); left in, it would
// become part of the first path or class name, invisibly.
void drop_utf8_bom(std::string& first_line) {
  if (first_line.rfind("\xEF\xBB\xBF", 0) == 0) first_line.erase(0, 3);
}

// labels.txt and the train/val/test lists hold one name or path per line: a name with a line
// break in it would split into two lines there, and every later label would be off by one.
bool has_line_break(const std::string& name) { return name.find_first_of("\n\r") != std::string::npos; }
const char* const kLineBreakReason = "a line break in the name (the dataset's lists hold one per line); not used";

// Entry names of a directory, sorted bytewise (Python's sorted(os.listdir())), without . and ..
bool list_directory(const std::string& dir, std::vector<std::string>& names, int& error) {
  DIR* d = opendir(dir.c_str());
  if (!d) {
    error = errno;
    return false;
  }
  while (dirent* entry = readdir(d)) {
    if (std::strcmp(entry->d_name, ".") == 0 || std::strcmp(entry->d_name, "..") == 0) continue;
    names.emplace_back(entry->d_name);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  return true;
}

// Why stat(path) failed with `err`. ENOENT after readdir listed the name means a broken symlink,
// or a file deleted while the folder was being listed (lstat tells them apart).
std::string stat_failure_reason(const std::string& path, int err) {
  struct stat st;
  switch (err) {
    case ELOOP: return "symlink loop (or a chain of more than 40 links)";
    case ENOENT:
      if (::lstat(path.c_str(), &st) == 0) return "broken symlink (its target does not exist)";
      return "deleted while the folder was being listed";
    case EACCES: return "permission denied";
    default: return std::strerror(err);
  }
}

const char* file_kind(mode_t mode) {
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  return "not a regular file";
}

using DirId = std::pair<dev_t, ino_t>;

struct Walker {
  FolderScan& scan;
  std::set<DirId> visited;                      // every directory scanned so far
  std::vector<std::pair<DirId, std::string>> ancestors;  // the current path, root first
  int64_t ignored_files = 0;
  std::string ignored_example;

  void walk(const std::string& dir, std::vector<std::string>& files, int depth) {
    if (depth > 64) {
      scan.bad.push_back({dir, "directories nested more than 64 deep; not scanned"});
      return;
    }
    std::vector<std::string> names;
    int err = 0;
    if (!list_directory(dir, names, err)) {
      scan.bad.push_back({dir, fmt::format("cannot read directory: {}", std::strerror(err))});
      return;
    }
    for (const std::string& name : names) {
      std::string path = join_path(dir, name);
      if (has_line_break(name)) {
        scan.bad.push_back({path, kLineBreakReason});
        continue;
      }
      struct stat st;
      if (::stat(path.c_str(), &st) != 0) {  // follows symlinks
        int e = errno;
        if (has_image_extension(name) || e == ELOOP) scan.bad.push_back({path, stat_failure_reason(path, e)});
        continue;
      }
      if (S_ISDIR(st.st_mode)) {
        DirId id{st.st_dev, st.st_ino};
        auto ancestor = std::find_if(ancestors.begin(), ancestors.end(),
                                     [&](const auto& a) { return a.first == id; });
        if (ancestor != ancestors.end()) {
          scan.bad.push_back({path, fmt::format("symlink loop: leads back to {}; not followed", ancestor->second)});
          continue;
        }
        if (!visited.insert(id).second) {
          scan.notes.push_back(fmt::format("{}: a directory already scanned through another path; not scanned twice", path));
          continue;
        }
        ancestors.emplace_back(id, path);
        walk(path, files, depth + 1);
        ancestors.pop_back();
      } else if (S_ISREG(st.st_mode)) {
        if (has_image_extension(name)) {
          files.push_back(path);
        } else {
          if (ignored_files++ == 0) ignored_example = path;
        }
      } else if (has_image_extension(name)) {
        // Only stat()ed, never opened: opening a FIFO would block the walk.
        scan.bad.push_back({path, fmt::format("{}, not a regular file; not opened", file_kind(st.st_mode))});
      } else if (ignored_files++ == 0) {
        ignored_example = path;
      }
    }
  }
};

}  // namespace

const char* source_kind_name(SourceKind kind) {
  switch (kind) {
    case SourceKind::folder: return "folder";
    case SourceKind::text_list: return "text list";
    case SourceKind::idx: return "IDX";
  }
  return "?";
}

SourceKind detect_source_kind(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    fail_usage("{}: {}", path, errno == ENOENT ? "no such file or directory" : std::strerror(errno));
  if (S_ISDIR(st.st_mode)) return SourceKind::folder;
  if (!S_ISREG(st.st_mode)) fail_usage("{}: not a folder or a regular file", path);
  if (is_idx_file(path)) return SourceKind::idx;
  // Anything else must look like text: an image or other binary file named as a source is a
  // mistake to point out, not thousands of malformed list lines.
  uint8_t head[4096];
  size_t got = 0;
  if (FILE* f = std::fopen(path.c_str(), "rb")) {
    got = std::fread(head, 1, sizeof head, f);
    std::fclose(f);
  }
  // A gzip file can only be an IDX file: one whose start does not gunzip to an IDX header is
  // corrupt or not MNIST's format, and read_idx_file names which (exit 3, with zlib's message).
  if (got >= 2 && head[0] == 0x1f && head[1] == 0x8b) {
    read_idx_file(path, 0);
    fail_data("{}: gzip data, but not an IDX file", path);
  }
  bool is_image = false;
  try {
    probe_image(head, got);
    is_image = true;
  } catch (const Error&) {
  }
  if (is_image)
    fail_usage("{}: an image file; a source is a folder of class sub-folders, a text list of \"PATH LABEL\" "
               "lines, or an IDX file",
               path);
  if (std::memchr(head, 0, got) != nullptr)
    fail_usage("{}: binary data, not a text list (nor a folder or an IDX file)", path);
  return SourceKind::text_list;
}

std::string SourceItem::display() const {
  if (idx_index < 0) return path;
  return fmt::format("{}[{}]", path, idx_index);
}

bool has_image_extension(const std::string& filename) {
  static const char* const extensions[] = {".png", ".jpg", ".jpeg", ".jpe", ".bmp", ".gif", ".tga",
                                           ".ppm", ".pgm", ".pbm",  ".pnm", ".tif", ".tiff"};
  size_t dot = filename.rfind('.');
  if (dot == std::string::npos) return false;
  std::string ext = lower(filename.substr(dot));
  for (const char* e : extensions)
    if (ext == e) return true;
  return false;
}

FolderScan scan_folder(const std::string& root) {
  FolderScan scan;
  struct stat st;
  if (::stat(root.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    fail_usage("{}: not a folder", root);
  std::vector<std::string> names;
  int err = 0;
  if (!list_directory(root, names, err)) fail_usage("{}: cannot read folder: {}", root, std::strerror(err));

  Walker walker{scan, {}, {}, 0, {}};
  DirId root_id{st.st_dev, st.st_ino};
  walker.visited.insert(root_id);
  int64_t top_level_files = 0;
  // Each class folder first, so that it belongs to its own class: a symbolic link inside an
  // earlier class that leads to it is then the "already scanned" one, instead of taking the
  // class's images and leaving the class empty.
  std::vector<std::pair<std::string, DirId>> class_dirs;
  std::set<DirId> claimed;
  for (const std::string& name : names) {
    std::string path = join_path(root, name);
    if (has_line_break(name)) {
      scan.bad.push_back({path, kLineBreakReason});
      continue;
    }
    struct stat sub;
    if (::stat(path.c_str(), &sub) != 0) {
      scan.bad.push_back({path, stat_failure_reason(path, errno)});
      continue;
    }
    if (!S_ISDIR(sub.st_mode)) {
      ++top_level_files;
      continue;
    }
    DirId id{sub.st_dev, sub.st_ino};
    if (id == root_id) {
      scan.bad.push_back({path, fmt::format("symlink loop: leads back to {}; not followed", root)});
      continue;
    }
    class_dirs.emplace_back(name, id);
    walker.visited.insert(id);
  }
  for (const auto& [name, id] : class_dirs) {
    std::string path = join_path(root, name);
    FolderClass cls;
    cls.folder = name;
    cls.name = name;
    std::replace(cls.name.begin(), cls.name.end(), '_', ' ');
    if (claimed.insert(id).second) {
      walker.ancestors = {{root_id, root}, {id, path}};
      walker.walk(path, cls.files, 1);
    } else {
      scan.notes.push_back(fmt::format("{}: a directory already scanned through another path; not scanned twice", path));
    }
    std::sort(cls.files.begin(), cls.files.end());
    scan.classes.push_back(std::move(cls));
  }
  if (top_level_files > 0)
    scan.notes.push_back(fmt::format("{}: {} file(s) directly in the folder ignored (images belong in class sub-folders)",
                                     root, top_level_files));
  if (walker.ignored_files > 0)
    scan.notes.push_back(fmt::format("{} file(s) without an image extension ignored, e.g. {}",
                                     walker.ignored_files, walker.ignored_example));
  return scan;
}

std::vector<std::string> read_labels_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) fail_usage("{}: no such labels file", path);
    fail_runtime("{}: cannot read labels file: {}", path, std::strerror(errno));
  }
  std::vector<std::string> labels;
  std::set<std::string> seen;
  std::string line;
  int line_number = 0;
  while (std::getline(in, line)) {
    if (++line_number == 1) drop_utf8_bom(line);
    std::string name = trim(line);
    if (name.empty()) continue;
    if (!seen.insert(name).second)
      fail_data("{}:{}: class name \"{}\" appears twice", path, line_number, name);
    labels.push_back(name);
  }
  if (labels.empty()) fail_data("{}: labels file has no class names", path);
  return labels;
}

TextList read_text_list(const std::string& path, const std::string& folder_prefix, int num_classes) {
  std::ifstream in(path);
  if (!in) fail_runtime("{}: cannot read list: {}", path, std::strerror(errno));
  TextList list;
  std::string line;
  int line_number = 0;
  std::unordered_map<std::string, int> first_line;  // resolved path -> the line that named it
  const fs::path cwd = fs::current_path();
  // With --folder, every path must stay inside it (checked lexically: no absolute path elsewhere,
  // no ".." climbing out), so a list cannot make the tool read files the user did not point at.
  const fs::path folder_root =
      folder_prefix.empty() ? fs::path() : fs::absolute(fs::path(folder_prefix)).lexically_normal();
  while (std::getline(in, line)) {
    if (++line_number == 1) drop_utf8_bom(line);
    std::string text = trim(line);
    if (text.empty() || text[0] == '#') continue;
    std::string where = fmt::format("{}:{}", path, line_number);
    size_t split = text.find_last_of(" \t");
    std::string label_text = split == std::string::npos ? "" : text.substr(split + 1);
    std::string file = split == std::string::npos ? "" : trim(text.substr(0, split));
    bool digits_only = !label_text.empty() &&
                       std::all_of(label_text.begin(), label_text.end(),
                                   [](char c) { return c >= '0' && c <= '9'; });
    if (file.empty() || !digits_only) {
      list.bad.push_back({where, fmt::format("expected \"PATH LABEL\" (LABEL a number), got \"{}\"", text)});
      continue;
    }
    if (label_text.size() > 9 || std::stol(label_text) >= num_classes) {
      list.bad.push_back({where, fmt::format("{}: label {} out of range: {} classes (0..{})", file,
                                             label_text, num_classes, num_classes - 1)});
      continue;
    }
    SourceItem item;
    item.path = (!folder_prefix.empty() && file[0] != '/') ? join_path(folder_prefix, file) : file;
    if (!folder_prefix.empty()) {
      fs::path resolved = (folder_root / file).lexically_normal();  // an absolute `file` replaces the root
      fs::path inside = resolved.lexically_relative(folder_root);
      if (inside.empty() || *inside.begin() == ".." || inside == ".") {
        list.bad.push_back({where, fmt::format("{}: outside the --folder {}; not read", file, folder_prefix)});
        continue;
      }
    }
    std::string key = (cwd / item.path).lexically_normal().string();
    auto [seen, inserted] = first_line.emplace(key, line_number);
    if (!inserted) {
      list.bad.push_back({where, fmt::format("{}: duplicate of line {}; skipped", file, seen->second)});
      continue;
    }
    item.label = static_cast<int32_t>(std::stol(label_text));
    list.items.push_back(std::move(item));
  }
  if (in.bad()) fail_runtime("{}: read error", path);
  return list;
}

IdxSource read_idx_source(const std::string& images_path, const std::string& labels_path,
                          int num_classes) {
  auto images = std::make_shared<IdxImages>();
  images->path = images_path;
  images->array = read_idx_file(images_path);
  const auto& dims = images->array.dims;
  if (dims.size() == 3 || (dims.size() == 4 && (dims[3] == 1 || dims[3] == 3))) {
    images->rows = dims[1];
    images->cols = dims[2];
    images->channels = dims.size() == 4 ? static_cast<int>(dims[3]) : 1;
  } else {
    fail_data("{}: IDX images must be (count, rows, cols) or (count, rows, cols, 1|3), got {} dims",
              images_path, dims.size());
  }
  if (images->rows < 1 || images->cols < 1)
    fail_data("{}: IDX images of size {}x{}", images_path, images->cols, images->rows);
  IdxArray labels = read_idx_file(labels_path);
  if (labels.dims.size() != 1)
    fail_data("{}: IDX labels must be one-dimensional, got {} dims", labels_path, labels.dims.size());
  if (labels.count() != images->array.count())
    fail_data("{} holds {} images but {} holds {} labels", images_path, images->array.count(),
              labels_path, labels.count());

  IdxSource source;
  source.images = images;
  source.items.reserve(static_cast<size_t>(labels.count()));
  for (int64_t i = 0; i < labels.count(); ++i) {
    int32_t label = labels.data[static_cast<size_t>(i)];
    if (num_classes > 0 && label >= num_classes) {
      source.bad.push_back({fmt::format("{}[{}]", images_path, i),
                            fmt::format("label {} out of range: {} classes (0..{})", label, num_classes,
                                        num_classes - 1)});
      continue;
    }
    SourceItem item;
    item.path = images_path;
    item.idx_index = i;
    item.idx = images;
    item.label = label;
    source.max_label = std::max(source.max_label, label);
    source.items.push_back(std::move(item));
  }
  return source;
}

}  // namespace digits
