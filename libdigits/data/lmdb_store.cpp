#include "data/lmdb_store.h"

#include <fcntl.h>  // sync_file_range, fallocate
#include <lmdb.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "core/file_hash.h"

namespace digits {
namespace {

namespace fs = std::filesystem;

bool is_corruption(int rc) {
  return rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND || rc == MDB_INVALID ||
         rc == MDB_VERSION_MISMATCH;
}

[[noreturn]] void lmdb_fail(const std::string& dir, const char* operation, int rc) {
  fail(is_corruption(rc) ? ExitCode::data : ExitCode::runtime, "{}: LMDB {} failed: {}", dir,
       operation, mdb_strerror(rc));
}

void check(int rc, const std::string& dir, const char* operation) {
  if (rc != MDB_SUCCESS) lmdb_fail(dir, operation, rc);
}

// Largest map we will grow to before calling it a failure: far beyond any disk here, so it is
// only reached if LMDB keeps reporting MAP_FULL for a reason other than the map size.
constexpr size_t kMaxMapBytes = size_t{1} << 46;

// Aborts a write transaction unless it was committed.
struct TxnGuard {
  MDB_txn* txn = nullptr;
  ~TxnGuard() {
    if (txn) mdb_txn_abort(txn);
  }
};

}  // namespace

LmdbWriter::LmdbWriter(const std::string& dir) : LmdbWriter(dir, Options{}) {}

LmdbWriter::LmdbWriter(const std::string& dir, const Options& options)
    : dir_(dir), options_(options), map_bytes_(options.initial_map_bytes) {
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_empty(dir, ec))
    fail_runtime("{}: cannot create LMDB database: the directory exists and is not empty", dir);
  fs::create_directories(dir, ec);
  if (ec) fail_runtime("{}: cannot create directory: {}", dir, ec.message());
  // lock.mdb is written through a memory map inside mdb_env_open: on a full disk that would be a
  // SIGBUS, so its blocks (~8 KiB for LMDB's 126 reader slots) are reserved first.
  std::string lock_file = dir_ + "/lock.mdb";
  int lock_fd = ::open(lock_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0664);
  if (lock_fd < 0) fail_runtime("{}: cannot create: {}", lock_file, std::strerror(errno));
  int reserved = ::fallocate(lock_fd, FALLOC_FL_KEEP_SIZE, 0, 16 << 10);
  int reserve_error = errno;
  ::close(lock_fd);
  if (reserved != 0 && reserve_error != EOPNOTSUPP)
    fail_runtime("{}: cannot write: {}", lock_file, std::strerror(reserve_error));
  check(mdb_env_create(&env_), dir_, "env_create");
  int rc = mdb_env_set_mapsize(env_, map_bytes_);
  if (rc == MDB_SUCCESS) rc = mdb_env_open(env_, dir_.c_str(), MDB_NOSYNC, 0664);
  if (rc != MDB_SUCCESS) {
    mdb_env_close(env_);
    env_ = nullptr;
    lmdb_fail(dir_, "env_open", rc);
  }
  pending_.reserve(options_.batch_records);
  syncer_ = std::thread([this] { syncer_loop(); });
}

LmdbWriter::~LmdbWriter() {
  stop_syncer();
  close();
}

// The disk here (a virtual one with a write-back cache) takes what write-back sends it at once,
// and pays for it at the next cache flush: a final sync that flushed all of a 400 MB database
// took 0.3 to 0.5 s after every record was written, however early write-back had started. So
// a thread flushes the file (fdatasync: the pages, the extent changes, the disk cache) each
// sync_step_bytes committed, while the writer goes on, and the final sync finds little to do.
// The writer never waits for it; a failure is kept for finish() (the kernel reports a write
// error to one fdatasync caller only).
void LmdbWriter::syncer_loop() {
  mdb_filehandle_t fd;
  if (mdb_env_get_fd(env_, &fd) != MDB_SUCCESS) return;
  std::unique_lock lock(sync_mutex_);
  for (;;) {
    sync_wake_.wait(lock, [&] {
      return stop_syncing_ || committed_bytes_ >= synced_bytes_ + options_.sync_step_bytes;
    });
    if (stop_syncing_) return;
    const uint64_t target = committed_bytes_;
    lock.unlock();
    const int rc = ::fdatasync(fd);
    const int err = errno;
    lock.lock();
    if (rc != 0 && sync_error_ == 0) sync_error_ = err;
    synced_bytes_ = target;
  }
}

void LmdbWriter::stop_syncer() {
  if (!syncer_.joinable()) return;
  {
    std::lock_guard lock(sync_mutex_);
    stop_syncing_ = true;
  }
  sync_wake_.notify_one();
  syncer_.join();
}

void LmdbWriter::close() {
  if (env_) mdb_env_close(env_);
  env_ = nullptr;
}

void LmdbWriter::put(std::string key, std::string value) {
  if (finished_) fail_runtime("{}: put after finish", dir_);
  pending_bytes_ += key.size() + value.size();
  pending_.emplace_back(std::move(key), std::move(value));
  if (pending_.size() >= options_.batch_records || pending_bytes_ >= options_.batch_bytes)
    commit_pending();
}

