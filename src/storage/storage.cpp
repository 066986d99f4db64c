#include "storage/storage.h"

#include <algorithm>

#include "core/error.h"

namespace medpipe {

std::vector<fs::path> list_folder(const fs::path& dir, const std::string& key) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    throw UsageError("event key '" + key + "': " + dir.string() +
                     " does not exist; give the folder that holds the files");
  }
  if (!fs::is_directory(dir, ec)) {
    throw UsageError("event key '" + key + "': " + dir.string() + " is not a folder");
  }
  std::vector<fs::path> files;
  // an entry that cannot be followed (a symlink loop, a dangling link) is not a file to use
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code entry_ec;
    if (it->is_regular_file(entry_ec)) files.push_back(it->path());
  }
  if (ec) throw UsageError("cannot list " + dir.string() + ": " + ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<fs::path> list_subfolders(const fs::path& dir) {
  std::error_code ec;
  std::vector<fs::path> folders;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code entry_ec;
    std::string name = it->path().filename().string();
    if (it->is_directory(entry_ec) && !name.empty() && name[0] != '.')
      folders.push_back(it->path());
  }
  std::sort(folders.begin(), folders.end());
  return folders;
}

}  // namespace medpipe
