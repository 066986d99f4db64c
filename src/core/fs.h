// core/fs.h: atomic, private file writes.
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace medpipe {

namespace fs = std::filesystem;

// Writes through `write_to(temp_path)` then renames over `path`: readers see the old file or
// the whole new one, never a part. Parent folders are created (mode 0700). Throws RunError.
void atomic_write(const fs::path& path, const std::function<void(const fs::path&)>& write_to);
void atomic_write_text(const fs::path& path, std::string_view text);
// The same for a writer of a stream (a model, a checkpoint): the bytes go straight to the
// temporary file through a 1 MiB buffer, never all in memory (an in-memory copy of a 228 MB
// checkpoint cost seconds of page faults). A failed write is a RunError, the old file intact.
void atomic_write_stream(const fs::path& path, const std::function<void(std::ostream&)>& write);

// Many files (per-image results) made durable with one flush to disk: add() writes each to its
// temporary name, commit() syncs them all with one syncfs(2) and then renames each over its
// path, so each reader sees a file whole or not at all, as with atomic_write. A fsync per file
// costs ~0.5 ms on ext4 (5 s for 10,000 results). Temporaries not committed are removed.
class AtomicBatch {
 public:
  explicit AtomicBatch(const fs::path& dir);  // every path added lies directly in `dir`
  AtomicBatch(const AtomicBatch&) = delete;
  AtomicBatch& operator=(const AtomicBatch&) = delete;
  ~AtomicBatch();
  void add(const fs::path& path, const std::function<void(const fs::path&)>& write_to);
  void add_text(const fs::path& path, std::string_view text);
  void commit();  // throws RunError
  std::size_t pending() const { return pending_.size(); }

 private:
  fs::path dir_;
  std::vector<std::pair<fs::path, fs::path>> pending_;  // temporary, final
};

// Creates `dir` (and parents) if needed; throws UsageError naming `what` when it is not writable.
void ensure_writable_dir(const fs::path& dir, std::string_view what);

std::string read_text_file(const fs::path& path);  // throws UsageError naming the file

// A file opened for reads at any offset (pread(2)): one open, no stream buffer to discard on a
// seek. ok() is false when it could not be opened; size() is its size when opened.
class ReadOnlyFile {
 public:
  explicit ReadOnlyFile(const fs::path& path);
  ReadOnlyFile(const ReadOnlyFile&) = delete;
  ReadOnlyFile& operator=(const ReadOnlyFile&) = delete;
  ~ReadOnlyFile();
  bool ok() const { return fd_ >= 0; }
  std::uint64_t size() const { return size_; }
  // Up to n bytes from `offset` into `out` (fewer only at the end of the file or on an error).
  std::size_t read_at(std::uint64_t offset, void* out, std::size_t n) const;

 private:
  int fd_ = -1;
  std::uint64_t size_ = 0;
};

// The one way a name from outside (a storage key, a UID, a model name, a CSV's image name) is
// joined to a folder: `base / name`, refused with UsageError naming `what` when the name is empty,
// absolute, holds a NUL or a ".." component, or would otherwise leave `base`.
fs::path safe_join(const fs::path& base, const std::string& name, std::string_view what);

// Removes the temp files atomic_write left in `dir` (not below it) when a run was killed:
// "<name>.tmp.<pid>.<n>" whose process is gone. Returns how many were removed.
int remove_stale_temps(const fs::path& dir);

// medpipe's cache folder: MEDPIPE_CACHE_DIR, else $XDG_CACHE_HOME/medpipe, else
// ~/.cache/medpipe. Remote buckets are mirrored (and staged for upload) under it.
fs::path medpipe_cache_root();
// The local folder (or file) standing for a remote location: <cache>/s3/<endpoint>/<bucket>/<key>
// (two endpoints with a bucket of the same name never share a mirror); local locations and
// file:// URIs map to themselves.
fs::path local_path_for(const std::string& location);
// The S3 endpoint whose buckets s3:// names (its URL; credentials in it are never part of the
// folder's name), set by the storage configuration. Until then: "aws".
void set_s3_mirror_scope(const std::string& endpoint_url);
bool is_remote_location(const std::string& location);

// A short key of `text` (16 hex digits of its std::hash), for cache and state file identity.
std::string hex_digest(const std::string& text);

// Lower-case extension of a file name, with compound ".nii.gz" kept whole.
std::string full_extension(const fs::path& path);
// File name without its (compound) extension: the image's name in the contract.
std::string stem_name(const fs::path& path);

}  // namespace medpipe
