// Where the images of a classification dataset come from (DIGITS's "New Image Classification
// Dataset" inputs), listed without decoding anything:
//  - a folder with one sub-folder per class (class names = sorted sub-folder names, '_' shown as
//    a space as DIGITS did), walked recursively, following symlinks; a symlink that leads back
//    to a directory on the current path (a loop) is reported and not followed, a directory
//    reached a second time through another link is scanned once;
//  - a text list of "PATH LABEL" lines (DIGITS's "Use Text Files"): the label is the last
//    whitespace-separated token, the path everything before it (spaces allowed), relative paths
//    resolved against --folder when given (else the current directory); blank lines and lines
//    starting with '#' are skipped; CR line ends and surrounding spaces are ignored; a path named
//    a second time, and with --folder a path outside that folder (absolute elsewhere, or ".."
//    climbing out), are bad items reported with "list.txt:LINE";
//  - an IDX image file with its IDX labels file (MNIST, Fashion-MNIST), gzipped or not.
// Problems found while listing (a symlink loop, an unreadable directory, a malformed list line,
// a label out of range) are returned as bad items, each with its reason: the builder reports
// them with the decoding failures and counts them against --max-bad.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/idx.h"

namespace digits {

enum class SourceKind { folder, text_list, idx };
const char* source_kind_name(SourceKind kind);  // "folder", "text list", "IDX"

// Folder if `path` is a directory, IDX if its magic number says so, otherwise a text list.
// Error(usage) if the path does not exist.
SourceKind detect_source_kind(const std::string& path);

// IDX images shared by every item that points into them: (count, rows, cols[, channels]).
struct IdxImages {
  std::string path;
  IdxArray array;
  int64_t rows = 0, cols = 0;
  int channels = 1;  // 1 for (N, rows, cols); the last dim for (N, rows, cols, 1|3)
};

struct SourceItem {
  std::string path;                       // image file, or the IDX images file
  int64_t idx_index = -1;                 // image number inside the IDX file; -1 for files
  std::shared_ptr<const IdxImages> idx;   // set for IDX items
  int32_t label = 0;
  std::string display() const;            // "path", or "path[index]" for IDX items
};

struct BadItem {
  std::string item;    // the file, "list.txt:12", "images.gz[7]"
  std::string reason;  // "symlink loop", "label 12 out of range (10 classes)"
};

// A folder source: classes in sorted sub-folder order, each with its image files (sorted by
// path). `name` is the display name ('_' -> ' '); `folder` the sub-folder's own name.
struct FolderClass {
  std::string folder;
  std::string name;
  std::vector<std::string> files;
};
struct FolderScan {
  std::vector<FolderClass> classes;
  std::vector<BadItem> bad;
  std::vector<std::string> notes;  // files skipped for their extension, repeated directories
};
// Image extensions taken from a folder (case-insensitive): png jpg jpeg jpe bmp gif tga ppm pgm
// pbm pnm tif tiff. Other files are counted in a note, not decoded.
bool has_image_extension(const std::string& filename);
FolderScan scan_folder(const std::string& root);

// One class name per line; surrounding whitespace trimmed, blank lines skipped (DIGITS).
// Error(usage) for a missing file, Error(data) for an empty one or a duplicate name.
std::vector<std::string> read_labels_file(const std::string& path);

// A text list: items with labels checked against num_classes (> 0).
struct TextList {
  std::vector<SourceItem> items;
  std::vector<BadItem> bad;
};
TextList read_text_list(const std::string& path, const std::string& folder_prefix, int num_classes);

// An IDX pair. Labels must be 1-D with the same count as the images; images (N, rows, cols) or
// (N, rows, cols, 1|3). Labels >= num_classes are bad items when num_classes > 0; with
// num_classes == 0 any label is accepted (the caller names classes "0".."max").
struct IdxSource {
  std::shared_ptr<const IdxImages> images;
  std::vector<SourceItem> items;
  std::vector<BadItem> bad;
  int32_t max_label = -1;
};
IdxSource read_idx_source(const std::string& images_path, const std::string& labels_path,
                          int num_classes);

}  // namespace digits
