// A small LMDB wrapper: one unnamed database per environment directory (data.mdb + lock.mdb),
// as Caffe and DIGITS lay out train_db/, val_db/, test_db/.
//
// Writer: opened with MDB_NOSYNC, puts batched into transactions whose pages LMDB writes with
// write(2) at commit, a background fdatasync every sync_step_bytes and one at finish(). The map
// starts small and doubles on MDB_MAP_FULL (the batch is replayed), so no size limit reaches the
// user; finish() returns the data file's size and XXH64, hashed while the final sync runs.
// (MDB_WRITEMAP, which writes the records through the map, cost more CPU for large records:
// the kernel zero-fills every fresh page of the map before the copy lands in it, and write-back
// of mapped pages interrupts the other cores to write-protect them.) The blocks of each commit
// are reserved first, so that a full disk is an ENOSPC error naming the file.
// Reader: read-only, no lock file (datasets are immutable once published), cursor iteration in
// key order and lookup by key.
// Every error names the directory and LMDB's own message; LMDB errors are Error(runtime)
// except MDB_CORRUPTED / MDB_PAGE_NOTFOUND / MDB_INVALID / MDB_VERSION_MISMATCH, which are
// Error(data) (a broken dataset).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

struct MDB_env;
struct MDB_txn;
struct MDB_cursor;

namespace digits {

class LmdbWriter {
 public:
  struct Options {
    size_t batch_records = 1000;          // commit after this many puts ...
    size_t batch_bytes = 8u << 20;        // ... or this many bytes, whichever comes first
    size_t initial_map_bytes = 64u << 20; // doubled on MDB_MAP_FULL
    size_t sync_step_bytes = 32u << 20;   // a background fdatasync per this many committed bytes
  };
  // Creates `dir` (must not exist or be empty) and an empty database in it.
  explicit LmdbWriter(const std::string& dir);
  LmdbWriter(const std::string& dir, const Options& options);
  ~LmdbWriter();  // without finish(): pending puts are dropped, the environment closed
  LmdbWriter(const LmdbWriter&) = delete;
  LmdbWriter& operator=(const LmdbWriter&) = delete;

  // Queues key -> value; commits when the batch is full. Keys must be unique (MDB_NOOVERWRITE:
  // a duplicate is Error(runtime), a bug in the caller).
  void put(std::string key, std::string value);
  // data.mdb as finish() left it: its size and content hash (core/file_hash.h).
  struct DataFile {
    uint64_t bytes = 0;
    uint64_t xxh64 = 0;
  };
  // Commits what is queued, syncs to disk, trims the file, closes. Idempotent.
  const DataFile& finish();

  size_t count() const { return committed_ + pending_.size(); }
  const std::string& dir() const { return dir_; }
  size_t map_bytes() const { return map_bytes_; }

 private:
  void commit_pending();
  void reserve_disk();
  void start_writeback();
  void syncer_loop();
  void stop_syncer();
  void close();

  std::string dir_;
  Options options_;
  MDB_env* env_ = nullptr;
  size_t map_bytes_ = 0;
  std::vector<std::pair<std::string, std::string>> pending_;
  size_t pending_bytes_ = 0;
  size_t committed_ = 0;
  bool finished_ = false;
  DataFile data_file_;

  // The background syncer (syncer_loop): committed_bytes_ is what the writer has committed,
  // synced_bytes_ what the last fdatasync covered.
  std::thread syncer_;
  std::mutex sync_mutex_;
  std::condition_variable sync_wake_;
  uint64_t committed_bytes_ = 0, synced_bytes_ = 0;
  bool stop_syncing_ = false;
  int sync_error_ = 0;
};

class LmdbReader {
 public:
  // Opens an existing environment directory read-only. Error(usage) if `dir` does not exist,
  // Error(data) if it is not an LMDB environment.
  explicit LmdbReader(const std::string& dir);
  ~LmdbReader();
  LmdbReader(const LmdbReader&) = delete;
  LmdbReader& operator=(const LmdbReader&) = delete;

  size_t count() const;  // entries in the database
  std::optional<std::string> get(std::string_view key) const;

  // Calls visit(key, value) for every entry in key order until it returns false. The views are
  // valid only during the call.
  void for_each(const std::function<bool(std::string_view key, std::string_view value)>& visit) const;

  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  MDB_env* env_ = nullptr;
};

}  // namespace digits
