// preprocess/tensor_cache.h: preprocessed samples on disk, built once by parallel workers and
// read back one sample at a time, so memory does not grow with the number of images.
#pragma once
#include <string>
#include <vector>

#include "core/fs.h"
#include "data/pairing.h"
#include "preprocess/preprocess.h"

namespace medpipe {

struct SkippedInput {
  std::string image;
  std::string reason;
};

class TensorCache {
 public:
  // Reuses `cache_dir/<key>.bin` when the same files and spec were done before.
  static TensorCache build(const std::vector<Sample>& samples, const PreprocessSpec& spec,
                           const fs::path& cache_dir, int workers, const std::string& stage);
  // Samples whose values were computed elsewhere (radiomics feature vectors): rows[i] holds
  // spec.values_per_sample() floats, or is empty when errors[i] says why sample i is unusable.
  // Written to `cache_dir/<key>.bin` and read back like any other cache.
  static TensorCache from_values(const std::vector<Sample>& samples,
                                 const std::vector<std::vector<float>>& rows,
                                 const std::vector<std::string>& errors, const PreprocessSpec& spec,
                                 const fs::path& cache_dir, const std::string& key);
  TensorCache(TensorCache&&) noexcept;
  TensorCache& operator=(TensorCache&&) noexcept;
  ~TensorCache();

  std::size_t size() const { return samples_.size(); }
  // Indices of samples that decoded; the others are in skipped().
  const std::vector<std::size_t>& usable() const { return usable_; }
  const std::vector<SkippedInput>& skipped() const { return skipped_; }
  const std::vector<Sample>& samples() const { return samples_; }
  // Channel count of each source image (0 where it could not be read).
  const std::vector<int>& source_channels() const { return source_channels_; }
  const PreprocessSpec& spec() const { return spec_; }
  void read(std::size_t index, float* out) const;  // values_per_sample floats

 private:
  TensorCache() = default;
  std::vector<Sample> samples_;
  PreprocessSpec spec_;
  std::vector<std::size_t> usable_;
  std::vector<SkippedInput> skipped_;
  std::vector<int> source_channels_;
  fs::path path_;
  int fd_ = -1;
};

}  // namespace medpipe
