// storage/storage.h: where buckets live. Today: local folders and file:// URIs.
#pragma once
#include <string>
#include <vector>

#include "core/fs.h"

namespace medpipe {

// Turns a bucket location into a local path. `key` names the event key in error messages.
// s3:// and dicomweb:// are refused with a clear message until those backends exist.
fs::path resolve_location(const std::string& location, const std::string& key);

// Regular files directly inside `dir`, sorted by name (byte order). Throws UsageError naming
// `key` when `dir` is missing or not a folder.
std::vector<fs::path> list_folder(const fs::path& dir, const std::string& key);

// Folders directly inside `dir` (not hidden), sorted by name.
std::vector<fs::path> list_subfolders(const fs::path& dir);

}  // namespace medpipe
