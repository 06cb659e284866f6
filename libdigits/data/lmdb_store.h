// A small LMDB wrapper: one unnamed database per environment directory (data.mdb + lock.mdb),
// as Caffe and DIGITS lay out train_db/, val_db/, test_db/.
//
// Writer: opened with MDB_WRITEMAP | MDB_NOSYNC (about 5x faster for large records here), puts
// batched into transactions, one explicit sync at finish(). The map starts small and doubles on
// MDB_MAP_FULL (the batch is replayed), so no size limit reaches the user; finish() trims the
// sparse data file back to the pages in use.
// Reader: read-only, no lock file (datasets are immutable once published), cursor iteration in
// key order and lookup by key.
// Every error names the directory and LMDB's own message; LMDB errors are Error(runtime)
// except MDB_CORRUPTED / MDB_PAGE_NOTFOUND / MDB_INVALID / MDB_VERSION_MISMATCH, which are
// Error(data) (a broken dataset).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
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
    size_t batch_bytes = 64u << 20;       // ... or this many bytes, whichever comes first
    size_t initial_map_bytes = 64u << 20; // doubled on MDB_MAP_FULL
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
  // Commits what is queued, syncs to disk, trims the file, closes. Idempotent.
  void finish();

  size_t count() const { return committed_ + pending_.size(); }
  const std::string& dir() const { return dir_; }
  size_t map_bytes() const { return map_bytes_; }

 private:
  void commit_pending();
  void reserve_disk();
  void start_writeback();
  void close();

  std::string dir_;
  Options options_;
  MDB_env* env_ = nullptr;
  size_t map_bytes_ = 0;
  std::vector<std::pair<std::string, std::string>> pending_;
  size_t pending_bytes_ = 0;
  size_t committed_ = 0;
  bool finished_ = false;
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
