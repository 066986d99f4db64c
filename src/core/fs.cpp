#include "core/fs.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <vector>

#include "core/error.h"
#include "core/location.h"

namespace medpipe {

namespace {
std::atomic<unsigned> temp_counter{0};

constexpr std::size_t kMaxNameBytes = 255;  // NAME_MAX of Linux filesystems

void fsync_path(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

// "<name>.tmp.<pid>.<n>" beside `path`; for a name so long that this would not fit NAME_MAX, a
// digest of the name stands for it.
fs::path temp_path_for(const fs::path& path) {
  const std::string suffix =
      ".tmp." + std::to_string(::getpid()) + "." + std::to_string(temp_counter++);
  std::string name = path.filename().string();
  if (name.size() + suffix.size() > kMaxNameBytes) name = hex_digest(name);
  return path.parent_path() / (name + suffix);
}

void check_name_length(const fs::path& path) {
  if (path.filename().string().size() > kMaxNameBytes) {
    throw UsageError("cannot write " + path.string() + ": its file name is longer than " +
                     std::to_string(kMaxNameBytes) + " bytes; shorten the image name");
  }
}

int create_private_file(const fs::path& path) {
  return ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
}

// All of `size` bytes to `fd`, through EINTR; false on a failed or short write (ENOSPC, EIO).
bool write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

void write_text_to(const fs::path& target, const fs::path& path, std::string_view text) {
  const int fd = create_private_file(target);
  const bool written = fd >= 0 && write_all(fd, text.data(), text.size());
  if (fd < 0 || ::close(fd) != 0 || !written)
    throw RunError("cannot write " + path.string() + ": disk full or not writable");
}

}  // namespace

void atomic_write(const fs::path& path, const std::function<void(const fs::path&)>& write_to) {
  if (path.has_parent_path()) ensure_writable_dir(path.parent_path(), "output folder");
  check_name_length(path);
  const fs::path temp = temp_path_for(path);
  try {
    write_to(temp);
    fsync_path(temp);
    fs::rename(temp, path);
  } catch (...) {
    std::error_code ignored;
    fs::remove(temp, ignored);
    throw;
  }
}

void atomic_write_text(const fs::path& path, std::string_view text) {
  atomic_write(path, [&](const fs::path& temp) { write_text_to(temp, path, text); });
}

namespace {

// A stream buffer over a file descriptor that never reports a failed write to its writer: it
// remembers it and drops the rest. LibTorch's serialiser aborts the process (an exception from a
// destructor) when its stream goes bad, as on a full disk; this way the failure reaches
// atomic_write_stream, which turns it into a RunError.
class FileWriteBuffer : public std::streambuf {
 public:
  explicit FileWriteBuffer(int fd) : fd_(fd), buffer_(1 << 20) {
    setp(buffer_.data(), buffer_.data() + buffer_.size());
  }
  bool flush_all() {
    drain();
    return !failed_;
  }

 protected:
  int_type overflow(int_type c) override {
    drain();
    if (!traits_type::eq_int_type(c, traits_type::eof())) {
      *pptr() = traits_type::to_char_type(c);
      pbump(1);
    }
    return traits_type::not_eof(c);
  }
  int sync() override {
    drain();
    return 0;  // a failure is kept for flush_all, not shown to the writer
  }

