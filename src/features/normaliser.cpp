#include "features/normaliser.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace medpipe {

FeatureNormaliser FeatureNormaliser::fit(const FeatureTable& train) {
  FeatureNormaliser n;
  for (std::size_t c = 0; c < train.columns.size(); ++c) {
    double sum = 0, count = 0;
    for (const auto& row : train.rows) {
      if (std::isfinite(row[c])) sum += row[c], count += 1;
    }
    if (count == 0) {
      n.dropped_undefined.push_back(train.columns[c]);
      continue;
    }
    double mean = sum / count, squares = 0;
    for (const auto& row : train.rows) {
      if (std::isfinite(row[c])) squares += (row[c] - mean) * (row[c] - mean);
    }
    double sd = std::sqrt(squares / count);
    if (!(sd > 1e-12 * std::max(1.0, std::abs(mean)))) {
      n.dropped_constant.push_back(train.columns[c]);
      continue;
    }
    n.columns.push_back(train.columns[c]);
    n.mean.push_back(mean);
    n.sd.push_back(sd);
  }
  if (n.columns.empty()) {
    throw UsageError("no radiomics feature varies over the " + std::to_string(train.rows.size()) +
                     " training images; check the images and masks (are all regions identical?)");
  }
  return n;
}

std::vector<std::size_t> FeatureNormaliser::positions_in(const FeatureTable& table) const {
  std::map<std::string, std::size_t> index;
  for (std::size_t c = 0; c < table.columns.size(); ++c) index[table.columns[c]] = c;
  std::vector<std::size_t> positions;
  for (const auto& column : columns) {
    auto found = index.find(column);
    if (found == index.end()) {
      throw UsageError("feature '" + column +
                       "' the model was trained on is not computed for these images; use the "
                       "feature settings the model was trained with (model.json)");
    }
    positions.push_back(found->second);
  }
  return positions;
}

std::vector<float> FeatureNormaliser::apply(const std::vector<double>& row,
                                            const std::vector<std::size_t>& positions,
                                            std::size_t* missing) const {
  std::vector<float> out(columns.size(), 0.0f);
  for (std::size_t k = 0; k < columns.size(); ++k) {
    double x = row[positions[k]];
    if (!std::isfinite(x)) {
      if (missing) ++*missing;
      continue;  // the training mean
    }
    out[k] = static_cast<float>(std::clamp((x - mean[k]) / sd[k], -clip, clip));
  }
  return out;
}

nlohmann::json FeatureNormaliser::to_json() const {
  return {{"method", "zscore"},
          {"columns", columns},
          {"mean", mean},
          {"sd", sd},
          {"clip", clip},
          {"dropped_constant", dropped_constant},
          {"dropped_undefined", dropped_undefined}};
}

FeatureNormaliser FeatureNormaliser::from_json(const nlohmann::json& json) {
  FeatureNormaliser n;
  n.columns = json.at("columns").get<std::vector<std::string>>();
  n.mean = json.at("mean").get<std::vector<double>>();
  n.sd = json.at("sd").get<std::vector<double>>();
  n.clip = json.value("clip", 10.0);
  n.dropped_constant = json.value("dropped_constant", std::vector<std::string>{});
  n.dropped_undefined = json.value("dropped_undefined", std::vector<std::string>{});
  return n;
}

}  // namespace medpipe
