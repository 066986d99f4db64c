#include "preprocess/tensor_cache.h"

#include <fcntl.h>
#include <unistd.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/error.h"
#include "core/json_value.h"
#include "core/log.h"
#include "core/parallel.h"
#include "core/world.h"
#include "io/image_io.h"

namespace medpipe {

namespace {

std::string cache_key(const std::vector<Sample>& samples, const PreprocessSpec& spec) {
  std::string text = spec_to_json(spec).dump() + "|v1";
  for (const auto& s : samples) {
    std::error_code ec;
    auto size = fs::file_size(s.path, ec);
    auto mtime = fs::last_write_time(s.path, ec).time_since_epoch().count();
    text += "|" + fs::absolute(s.path).string() + ":" + std::to_string(size) + ":" +
            std::to_string(mtime);
  }
  return hex_digest(text);
}

void write_all(int fd, const void* data, std::size_t bytes, off_t offset) {
  const char* p = static_cast<const char*>(data);
  while (bytes > 0) {
    ssize_t n = ::pwrite(fd, p, bytes, offset);
    if (n <= 0) throw RunError("cannot write the preprocessing cache: disk full?");
    p += n;
    bytes -= static_cast<std::size_t>(n);
    offset += n;
  }
}

// Decodes and preprocesses this rank's share of the samples (every size-th from rank; all of
// them for one process) into `temp` with `workers` threads; fills meta for that share.
nlohmann::json fill_cache(const std::vector<Sample>& samples, const PreprocessSpec& spec,
                          const fs::path& temp, int workers, const std::string& stage, int rank,
                          int size) {
  int fd = ::open(temp.c_str(), size == 1 ? O_CREAT | O_TRUNC | O_WRONLY : O_WRONLY, 0600);
  if (fd < 0) throw RunError("cannot create the preprocessing cache " + temp.string());
  const std::size_t bytes = spec.values_per_sample() * sizeof(float);
  std::vector<std::string> errors(samples.size());
  std::vector<int> channels(samples.size(), 0);
  const std::size_t share = (samples.size() + size - 1 - rank) / size;
  auto decode = [&](std::size_t k) {
    const std::size_t i = k * size + rank;
    Result<PreprocessedFile> input = preprocess_file(samples[i].path, spec);
    if (!input) {
      errors[i] = input.error();
      return;
    }
    channels[i] = input.value().source_channels;
    write_all(fd, input.value().chw.data(), bytes, static_cast<off_t>(i * bytes));
  };
  try {
    parallel_for(share, workers, stage, "img", decode);
  } catch (const std::exception& e) {
    ::close(fd);
    throw RunError(e.what());
  }
  ::fsync(fd);
  ::close(fd);
  nlohmann::json meta = {{"count", samples.size()}, {"errors", errors}, {"channels", channels}};
  return meta;
}

// Every rank preprocesses its share into one file in the (shared) cache folder; rank 0 merges
// the shares' notes and publishes the file. Each image is decoded once in the whole job.
nlohmann::json fill_cache_over_ranks(const std::vector<Sample>& samples, const PreprocessSpec& spec,
                                     const fs::path& bin, int workers, const std::string& stage) {
  Communicator& ranks = world();
  fs::path temp = bin;
  temp += ".tmp.ranks";
  auto part = [&](int r) { return fs::path(temp.string() + ".part" + std::to_string(r)); };
  if (ranks.rank() == 0) {
    int fd = ::open(temp.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0600);
    if (fd < 0) throw RunError("cannot create the preprocessing cache " + temp.string());
    ::close(fd);
  }
  ranks.barrier();
  if (!fs::exists(temp)) {
    throw RunError("rank " + std::to_string(ranks.rank()) + " cannot see " + temp.string() +
                   ": under MPI the cache folder (cache_dir, default <models_bucket>/cache) "
                   "must be on a filesystem every rank shares");
  }
  log_info(stage + ": " + std::to_string(samples.size()) + " images shared by " +
           std::to_string(ranks.size()) + " ranks, each decoding every " +
           std::to_string(ranks.size()) + "th");
  nlohmann::json mine = fill_cache(samples, spec, temp, workers, stage, ranks.rank(), ranks.size());
  atomic_write_text(part(ranks.rank()), json_text(mine));
  ranks.barrier();
  nlohmann::json meta;
  if (ranks.rank() == 0) {
    meta = nlohmann::json::parse(read_text_file(part(0)));
    for (int r = 1; r < ranks.size(); ++r) {
      auto other = nlohmann::json::parse(read_text_file(part(r)));
      for (std::size_t i = r; i < samples.size(); i += ranks.size()) {
        meta["errors"][i] = other["errors"][i];
        meta["channels"][i] = other["channels"][i];
      }
    }
    fs::rename(temp, bin);
    atomic_write_text(fs::path(bin).replace_extension(".json"), json_text(meta));
    for (int r = 0; r < ranks.size(); ++r) fs::remove(part(r));
  }
  ranks.barrier();
  if (ranks.rank() != 0)
    meta = nlohmann::json::parse(read_text_file(fs::path(bin).replace_extension(".json")));
  return meta;
}

// The notes of a cache entry when the entry is whole: notes that parse, describe these samples
// and a file long enough for every usable one. Anything else (a killed writer, a full disk, a
// damaged file) is nothing: the entry is rebuilt.
std::optional<nlohmann::json> reusable_meta(const fs::path& meta_path, const fs::path& bin,
                                            std::size_t count, std::size_t bytes) {
  std::error_code ec;
  if (!fs::exists(meta_path, ec) || !fs::exists(bin, ec)) return std::nullopt;
  nlohmann::json meta = nlohmann::json::parse(read_text_file(meta_path), nullptr, false);
  if (!meta.is_object() || meta.value("count", std::size_t{0}) != count) return std::nullopt;
  const auto& errors = meta["errors"];
  const auto& channels = meta["channels"];
  if (!errors.is_array() || errors.size() != count || !channels.is_array() ||
      channels.size() != count)
    return std::nullopt;
  std::size_t needed = 0;
  for (std::size_t i = 0; i < count; ++i) {
    if (!errors[i].is_string() || !channels[i].is_number_integer()) return std::nullopt;
    if (errors[i].get_ref<const std::string&>().empty()) needed = (i + 1) * bytes;
  }
  const auto size = fs::file_size(bin, ec);
  if (ec || size < needed) return std::nullopt;
  return meta;
}

}  // namespace

TensorCache TensorCache::build(const std::vector<Sample>& samples, const PreprocessSpec& spec,
                               const fs::path& cache_dir, int workers, const std::string& stage) {
  ensure_writable_dir(cache_dir, "cache folder");
  const std::string key = cache_key(samples, spec);
  fs::path bin = cache_dir / (key + ".bin");
  fs::path meta_path = cache_dir / (key + ".json");
  nlohmann::json meta;
  const bool present = fs::exists(meta_path) || fs::exists(bin);
  const std::size_t bytes = spec.values_per_sample() * sizeof(float);
  if (auto reused = reusable_meta(meta_path, bin, samples.size(), bytes)) {
    meta = *reused;
    log_info(stage + ": " + std::to_string(samples.size()) + " images from the cache");
  } else if (world().size() > 1) {
    meta = fill_cache_over_ranks(samples, spec, bin, workers, stage);
  } else {
    if (present) log_warn(stage + ": the cache entry " + bin.string() + " is damaged; rebuilt");
    fs::path temp = bin;
    temp += ".tmp." + std::to_string(::getpid());
    meta = fill_cache(samples, spec, temp, workers, stage, 0, 1);
    fs::rename(temp, bin);
    atomic_write_text(meta_path, json_text(meta));
  }
  TensorCache cache;
  cache.samples_ = samples;
  cache.spec_ = spec;
  cache.path_ = bin;
  cache.source_channels_ = meta.at("channels").get<std::vector<int>>();
  auto errors = meta.at("errors").get<std::vector<std::string>>();
  for (std::size_t i = 0; i < samples.size(); ++i) {
    if (errors[i].empty())
      cache.usable_.push_back(i);
    else
      cache.skipped_.push_back({samples[i].name, errors[i]});
  }
  cache.fd_ = ::open(bin.c_str(), O_RDONLY);
  if (cache.fd_ < 0) throw RunError("cannot open the preprocessing cache " + bin.string());
  return cache;
}

TensorCache TensorCache::from_values(const std::vector<Sample>& samples,
                                     const std::vector<std::vector<float>>& rows,
                                     const std::vector<std::string>& errors,
                                     const PreprocessSpec& spec, const fs::path& cache_dir,
                                     const std::string& key) {
  ensure_writable_dir(cache_dir, "cache folder");
  fs::path bin = cache_dir / (key + ".bin");
  fs::path temp = bin;
  temp += ".tmp." + std::to_string(::getpid());
  int fd = ::open(temp.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0600);
  if (fd < 0) throw RunError("cannot create the cache " + temp.string());
  const std::size_t bytes = spec.values_per_sample() * sizeof(float);
  TensorCache cache;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    if (!errors[i].empty()) {
      cache.skipped_.push_back({samples[i].name, errors[i]});
      continue;
    }
    if (rows[i].size() * sizeof(float) != bytes) {
      ::close(fd);
      throw RunError("internal: sample " + samples[i].name + " has the wrong number of values");
    }
    write_all(fd, rows[i].data(), bytes, static_cast<off_t>(i * bytes));
    cache.usable_.push_back(i);
  }
  ::ftruncate(fd, static_cast<off_t>(samples.size() * bytes));
  ::close(fd);
  fs::rename(temp, bin);
  cache.samples_ = samples;
  cache.spec_ = spec;
  cache.path_ = bin;
  cache.source_channels_.assign(samples.size(), 1);
  cache.fd_ = ::open(bin.c_str(), O_RDONLY);
  if (cache.fd_ < 0) throw RunError("cannot open the cache " + bin.string());
  return cache;
}

TensorCache::TensorCache(TensorCache&& other) noexcept {
  *this = std::move(other);
}

TensorCache& TensorCache::operator=(TensorCache&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    samples_ = std::move(other.samples_);
    spec_ = other.spec_;
    usable_ = std::move(other.usable_);
    skipped_ = std::move(other.skipped_);
    source_channels_ = std::move(other.source_channels_);
    path_ = std::move(other.path_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

TensorCache::~TensorCache() {
  if (fd_ >= 0) ::close(fd_);
}

void TensorCache::read(std::size_t index, float* out) const {
  const std::size_t bytes = spec_.values_per_sample() * sizeof(float);
  char* p = reinterpret_cast<char*>(out);
  std::size_t done = 0;
  while (done < bytes) {
    ssize_t n = ::pread(fd_, p + done, bytes - done, static_cast<off_t>(index * bytes + done));
    if (n <= 0) throw RunError("cannot read the preprocessing cache " + path_.string());
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace medpipe
