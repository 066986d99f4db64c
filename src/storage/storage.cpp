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
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  if (ec) throw UsageError("cannot list " + dir.string() + ": " + ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<fs::path> list_subfolders(const fs::path& dir) {
  std::error_code ec;
  std::vector<fs::path> folders;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (entry.is_directory() && !name.empty() && name[0] != '.') folders.push_back(entry.path());
  }
  std::sort(folders.begin(), folders.end());
  return folders;
}

}  // namespace medpipe
