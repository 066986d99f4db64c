#include "core/fs.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/location.h"

namespace medpipe {

namespace {
std::atomic<unsigned> temp_counter{0};

void fsync_path(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}
}  // namespace

void atomic_write(const fs::path& path, const std::function<void(const fs::path&)>& write_to) {
  if (path.has_parent_path()) ensure_writable_dir(path.parent_path(), "output folder");
  fs::path temp = path;
  temp += ".tmp." + std::to_string(::getpid()) + "." + std::to_string(temp_counter++);
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
  atomic_write(path, [&](const fs::path& temp) {
    std::ofstream out(temp, std::ios::binary);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.close();
    if (!out) throw RunError("cannot write " + path.string() + ": disk full or not writable");
  });
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
      return medpipe_cache_root() / "s3" / rest;
    case Scheme::kDicomWeb:
      break;
  }
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