 private:
  void drain() {  // after a failure the rest is dropped
    if (!failed_) failed_ = !write_all(fd_, pbase(), static_cast<std::size_t>(pptr() - pbase()));
    setp(buffer_.data(), buffer_.data() + buffer_.size());
  }
  int fd_;
  std::vector<char> buffer_;
  bool failed_ = false;
};

}  // namespace

void atomic_write_stream(const fs::path& path, const std::function<void(std::ostream&)>& write) {
  atomic_write(path, [&](const fs::path& temp) {
    const int fd = create_private_file(temp);
    if (fd < 0) throw RunError("cannot write " + path.string() + ": not writable");
    FileWriteBuffer buffer(fd);
    std::ostream out(&buffer);
    try {
      write(out);
    } catch (...) {
      ::close(fd);
      throw;
    }
    const bool written = buffer.flush_all();
    if (::close(fd) != 0 || !written)
      throw RunError("cannot write " + path.string() + ": disk full or not writable");
  });
}

AtomicBatch::AtomicBatch(const fs::path& dir) : dir_(dir) {
  ensure_writable_dir(dir, "output folder");
}

AtomicBatch::~AtomicBatch() {
  std::error_code ignored;
  for (const auto& [temp, path] : pending_) fs::remove(temp, ignored);
}

void AtomicBatch::add(const fs::path& path, const std::function<void(const fs::path&)>& write_to) {
  check_name_length(path);
  const fs::path temp = temp_path_for(path);
  try {
    write_to(temp);
  } catch (...) {
    std::error_code ignored;
    fs::remove(temp, ignored);
    throw;
  }
  pending_.emplace_back(temp, path);
}

void AtomicBatch::add_text(const fs::path& path, std::string_view text) {
  add(path, [&](const fs::path& temp) { write_text_to(temp, path, text); });
}

void AtomicBatch::commit() {
  const int dir_fd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) throw RunError("cannot open " + dir_.string() + " to flush its results");
  ::syncfs(dir_fd);  // the files' data reach the disk before any rename names them
  std::error_code ec;
  for (const auto& [temp, path] : pending_) {
    fs::rename(temp, path, ec);
    if (ec) break;
  }
  ::fsync(dir_fd);  // and the renames
  ::close(dir_fd);
  if (ec) throw RunError("cannot write results in " + dir_.string() + ": " + ec.message());
  pending_.clear();
}

void ensure_writable_dir(const fs::path& dir, std::string_view what) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir)) {
    throw UsageError("cannot create " + std::string(what) + " " + dir.string() + ": " +
                     (ec ? ec.message() : "a file of that name exists") +
                     "; choose a folder you can write to");
  }
  if (::access(dir.c_str(), W_OK) != 0) {
    throw UsageError(std::string(what) + " " + dir.string() +
                     " is not writable; fix its permissions or choose another folder");
  }
}

std::string read_text_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError("cannot read " + path.string() + ": no such file or not readable");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

ReadOnlyFile::ReadOnlyFile(const fs::path& path) : fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
  struct stat st {};
  if (fd_ >= 0 && ::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode)) {
    size_ = static_cast<std::uint64_t>(st.st_size);
  } else if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

ReadOnlyFile::~ReadOnlyFile() {
  if (fd_ >= 0) ::close(fd_);
}

std::size_t ReadOnlyFile::read_at(std::uint64_t offset, void* out, std::size_t n) const {
  std::size_t done = 0;
  while (fd_ >= 0 && done < n) {
    const ssize_t got =
        ::pread(fd_, static_cast<char*>(out) + done, n - done, static_cast<off_t>(offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    done += static_cast<std::size_t>(got);
  }
  return done;
}

fs::path safe_join(const fs::path& base, const std::string& name, std::string_view what) {
  auto refuse = [&](const std::string& why) {
    std::string shown = name.substr(0, 200);
    for (char& c : shown)
      if (static_cast<unsigned char>(c) < 0x20) c = '?';
    throw UsageError(std::string(what) + " '" + shown + "' " + why +
                     "; it cannot be used as a file name under " + base.string());
  };
  if (name.empty()) refuse("is empty");
  if (name.find('\0') != std::string::npos) refuse("holds a NUL byte");
  const fs::path relative(name);
  if (relative.is_absolute() || relative.has_root_name() || relative.has_root_directory())
    refuse("is an absolute path");
  for (const auto& part : relative) {
    if (part == "..") refuse("climbs out of its folder (..)");
  }
  const fs::path normal = relative.lexically_normal();
  if (normal.empty() || normal == "." || normal == "./") refuse("names the folder itself");
  fs::path joined = (base / relative).lexically_normal();
  const fs::path root = base.lexically_normal();
  auto mismatch = std::mismatch(root.begin(), root.end(), joined.begin(), joined.end());
  if (mismatch.first != root.end() && !mismatch.first->empty()) refuse("leaves its folder");
  if (joined == root) refuse("names the folder itself");
  return joined;
}

int remove_stale_temps(const fs::path& dir) {
  std::error_code ec;
  int removed = 0;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const auto tmp = name.rfind(".tmp.");
    if (tmp == std::string::npos || !it->is_regular_file(ec)) continue;
    const std::string rest = name.substr(tmp + 5);  // <pid>.<n>
    const auto dot = rest.find('.');
    if (dot == std::string::npos || dot == 0) continue;
    if (rest.find_first_not_of("0123456789.") != std::string::npos) continue;
    const long pid = std::strtol(rest.substr(0, dot).c_str(), nullptr, 10);
    if (pid <= 0 || pid == ::getpid()) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM) continue;  // still running
    std::error_code remove_ec;
    if (fs::remove(it->path(), remove_ec)) ++removed;
  }
  return removed;
}

