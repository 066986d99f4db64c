// features/families.h: one function per IBSI feature family, each appending its named values.
// Names end in the IBSI identifier (and the aggregation's for texture); see features.h.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "features/roi.h"

namespace medpipe {

struct Feature {
  std::string name;
  double value;
};
using FeatureRow = std::vector<Feature>;

void add_morphology_features(const RoiVolume& roi, const FeatureSettings& s, FeatureRow& out);
void add_local_intensity_features(const RoiVolume& roi, FeatureRow& out);
void add_statistics_features(const RoiVolume& roi, FeatureRow& out);
void add_histogram_features(const RoiVolume& roi, FeatureRow& out);
void add_ivh_features(const RoiVolume& roi, const FeatureSettings& s, FeatureRow& out);
void add_glcm_features(const RoiVolume& roi, const FeatureSettings& s, FeatureRow& out);
void add_glrlm_features(const RoiVolume& roi, const FeatureSettings& s, FeatureRow& out);
void add_glszm_features(const RoiVolume& roi, const FeatureSettings& s, FeatureRow& out);
void add_gldzm_features(const RoiVolume& roi, const FeatureSettings& s, FeatureRow& out);
void add_ngtdm_features(const RoiVolume& roi, const FeatureSettings& s, FeatureRow& out);
void add_ngldm_features(const RoiVolume& roi, const FeatureSettings& s, FeatureRow& out);

// IBSI identifiers of the aggregation methods.
// GLCM and GLRLM: 2D averaged, 2D slice-merged, 2.5D direction-merged, 2.5D merged,
// 3D averaged, 3D merged.
inline constexpr const char* kAgg2dAveraged = "BTW3";
inline constexpr const char* kAgg2dSliceMerged = "SUJT";
inline constexpr const char* kAgg25dDirectionMerged = "JJUI";
inline constexpr const char* kAgg25dMerged = "ZW7Z";
inline constexpr const char* kAgg3dAveraged = "ITBB";
inline constexpr const char* kAgg3dMerged = "IAZD";
// Zone and neighbourhood families: 2D (averaged over slices), 2.5D (slices merged), 3D.
inline constexpr const char* kAgg2d = "8QNN";
inline constexpr const char* kAgg25d = "62GR";
inline constexpr const char* kAgg3d = "KOBO";

}  // namespace medpipe
