// Files that are either absent or complete: everything we publish is written under a temporary
// name in the same directory, flushed, and renamed into place (DESIGN.md section 5b).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace digits {

// Writes `content` to path.tmp-<pid>, fsyncs, renames to `path`. Error(runtime) naming the
// path on failure (disk full, permissions), with the temporary removed.
void write_file_atomic(const std::string& path, std::string_view content);
// Whole file into memory; Error(usage) if missing, Error(runtime) if unreadable; refuses files
// larger than max_bytes with Error(data).
std::string read_file(const std::string& path, size_t max_bytes = size_t(1) << 30);
// Appends one line (a '\n' is added) and flushes: for logs that a crash must not truncate
// mid-line more than the last line.
void append_line(const std::string& path, std::string_view line);

// One run at a time per output: an advisory lock (flock) on ".NAME.lock" beside `output`, held
// for the object's life. The kernel drops it when the process dies, however it dies, so a killed
// run never blocks the next one; the file is removed on a normal exit. A second run fails at once
// with Error(runtime): "OUTPUT: another TOOL (pid P) is ACTIVITY now (lock FILE); wait for it to
// finish or stop it", where `activity` is e.g. "creating this dataset".
class OutputLock {
 public:
  OutputLock(const std::string& output, std::string_view tool, std::string_view activity);
  ~OutputLock();
  OutputLock(const OutputLock&) = delete;
  OutputLock& operator=(const OutputLock&) = delete;
  // Whether some process holds the lock of `output` now (without taking it).
  static bool held(const std::string& output);
  // Removes the entries beside `output` whose names start with one of `name_prefixes`: what
  // runs killed while building or replacing `output` left (a temporary directory, a swapped-out
  // old one). Only under this lock, which says that none of them belongs to a live run.
  void remove_leftovers(const std::vector<std::string>& name_prefixes) const;
  // The output's own name ("lenet" for "jobs/lenet/"), for those prefixes.
  const std::string& output_name() const { return name_; }

 private:
  std::string path_;
  std::string name_;
  int fd_ = -1;
};

}  // namespace digits
