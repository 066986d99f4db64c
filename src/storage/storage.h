// storage/storage.h: where buckets live: local folders, file:// URIs and s3:// buckets (mirrored
// into the local cache, keyed by ETag, so a re-run fetches nothing again; outputs staged locally
// and uploaded whole, object by object).
#pragma once
#include <string>
#include <vector>

#include "core/fs.h"
#include "storage/s3.h"

namespace medpipe {

struct StorageSettings {
  S3Settings s3;
  int concurrency = 8;
};
// Process-wide settings for remote storage, from the resolved config.
void configure_storage(const StorageSettings& settings);

// Turns a bucket location into a local path. `key` names the event key in error messages.
// s3://bucket/prefix is mirrored into local_path_for(location) first (only objects whose ETag
// changed are fetched); an s3:// URI naming one object gives that file.
fs::path resolve_location(const std::string& location, const std::string& key);

// Uploads every file under `local_dir` to `location` (s3://bucket/prefix/<relative path>), or
// every DICOM object (.dcm: SEG, SR) to a dicomweb:// service by STOW-RS, `concurrency` at a
// time. Each object appears whole or not at all. Local locations: nothing.
void publish_folder(const fs::path& local_dir, const std::string& location, const std::string& key);

// Regular files directly inside `dir`, sorted by name (byte order). Throws UsageError naming
// `key` when `dir` is missing or not a folder.
std::vector<fs::path> list_folder(const fs::path& dir, const std::string& key);

// Folders directly inside `dir` (not hidden), sorted by name.
std::vector<fs::path> list_subfolders(const fs::path& dir);

}  // namespace medpipe
