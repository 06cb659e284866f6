#include "core/fs.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace digits {

void write_file_atomic(const std::string& path, std::string_view content) {
  std::string tmp = fmt::format("{}.tmp-{}", path, getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail_runtime("cannot write {}: {}", path, std::strerror(errno));
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      fail_runtime("cannot write {}: {}", path, std::strerror(err));
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    fail_runtime("cannot write {}: {}", path, std::strerror(err));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    fail_runtime("cannot rename {} to {}: {}", tmp, path, std::strerror(err));
  }
}

std::string read_file(const std::string& path, size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) fail_usage("{}: no such file", path);
    fail_runtime("cannot read {}: {}", path, std::strerror(errno));
  }
  struct stat st = {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail_usage("{}: not a regular file", path);
  }
  if (static_cast<size_t>(st.st_size) > max_bytes) {
    ::close(fd);
    fail_data("{}: file of {} bytes exceeds the limit of {} bytes", path, st.st_size, max_bytes);
  }
  std::string out(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::read(fd, out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      fail_runtime("cannot read {}: {}", path, std::strerror(err));
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  out.resize(done);
  return out;
}

void append_line(const std::string& path, std::string_view line) {
  std::FILE* f = std::fopen(path.c_str(), "a");
  if (!f) fail_runtime("cannot append to {}: {}", path, std::strerror(errno));
  bool ok = std::fwrite(line.data(), 1, line.size(), f) == line.size() && std::fputc('\n', f) != EOF;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) fail_runtime("cannot append to {}: {}", path, std::strerror(errno));
}

namespace {

// The output without trailing separators ("jobs/lenet/" is "jobs/lenet"), so that both spellings
// take the same lock.
std::filesystem::path output_path(const std::string& output) {
  std::filesystem::path path = std::filesystem::path(output).lexically_normal();
  if (path.filename().empty()) path = path.parent_path();
  return path;
}

std::string lock_path(const std::string& output) {
  const std::filesystem::path path = output_path(output);
  return (path.parent_path() / ("." + path.filename().string() + ".lock")).string();
}

}  // namespace

OutputLock::OutputLock(const std::string& output, std::string_view tool, std::string_view activity)
    : path_(lock_path(output)), name_(output_path(output).filename().string()) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) fail_runtime("{}: cannot create the lock file: {}", path_, std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      int err = errno;
      char pid[32] = {};
      ssize_t n = ::pread(fd_, pid, sizeof pid - 1, 0);
      ::close(fd_);
      fd_ = -1;
      if (err != EWOULDBLOCK) fail_runtime("{}: cannot lock: {}", path_, std::strerror(err));
      std::string holder = n > 0 ? std::string(pid, static_cast<size_t>(n)) : "";
      while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
      fail_runtime("{}: another {}{} is {} now (lock {}); wait for it to finish or stop it", output, tool,
                   holder.empty() ? "" : fmt::format(" (pid {})", holder), activity, path_);
    }
    // The holder before us may have removed the file between our open and our lock: then we
    // hold a lock on a name nobody else can find, so start again on the current file.
    struct stat locked, current;
    if (::fstat(fd_, &locked) == 0 && ::stat(path_.c_str(), &current) == 0 &&
        locked.st_ino == current.st_ino && locked.st_dev == current.st_dev) {
      std::string pid = fmt::format("{}\n", ::getpid());
      if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) < 0) {
        // The pid is only for the message of a run that waits on us; the lock is what counts.
      }
      return;
    }
    ::close(fd_);
    fd_ = -1;
  }
  fail_runtime("{}: cannot lock: the lock file keeps being replaced", path_);
}

OutputLock::~OutputLock() {
  if (fd_ < 0) return;
  ::unlink(path_.c_str());  // while still locked: whoever opens it next finds a fresh file
  ::close(fd_);
}

void OutputLock::remove_leftovers(const std::vector<std::string>& name_prefixes) const {
  std::filesystem::path dir = std::filesystem::path(path_).parent_path();
  if (dir.empty()) dir = ".";
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    for (const std::string& prefix : name_prefixes)
      if (name.rfind(prefix, 0) == 0) {
        std::error_code ignored;  // best effort: a leftover that stays harms no one
        std::filesystem::remove_all(entry.path(), ignored);
        break;
      }
  }
}

bool OutputLock::held(const std::string& output) {
  const std::string path = lock_path(output);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;  // no lock file: nobody runs
  const bool free = ::flock(fd, LOCK_SH | LOCK_NB) == 0;
  ::close(fd);  // drops our shared lock, if we took it
  return !free;
}

}  // namespace digits