// LMDB reports a short write (the disk filling up during a commit) as EIO, which hides the
// cause. So the blocks a commit may write (new pages above the last used one: the values, at
// most half-full leaf pages, the branch pages and copy-on-write copies) are allocated first,
// and a full disk is ENOSPC naming the file. finish() trims what was reserved and not used.
void LmdbWriter::reserve_disk() {
  MDB_envinfo info;
  MDB_stat stat;
  mdb_filehandle_t fd;
  if (mdb_env_info(env_, &info) != MDB_SUCCESS || mdb_env_stat(env_, &stat) != MDB_SUCCESS ||
      mdb_env_get_fd(env_, &fd) != MDB_SUCCESS)
    return;
  uint64_t psize = stat.ms_psize;
  uint64_t used = (static_cast<uint64_t>(info.me_last_pgno) + 1) * psize;
  uint64_t need = 2 * (pending_bytes_ + 64 * pending_.size()) + 32 * psize;
  if (used + need > map_bytes_) need = map_bytes_ > used ? map_bytes_ - used : 0;
  if (need == 0) return;
  if (::fallocate(fd, 0, static_cast<off_t>(used), static_cast<off_t>(need)) != 0 && errno != EOPNOTSUPP) {
    int err = errno;
    fail_runtime("{}/data.mdb: cannot write: {}", dir_, std::strerror(err));
  }
}

void LmdbWriter::commit_pending() {
  if (pending_.empty()) return;
  for (;;) {
    reserve_disk();  // again after the map grew
    TxnGuard guard;
    check(mdb_txn_begin(env_, nullptr, 0, &guard.txn), dir_, "txn_begin");
    MDB_dbi dbi;
    check(mdb_dbi_open(guard.txn, nullptr, 0, &dbi), dir_, "dbi_open");
    int rc = MDB_SUCCESS;
    for (auto& [key, value] : pending_) {
      MDB_val k{key.size(), key.data()};
      MDB_val v{value.size(), value.data()};
      rc = mdb_put(guard.txn, dbi, &k, &v, MDB_NOOVERWRITE);
      if (rc == MDB_KEYEXIST) fail_runtime("{}: duplicate key '{}'", dir_, key);
      if (rc != MDB_SUCCESS) break;
    }
    if (rc == MDB_SUCCESS) {
      rc = mdb_txn_commit(guard.txn);
      guard.txn = nullptr;  // a commit frees the transaction whether it succeeds or not
    }
    if (rc == MDB_MAP_FULL) {
      if (guard.txn) {
        mdb_txn_abort(guard.txn);
        guard.txn = nullptr;
      }
      if (map_bytes_ >= kMaxMapBytes) lmdb_fail(dir_, "put (map cannot grow further)", rc);
      map_bytes_ *= 2;
      check(mdb_env_set_mapsize(env_, map_bytes_), dir_, "env_set_mapsize");
      continue;  // replay the whole batch in a fresh transaction
    }
    check(rc, dir_, "put/commit");
    break;
  }
  start_writeback();
  {
    std::lock_guard lock(sync_mutex_);
    committed_bytes_ += pending_bytes_;
  }
  sync_wake_.notify_one();
  committed_ += pending_.size();
  pending_.clear();
  pending_bytes_ = 0;
}

// Asks the kernel to start writing the committed pages to disk now, in the background, so that
// finish()'s synchronous flush finds little left: without this the whole database (hundreds of
// MB for 256x256 raw records) is written during that one call, after all the work is done.
void LmdbWriter::start_writeback() {
#if defined(__linux__)
  mdb_filehandle_t fd;
  if (mdb_env_get_fd(env_, &fd) == MDB_SUCCESS) ::sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
#endif
}

const LmdbWriter::DataFile& LmdbWriter::finish() {
  if (finished_) return data_file_;
  commit_pending();
  stop_syncer();
  if (sync_error_ != 0) fail_runtime("{}/data.mdb: cannot write: {}", dir_, std::strerror(sync_error_));
  MDB_envinfo info;
  MDB_stat stat;
  check(mdb_env_info(env_, &info), dir_, "env_info");
  check(mdb_env_stat(env_, &stat), dir_, "env_stat");
  std::string data_file = dir_ + "/data.mdb";
  const uint64_t used = (static_cast<uint64_t>(info.me_last_pgno) + 1) * stat.ms_psize;
  struct stat st;
  if (::stat(data_file.c_str(), &st) != 0) fail_runtime("{}: cannot stat: {}", data_file, std::strerror(errno));
  // The file holds every page up to me_last_pgno (and the blocks reserved past them).
  if (static_cast<uint64_t>(st.st_size) < used)
    fail_runtime("{}: {} bytes, but its pages run to {} bytes", data_file, st.st_size, used);
  // The last commit fixed the bytes [0, used): the published file. They are hashed on a second
  // thread while this one waits for the disk (both only read the page cache), through a memory
  // map of our own (LMDB does not give out its map's address): 4x faster than read() copies.
  mdb_filehandle_t fd;
  check(mdb_env_get_fd(env_, &fd), dir_, "env_get_fd");
  void* pages = ::mmap(nullptr, used, PROT_READ, MAP_SHARED, fd, 0);
  if (pages == MAP_FAILED) fail_runtime("{}: cannot map: {}", data_file, std::strerror(errno));
  Xxh64 hash;
  std::thread hasher([&] {
    ::madvise(pages, used, MADV_SEQUENTIAL);
    hash.update(pages, used);
  });
  int rc = mdb_env_sync(env_, 1);
  hasher.join();
  ::munmap(pages, used);
  check(rc, dir_, "env_sync");
  close();
  finished_ = true;
  // Trim the blocks reserved and not used, so that the dataset's size on disk and in a tarball
  // is what it holds; readers never touch pages past me_last_pgno.
  if (static_cast<uint64_t>(st.st_size) > used && ::truncate(data_file.c_str(), static_cast<off_t>(used)) != 0)
    fail_runtime("{}: cannot trim to {} bytes: {}", data_file, used, std::strerror(errno));
  data_file_ = {used, hash.digest()};
  return data_file_;
}

