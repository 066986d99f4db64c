// pipeline/cluster_shared.h (internal to pipeline/): the feature rows a clustering runs on, and
// how they are computed again for new images (model.json's cluster.features).
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/config.h"
#include "report/report.h"

namespace medpipe {

struct FeatureRows {
  std::vector<std::string> names;  // of the images (or subjects of a features_table)
  std::vector<std::string> columns;
  std::vector<std::vector<double>> rows;
  std::vector<fs::path> images;  // each row's image file (none for a features_table)
  SkippedList skipped;
  std::string source;  // "table", "embeddings" or "radiomics"
};

// The training run's features: features_table, else the embeddings of the pretrained network
// (kept as embedder.pt in the model folder), else IBSI radiomics of the images (and regions).
// `recipe` gets what computes them again.
FeatureRows training_features(const Config& config, nlohmann::json& recipe);
// The same features of the config's images (or features_table), by the model's `recipe`.
FeatureRows inference_features(const Config& config, const nlohmann::json& recipe);

}  // namespace medpipe
