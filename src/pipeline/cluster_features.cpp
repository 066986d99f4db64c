// The features a clustering groups: a table given by the user, the embeddings of a network, or
// radiomics features of the images.
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/fs.h"
#include "core/log.h"
#include "features/extract.h"
#include "infer/saved_model.h"
#include "models/predict.h"
#include "pipeline/classify.h"
#include "pipeline/cluster_shared.h"
#include "pipeline/radiomics.h"
#include "storage/storage.h"

namespace medpipe {

namespace {

FeatureRows table_rows(const FeatureTable& table, const std::vector<Sample>* samples,
                       const std::string& source) {
  FeatureRows out{table.images, table.columns, table.rows, {}, {}, source};
  out.skipped.assign(table.skipped.begin(), table.skipped.end());
  if (samples) {
    std::map<std::string, fs::path> path_of;
    for (const Sample& s : *samples) path_of[s.name] = s.path;
    for (const std::string& name : out.names) out.images.push_back(path_of[name]);
  }
  return out;
}

FeatureRows features_table_rows(const Config& config) {
  const fs::path path = resolve_location(config.features_table, "features_table");
  FeatureTable table = read_feature_table(path);
  log_info("clustering: " + std::to_string(table.rows.size()) + " rows x " +
           std::to_string(table.columns.size()) + " features of " + path.string());
  return table_rows(table, nullptr, "table");
}

FeatureRows radiomics_rows(const Config& config, const FeatureSettings& settings,
                           const fs::path& csv) {
  const std::vector<Sample> samples = unlabelled_images(config);
  const FeatureTable table = feature_table(config, samples, settings, csv);
  return table_rows(table, &samples, "radiomics");
}

// The embeddings of the images by `network` after `spec`'s preprocessing.
FeatureRows embedding_rows(const Config& config, torch::jit::Module& network,
                           const PreprocessSpec& spec, const std::vector<Sample>& samples) {
  const TensorCache cache =
      TensorCache::build(samples, spec, cache_dir(config), config.process_threads(), "preprocess");
  FeatureRows out;
  out.source = "embeddings";
  for (const auto& s : cache.skipped()) out.skipped.emplace_back(s.image, s.reason);
  std::size_t dim = 0;
  const std::vector<double> values = embed_samples(network, cache, cache.usable(), dim);
  for (std::size_t e = 0; e < dim; ++e) out.columns.push_back("embedding_" + std::to_string(e));
  for (std::size_t r = 0; r < cache.usable().size(); ++r) {
    const Sample& s = cache.samples()[cache.usable()[r]];
    out.names.push_back(s.name);
    out.images.push_back(s.path);
    out.rows.emplace_back(values.begin() + r * dim, values.begin() + (r + 1) * dim);
  }
  log_info("clustering: " + std::to_string(out.rows.size()) + " images embedded in " +
           std::to_string(dim) + " dimensions");
  return out;
}

// The input the pretrained network was trained on (its model.json beside it), else the
// config's preprocessing of these images.
PreprocessSpec embedder_input(const Config& config, const std::vector<Sample>& samples) {
  const fs::path folder = fs::path(config.pretrained).parent_path();
  if (std::optional<SavedModel> saved = find_saved_model(folder)) {
    if (const auto* spec = std::get_if<PreprocessSpec>(&saved->preprocessing)) return *spec;
    throw UsageError("event key 'pretrained': " + config.pretrained +
                     " is a segmentation network; clustering embeds images with a classifier "
                     "or a simclr pretraining");
  }
  const std::vector<Image> headers = training_headers(samples);
  return input_spec(config, headers, headers[0].depth > 1 ? "cnn3d" : "cnn");
}

}  // namespace

FeatureRows training_features(const Config& config, nlohmann::json& recipe) {
  if (!config.features_table.empty()) {
    recipe = {{"source", "table"}};
    return features_table_rows(config);
  }
  const fs::path model_dir = config.model_dir();
  if (config.pretrained.empty()) {
    const FeatureSettings settings = load_feature_settings(config.feature_settings);
    recipe = {{"source", "radiomics"}, {"settings", feature_settings_to_json(settings)}};
    return radiomics_rows(config, settings, model_dir / "features.csv");
  }
  if (!fs::is_regular_file(config.pretrained))
    throw UsageError("event key 'pretrained': " + config.pretrained +
                     " does not exist; give the model.pt whose embeddings to cluster");
  const std::vector<Sample> samples = unlabelled_images(config);
  const PreprocessSpec spec = embedder_input(config, samples);
  torch::jit::Module network = torch::jit::load(config.pretrained);
  save_module(network, (model_dir / "embedder.pt").string());
  recipe = {
      {"source", "embeddings"}, {"network", "embedder.pt"}, {"preprocessing", spec_to_json(spec)}};
  return embedding_rows(config, network, spec, samples);
}

FeatureRows inference_features(const Config& config, const nlohmann::json& recipe) {
  const std::string source = recipe.at("source").get<std::string>();
  const std::string where = config.model_dir() + "/model.json";
  if (source == "table") {
    if (config.features_table.empty())
      throw UsageError("the clustering model in " + config.model_dir() +
                       " groups the rows of a features table: give features_table");
    return features_table_rows(config);
  }
  if (source == "radiomics") {
    const FeatureSettings settings = feature_settings_from_json(recipe.at("settings"), where);
    return radiomics_rows(config, settings, fs::path(config.results_dir()) / "features.csv");
  }
  torch::jit::Module network = torch::jit::load(
      safe_join(config.model_dir(), recipe.at("network").get<std::string>(), where).string());
  return embedding_rows(config, network, spec_from_json(recipe.at("preprocessing")),
                        unlabelled_images(config));
}

}  // namespace medpipe
