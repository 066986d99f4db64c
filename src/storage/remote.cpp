// storage/remote.cpp: s3:// buckets mirrored into the cache and outputs published back.
#include <atomic>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "core/error.h"
#include "core/json_value.h"
#include "core/location.h"
#include "core/log.h"
#include "core/parallel.h"
#include "core/progress.h"
#include "storage/dicomweb.h"
#include "storage/storage.h"

namespace medpipe {

namespace {

StorageSettings& settings() {
  static StorageSettings s;
  return s;
}

// Files of a folder mirror whose object is no longer in the bucket are removed (with their
// ETag), so that a deleted object is not used from the cache.
template <class Destination>
void prune_mirror(const fs::path& local, const std::vector<S3Object>& listed,
                  const Destination& destination, nlohmann::json& index) {
  std::set<fs::path> keep;
  std::set<std::string> keys;
  for (const auto& o : listed) {
    keep.insert(destination(o).lexically_normal());
    keys.insert(o.key);
  }
  int removed = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(local, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code entry_ec;  // an entry that cannot be followed is left, the walk goes on
    if (!it->is_regular_file(entry_ec) || keep.count(it->path().lexically_normal())) continue;
    if (it->path().filename().string().find(".tmp.") != std::string::npos) continue;
    std::error_code remove_ec;
    removed += fs::remove(it->path(), remove_ec) ? 1 : 0;
  }
  for (auto it = index.begin(); it != index.end();) {
    it = keys.count(it.key()) ? std::next(it) : index.erase(it);
  }
  if (removed > 0)
    log_info(std::to_string(removed) +
             " file(s) whose object is no longer in the bucket removed "
             "from the cache " +
             local.string());
}

fs::path mirror_s3(const std::string& location, const std::string& key) {
  S3Uri uri = parse_s3_uri(location, "event key '" + key + "'");
  while (!uri.key.empty() && uri.key.back() == '/') uri.key.pop_back();
  S3Client client(settings().s3, aws_credentials());
  std::vector<S3Object> objects = client.list(uri.bucket, uri.key);
  fs::path local = local_path_for(location);
  // one object named exactly: a file (a labels CSV, say)
  bool folder = false;
  for (const auto& o : objects)
    folder = folder || o.key.rfind(uri.key + "/", 0) == 0 || uri.key.empty();
  std::vector<S3Object> wanted;
  for (const auto& o : objects) {
    if (o.key.back() == '/') continue;  // "folder" placeholder objects
    if (folder ? (uri.key.empty() || o.key.rfind(uri.key + "/", 0) == 0) : o.key == uri.key) {
      wanted.push_back(o);
    }
  }
  if (wanted.empty()) {
    throw UsageError("event key '" + key + "': " + location +
                     " holds no object; check the bucket and prefix");
  }
  fs::path index_path =  // per endpoint, as the mirror is
      medpipe_cache_root() / "s3-etags" / (hex_digest(local.string()) + ".json");
  nlohmann::json index =  // a damaged index only costs a re-fetch
      fs::exists(index_path) ? nlohmann::json::parse(read_text_file(index_path), nullptr, false)
                             : nlohmann::json::object();
  if (!index.is_object()) index = nlohmann::json::object();
  std::mutex index_mutex;
  std::atomic<int> fetched{0};
  auto destination = [&](const S3Object& o) {
    return folder ? safe_join(local, o.key.substr(uri.key.empty() ? 0 : uri.key.size() + 1),
                              "the S3 object key")
                  : local;
  };
  try {
    parallel_for(wanted.size(), settings().concurrency, "fetch " + location, "obj",
                 [&](std::size_t i) {
                   const S3Object& o = wanted[i];
                   fs::path dest = destination(o);
                   {
                     std::lock_guard<std::mutex> lock(index_mutex);
                     if (index.value(o.key, "") == o.etag && fs::exists(dest)) return;  // cached
                   }
                   client.get(uri.bucket, o.key, dest);
                   ++fetched;
                   std::lock_guard<std::mutex> lock(index_mutex);
                   index[o.key] = o.etag;
                 });
  } catch (...) {
    atomic_write_text(index_path, json_text(index));  // what was fetched stays fetched
    throw;
  }
  if (folder) prune_mirror(local, wanted, destination, index);
  atomic_write_text(index_path, json_text(index));
  log_info(location + ": " + std::to_string(wanted.size()) + " object(s), " +
           std::to_string(fetched.load()) + " fetched, the rest from the cache " + local.string());
  return local;
}

}  // namespace

void configure_storage(const StorageSettings& s) {
  settings() = s;
  set_default_http_timeout_s(s.s3.timeout_s);  // DICOMweb's requests too
  set_s3_mirror_scope(s3_endpoint(s.s3));
}

fs::path resolve_location(const std::string& location, const std::string& key) {
  const Location where = parse_location(location);
  if (where.is_s3()) return mirror_s3(location, key);
  if (where.is_dicomweb()) {
    return mirror_dicomweb(location, key, settings().concurrency, settings().s3.verify_tls,
                           settings().s3.max_attempts);
  }
  for (const char* scheme : {"http://", "https://"}) {
    if (location.rfind(scheme, 0) == 0) {
      throw UsageError("event key '" + key + "' is " + location + ": " + scheme +
                       " is not a bucket; use a local folder, s3://bucket/prefix or "
                       "dicomweb://host:port/root");
    }
  }
  return local_path_for(location);
}

void publish_folder(const fs::path& local_dir, const std::string& location,
                    const std::string& key) {
  const Location where = parse_location(location);
  if (where.is_dicomweb()) {
    store_dicomweb(local_dir, location, settings().concurrency, settings().s3.verify_tls,
                   settings().s3.max_attempts);
    return;
  }
  if (!where.is_s3()) return;
  S3Uri uri = parse_s3_uri(location, "event key '" + key + "'");
  while (!uri.key.empty() && uri.key.back() == '/') uri.key.pop_back();
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(local_dir)) {
    std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && name.find(".tmp.") == std::string::npos) {
      files.push_back(entry.path());
    }
  }
  S3Client client(settings().s3, aws_credentials());
  parallel_for(
      files.size(), settings().concurrency, "store " + location, "obj", [&](std::size_t i) {
        std::string relative = fs::relative(files[i], local_dir).generic_string();
        client.put(uri.bucket, uri.key.empty() ? relative : uri.key + "/" + relative, files[i]);
      });
  log_info("stored " + std::to_string(files.size()) + " object(s) in " + location);
}

}  // namespace medpipe