std::string full_extension(const fs::path& path) {
  std::string name = path.filename().string();
  std::transform(name.begin(), name.end(), name.begin(), ::tolower);
  for (const char* compound : {".nii.gz", ".tar.gz"}) {
    std::string c(compound);
    if (name.size() > c.size() && name.compare(name.size() - c.size(), c.size(), c) == 0) {
      return c;
    }
  }
  auto dot = name.rfind('.');
  if (dot == std::string::npos || dot == 0) return "";
  return name.substr(dot);
}

std::string hex_digest(const std::string& text) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016zx", std::hash<std::string>{}(text));
  return hex;
}

std::string stem_name(const fs::path& path) {
  std::string name = path.filename().string();
  std::string ext = full_extension(path);
  return name.substr(0, name.size() - ext.size());
}

fs::path medpipe_cache_root() {
  if (const char* dir = std::getenv("MEDPIPE_CACHE_DIR"); dir && *dir) return fs::path(dir);
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    return fs::path(xdg) / "medpipe";
  const char* home = std::getenv("HOME");
  return fs::path(home && *home ? home : "/tmp") / ".cache" / "medpipe";
}

bool is_remote_location(const std::string& location) {
  return parse_location(location).remote();
}

namespace {
std::mutex scope_mutex;
std::string& s3_scope() {
  static std::string scope = "aws";
  return scope;
}
}  // namespace

void set_s3_mirror_scope(const std::string& endpoint_url) {
  std::string rest = endpoint_url;
  if (auto scheme = rest.find("://"); scheme != std::string::npos) rest.erase(0, scheme + 3);
  const std::size_t slash = rest.find('/');
  std::string host = rest.substr(0, slash);
  if (auto at = host.rfind('@'); at != std::string::npos) host.erase(0, at + 1);
  for (char& c : host)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-') c = '_';
  std::string path = slash == std::string::npos ? "" : rest.substr(slash);
  while (!path.empty() && path.back() == '/') path.pop_back();
  if (host.empty() || host == "." || host == "..") host = "endpoint";
  std::lock_guard<std::mutex> lock(scope_mutex);
  s3_scope() = path.empty() ? host : host + "-" + hex_digest(path).substr(0, 8);
}

fs::path local_path_for(const std::string& location) {
  const Location where = parse_location(location);
  std::string rest = where.rest;
  switch (where.scheme) {
    case Scheme::kLocal:
      return fs::path(location);
    case Scheme::kFile:
      return fs::path(rest);
    case Scheme::kS3:
      while (!rest.empty() && rest.back() == '/') rest.pop_back();
      {
        std::lock_guard<std::mutex> lock(scope_mutex);
        return medpipe_cache_root() / "s3" / s3_scope() / rest;
      }
    case Scheme::kDicomWeb:
      break;
  }
  // the cache folder is named by host and path, never by the URL's user and password
  if (auto at = rest.find('@'); at != std::string::npos && at < rest.find('/'))
    rest.erase(0, at + 1);
  std::string query;
  if (auto q = rest.find('?'); q != std::string::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  for (char& c : rest) c = c == ':' ? '_' : c;
  fs::path base = medpipe_cache_root() / "dicomweb" / rest;
  return query.empty() ? base / "all" : base / ("query_" + hex_digest(query));
}

}  // namespace medpipe
