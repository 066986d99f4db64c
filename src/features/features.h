// features/features.h: radiomics features of an image and its region, as IBSI defines them.
// Column names end in the feature's IBSI identifier and, for texture, the aggregation's
// (cm_joint_max_GYBY_ITBB: GLCM joint maximum, 3D averaged); names ending in _NOIBSI are not
// IBSI features. A value IBSI leaves undefined for this region (a single grey level, say) is NaN,
// and the region's warnings say why.
#pragma once
#include <string>
#include <vector>

#include "core/error.h"
#include "core/image.h"
#include "features/families.h"
#include "features/roi.h"
#include "features/settings.h"

namespace medpipe {

// Every family the settings ask for, in a fixed order.
FeatureRow compute_features(const RoiVolume& roi, const FeatureSettings& settings);

struct RegionFeatures {
  FeatureRow values;
  std::vector<std::string> warnings;
};

// Features of `image` within `mask` (nullptr: the whole image). Failures (empty mask, geometry
// mismatch, ...) carry the reason.
Result<RegionFeatures> region_features(const Image& image, const Image* mask,
                                       const FeatureSettings& settings);

}  // namespace medpipe