LmdbReader::LmdbReader(const std::string& dir) : dir_(dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) fail_usage("{}: no such LMDB directory", dir);
  if (!fs::exists(fs::path(dir) / "data.mdb", ec))
    fail_data("{}: not an LMDB database (no data.mdb)", dir);
  check(mdb_env_create(&env_), dir_, "env_create");
  int rc = mdb_env_open(env_, dir_.c_str(), MDB_RDONLY | MDB_NOLOCK | MDB_NOTLS, 0664);
  if (rc != MDB_SUCCESS) {
    mdb_env_close(env_);
    env_ = nullptr;
    if (rc == MDB_INVALID) fail_data("{}: not an LMDB database: {}", dir_, mdb_strerror(rc));
    lmdb_fail(dir_, "env_open", rc);
  }
  // A file cut short would make LMDB read pages past its end through the memory map (SIGBUS):
  // refuse it while only the meta pages have been read.
  MDB_envinfo info;
  MDB_stat stat;
  struct stat st;
  std::string data_file = dir_ + "/data.mdb";
  if (mdb_env_info(env_, &info) == MDB_SUCCESS && mdb_env_stat(env_, &stat) == MDB_SUCCESS &&
      ::stat(data_file.c_str(), &st) == 0) {
    uint64_t needed = (static_cast<uint64_t>(info.me_last_pgno) + 1) * stat.ms_psize;
    if (static_cast<uint64_t>(st.st_size) < needed) {
      mdb_env_close(env_);
      env_ = nullptr;
      fail_data("{}: truncated: {} bytes, but its pages run to {} bytes", data_file, st.st_size, needed);
    }
  }
}

LmdbReader::~LmdbReader() {
  if (env_) mdb_env_close(env_);
}

namespace {
struct ReadTxn {
  MDB_txn* txn = nullptr;
  MDB_dbi dbi = 0;
  ReadTxn(MDB_env* env, const std::string& dir) {
    check(mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn), dir, "txn_begin");
    int rc = mdb_dbi_open(txn, nullptr, 0, &dbi);
    if (rc != MDB_SUCCESS) {
      mdb_txn_abort(txn);
      lmdb_fail(dir, "dbi_open", rc);
    }
  }
  ~ReadTxn() { mdb_txn_abort(txn); }
};
}  // namespace

size_t LmdbReader::count() const {
  ReadTxn read(env_, dir_);
  MDB_stat stat;
  check(mdb_stat(read.txn, read.dbi, &stat), dir_, "stat");
  return stat.ms_entries;
}

std::optional<std::string> LmdbReader::get(std::string_view key) const {
  ReadTxn read(env_, dir_);
  MDB_val k{key.size(), const_cast<char*>(key.data())};
  MDB_val v;
  int rc = mdb_get(read.txn, read.dbi, &k, &v);
  if (rc == MDB_NOTFOUND) return std::nullopt;
  check(rc, dir_, "get");
  return std::string(static_cast<const char*>(v.mv_data), v.mv_size);
}

void LmdbReader::for_each(
    const std::function<bool(std::string_view key, std::string_view value)>& visit) const {
  ReadTxn read(env_, dir_);
  MDB_cursor* cursor = nullptr;
  check(mdb_cursor_open(read.txn, read.dbi, &cursor), dir_, "cursor_open");
  struct CursorGuard {
    MDB_cursor* c;
    ~CursorGuard() { mdb_cursor_close(c); }
  } cursor_guard{cursor};
  MDB_val k, v;
  int rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST);
  while (rc == MDB_SUCCESS) {
    if (!visit(std::string_view(static_cast<const char*>(k.mv_data), k.mv_size),
               std::string_view(static_cast<const char*>(v.mv_data), v.mv_size)))
      return;
    rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT);
  }
  if (rc != MDB_NOTFOUND) lmdb_fail(dir_, "cursor_get", rc);
}

}  // namespace digits
