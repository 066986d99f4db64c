// features/extract.h: features of many images in parallel workers, each image read, computed and
// dropped in turn, and the table written as features.csv (image first, one column per feature).
#pragma once
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/fs.h"
#include "features/settings.h"

namespace medpipe {

struct FeatureJob {
  std::string name;              // the image's name in the table (its file stem)
  fs::path image;                // a file, or a DICOM series folder
  std::optional<fs::path> mask;  // none: the whole image is the region
};

struct FeatureTable {
  std::vector<std::string> columns;  // feature names, without "image"
  std::vector<std::string> images;   // one per row
  std::vector<std::vector<double>> rows;
  std::vector<std::pair<std::string, std::string>> skipped;   // image, reason
  std::vector<std::pair<std::string, std::string>> warnings;  // image, warning
};

// Computes every job with `workers` threads and a progress bar; an image that cannot be read or
// whose region is unusable is skipped with its reason, never fatal. Rows keep the jobs' order.
FeatureTable extract_features(const std::vector<FeatureJob>& jobs, const FeatureSettings& settings,
                              int workers);

// Writes the table atomically (NaN as "nan"), readable only by the owner and group.
void write_feature_table(const fs::path& path, const FeatureTable& table);
FeatureTable read_feature_table(const fs::path& path);  // throws UsageError naming the file

// Jobs for --image/--mask arguments: each a file, a DICOM series folder, or a folder of images;
// masks are matched to images by name (same stem, any readable format), or given one per image.
std::vector<FeatureJob> feature_jobs(const std::vector<std::string>& images,
                                     const std::vector<std::string>& masks);

}  // namespace medpipe
