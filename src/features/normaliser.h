// features/normaliser.h: z-scores for feature vectors, fitted on the training images only and
// stored with the model, as the original pipeline's Normalizer did. Columns constant over the
// training images, or never defined there, are dropped; a missing (NaN) value becomes the
// training mean (0 after scaling).
#pragma once
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "features/extract.h"

namespace medpipe {

struct FeatureNormaliser {
  std::vector<std::string> columns;  // kept, in order
  std::vector<double> mean, sd;      // per kept column
  std::vector<std::string> dropped_constant, dropped_undefined;
  double clip = 10.0;  // |z| is capped here: one outlier cannot dominate a step

  // Fits on the table's rows (the training images). Throws UsageError when no column varies.
  static FeatureNormaliser fit(const FeatureTable& train);
  // Where each kept column is in `table`'s columns; throws UsageError naming a feature the
  // table lacks (computed with other settings).
  std::vector<std::size_t> positions_in(const FeatureTable& table) const;
  // The kept columns of one row (at `positions`), scaled; `missing` counts the NaNs replaced.
  std::vector<float> apply(const std::vector<double>& row,
                           const std::vector<std::size_t>& positions, std::size_t* missing) const;

  nlohmann::json to_json() const;
  static FeatureNormaliser from_json(const nlohmann::json& json);
};

}  // namespace medpipe
