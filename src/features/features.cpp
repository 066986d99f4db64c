#include "features/features.h"

#include <cmath>

namespace medpipe {

FeatureRow compute_features(const RoiVolume& roi, const FeatureSettings& s) {
  FeatureRow out;
  if (s.wants("morph")) add_morphology_features(roi, s, out);
  if (s.wants("loc")) add_local_intensity_features(roi, out);
  if (s.wants("stat")) add_statistics_features(roi, out);
  if (s.wants("ih")) add_histogram_features(roi, out);
  if (s.wants("ivh")) add_ivh_features(roi, s, out);
  if (s.wants("cm")) add_glcm_features(roi, s, out);
  if (s.wants("rlm")) add_glrlm_features(roi, s, out);
  if (s.wants("szm")) add_glszm_features(roi, s, out);
  if (s.wants("dzm")) add_gldzm_features(roi, s, out);
  if (s.wants("ngt")) add_ngtdm_features(roi, s, out);
  if (s.wants("ngl")) add_ngldm_features(roi, s, out);
  return out;
}

Result<RegionFeatures> region_features(const Image& image, const Image* mask,
                                       const FeatureSettings& settings) {
  Result<RoiVolume> roi =
      mask ? prepare_roi(image, *mask, settings) : prepare_whole_image(image, settings);
  if (!roi) return Result<RegionFeatures>::failure(roi.error());
  RegionFeatures out;
  out.values = compute_features(roi.value(), settings);
  out.warnings = roi.value().warnings;
  std::string undefined;
  int undefined_count = 0;
  for (const auto& f : out.values) {
    if (std::isfinite(f.value)) continue;
    if (undefined_count++ < 3) undefined += (undefined.empty() ? "" : ", ") + f.name;
  }
  if (undefined_count > 0) {
    out.warnings.push_back(std::to_string(undefined_count) +
                           " features are undefined for this region and written as NaN (" +
                           undefined + (undefined_count > 3 ? ", ..." : "") + ")");
  }
  return out;
}

}  // namespace medpipe
