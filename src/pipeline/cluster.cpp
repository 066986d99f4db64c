// The "cluster" task (has_labels false at training): the images' features (features_table, a
// network's embeddings or radiomics) -> standardised (and PCA) -> k-means or a Gaussian mixture
// over the range of cluster counts -> the model (model.json, model.pt) and the training images'
// clusters (predictions.csv image,cluster, <image>.json, metrics.json, report.html). Inference
// assigns new images; with labels, the clusters are compared with them.
#include <map>
#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "core/world.h"
#include "data/labels.h"
#include "data/pairing.h"
#include "io/csv.h"
#include "io/image_io.h"
#include "metrics/clustering.h"
#include "models/cluster_module.h"
#include "pipeline/cluster_model.h"
#include "pipeline/cluster_shared.h"
#include "pipeline/run_setup.h"
#include "pipeline/stages.h"
#include "report/thumbnails.h"
#include "storage/storage.h"

namespace medpipe {

namespace {

constexpr std::size_t kExamplesPerCluster = 6;

void require_rows(const FeatureRows& rows, const std::string& what) {
  if (rows.rows.size() >= 2) return;
  std::string reasons;
  for (std::size_t i = 0; i < std::min<std::size_t>(5, rows.skipped.size()); ++i)
    reasons += "\n  " + rows.skipped[i].first + ": " + rows.skipped[i].second;
  throw UsageError(what + ": features could be computed for only " +
                   std::to_string(rows.rows.size()) + " image(s); a clustering needs at least 2." +
                   reasons);
}

// The class of each named image from the labels CSV (has_labels), else none.
std::map<std::string, int> labels_by_name(const Config& config) {
  std::map<std::string, int> out;
  if (!config.has_labels) return out;
  fs::path csv;
  if (!config.images_bucket.empty()) {
    const fs::path bucket = resolve_location(config.images_bucket, "images_bucket");
    csv = find_labels_csv(config.labels, bucket, "labels", images_folder(bucket));
  } else if (config.labels.empty()) {
    throw UsageError(
        "has_labels is true but labels is empty: give the CSV image,level of the "
        "features_table's rows, or set has_labels false");
  } else {
    csv = resolve_location(config.labels, "labels");
  }
  for (const LabelRow& row : read_labels_csv(csv).rows) out[row.image] = row.level;
  return out;
}

// The labels' agreement with the clusters; images without a label are listed as skipped.
void add_agreement(nlohmann::json& metrics, const std::vector<std::string>& names,
                   const std::vector<int>& clusters, const std::map<std::string, int>& labels,
                   SkippedList& skipped) {
  ClusteringMetric metric;
  for (std::size_t i = 0; i < names.size(); ++i) {
    auto found = labels.find(names[i]);
    if (found == labels.end()) {
      skipped.emplace_back(names[i], "no label in the labels CSV; not evaluated");
      continue;
    }
    metric.add(found->second, clusters[i]);
  }
  if (metric.size() == 0)
    throw UsageError("no clustered image has a label in the labels CSV: check its image column");
  nlohmann::json agreement = metric.compute();
  for (const auto& [key, value] : agreement.items())
    if (key != "n") metrics[key] = value;
  metrics["n_labelled"] = metric.size();
}

std::vector<long> cluster_sizes(const std::vector<int>& labels, std::size_t k) {
  std::vector<long> sizes(k, 0);
  for (int c : labels) ++sizes[static_cast<std::size_t>(c)];
  return sizes;
}

// The images nearest their centre (kmeans) or most surely theirs (gmm), a few per cluster.
nlohmann::json example_images(const FeatureRows& rows, const Assignment& a, std::size_t k) {
  nlohmann::json examples = nlohmann::json::array();
  if (rows.images.empty()) return examples;
  for (std::size_t c = 0; c < k; ++c) {
    std::vector<std::pair<double, std::size_t>> members;
    for (std::size_t i = 0; i < a.labels.size(); ++i) {
      if (a.labels[i] != static_cast<int>(c)) continue;
      members.emplace_back(
          a.squared_distance.empty() ? -a.probabilities[i * k + c] : a.squared_distance[i], i);
    }
    std::sort(members.begin(), members.end());
    nlohmann::json shown = nlohmann::json::array();
    for (std::size_t m = 0; m < members.size() && shown.size() < kExamplesPerCluster; ++m) {
      const std::size_t i = members[m].second;
      Result<Image> image = read_image(rows.images[i]);
      if (image)
        shown.push_back({{"image", rows.names[i]}, {"png", image_thumbnail(image.value())}});
    }
    examples.push_back(shown);
  }
  return examples;
}

void write_assignments(const fs::path& dir, const std::vector<std::string>& names,
                       const Assignment& a, std::size_t k) {
  std::string csv = "image,cluster\n";
  for (std::size_t i = 0; i < names.size(); ++i) {
    csv += csv_quote(names[i]) + "," + std::to_string(a.labels[i]) + "\n";
    nlohmann::json one = {{"image", names[i]}, {"cluster", a.labels[i]}};
    if (!a.squared_distance.empty()) one["squared_distance"] = a.squared_distance[i];
    if (!a.probabilities.empty())
      one["probabilities"] = std::vector<double>(a.probabilities.begin() + i * k,
                                                 a.probabilities.begin() + (i + 1) * k);
    atomic_write_text(safe_join(dir, names[i] + ".json", "the image name"), one.dump() + "\n");
  }
  atomic_write_text(dir / "predictions.csv", csv);
}

struct ClusterRun {
  const FeatureRows& rows;
  const ClusterModel& model;
  const Points& points;
  const Assignment& assignment;
  nlohmann::json metrics;  // the fit's statistics (training) or none
  nlohmann::json model_json;
};

// predictions.csv, per-image objects, metrics.json, skipped.csv and the report in results.
void write_cluster_results(const Config& config, ClusterRun run, SkippedList skipped,
                           double seconds) {
  const fs::path dir = config.results_dir();
  const std::size_t k = run.model.k;
  write_assignments(dir, run.rows.names, run.assignment, k);
  nlohmann::json& m = run.metrics;
  m["n"] = run.rows.names.size();
  m["num_clusters"] = k;
  m["method"] = name_of(run.model.method);
  m["features"] = run.rows.source;
  m["sizes"] = cluster_sizes(run.assignment.labels, k);
  if (!m.contains("silhouette")) {
    const double s = silhouette_score(run.points, run.assignment.labels);
    m["silhouette"] = std::isfinite(s) ? nlohmann::json(s) : nlohmann::json();
  }
  const std::map<std::string, int> labels = labels_by_name(config);
  if (config.has_labels) add_agreement(m, run.rows.names, run.assignment.labels, labels, skipped);
  write_skipped_csv(dir, skipped);
  ReportInput report;
  report.kind = ReportKind::kClustering;
  report.clusters = {{"map", cluster_map(run.points, run.assignment.labels)},
                     {"examples", example_images(run.rows, run.assignment, k)}};
  std::string summary = std::to_string(run.rows.names.size()) + " images in " + std::to_string(k) +
                        " clusters, silhouette " + m["silhouette"].dump();
  if (m.contains("adjusted_rand_index"))
    summary += ", adjusted Rand index " + m["adjusted_rand_index"].dump();
  write_evaluation_outputs(config, m, run.model_json, skipped, seconds, summary, report);
}

SavedModel saved_cluster_model(const Config& config, const ClusterFit& fit,
                               const nlohmann::json& recipe, const FeatureRows& rows,
                               double seconds) {
  SavedModel saved = saved_model_of(config, TrainOutcome{}, seconds);
  saved.task = "cluster";
  saved.model.arch = name_of(fit.model.method);
  saved.model.in_channels = static_cast<int>(fit.model.space.columns.size());
  saved.model.num_classes = static_cast<int>(fit.model.k);
  saved.model.image_size = 1;
  if (recipe.contains("preprocessing"))
    saved.preprocessing = spec_from_json(recipe["preprocessing"]);
  saved.input =
      "float64 [N, F]: the features of cluster.model.space.columns (NaN where missing); output: "
      "a score per cluster, the argmax is the cluster";
  nlohmann::json cluster = fit.model.to_json();
  cluster["features"] = recipe;
  cluster["selection"] = fit.selection;
  cluster["statistics"] = fit.statistics;
  saved.extra = {{"cluster", cluster}};
  saved.validation_metrics = nullptr;
  saved.train_images = rows.rows.size();
  return saved;
}

torch::jit::Module assigner_module(const ClusterModel& model) {
  return model.method == ClusterMethod::kKmeans ? kmeans_module(model.space, model.centres)
                                                : mixture_module(model.space, model.mixture);
}

void refuse_ranks() {
  if (world().size() > 1)
    throw UsageError(
        "clustering runs in one process: launch it without mpirun or srun (num_machines sets "
        "its threads)");
}

}  // namespace

int cluster_train(const Config& config) {
  const auto start = Clock::now();
  refuse_ranks();
  start_run(config, config.model_dir(), "train");
  log_event("stage_start", {{"stage", "train"}, {"task", "cluster"}});
  nlohmann::json recipe;
  const FeatureRows rows = training_features(config, recipe);
  SkippedList skipped = rows.skipped;
  for (const auto& [image, reason] : skipped) log_warn("skipped " + image + ": " + reason);
  require_rows(rows, config.features_table.empty() ? "images_bucket" : "features_table");
  const ClusterSpace space =
      ClusterSpace::fit(rows.columns, rows.rows, config.cluster_pca,
                        config.features_table.empty() ? "images_bucket" : "features_table");
  const Points points = space.apply(rows.columns, rows.rows, "the training features");
  log_info("clustering: " + std::to_string(points.n) + " images in " + std::to_string(points.d) +
           " dimensions (" + std::to_string(space.columns.size()) + " features" +
           (space.components.empty() ? "" : ", principal components") + ")");
  const ClusterFit fit = fit_clusters(config, space, points);
  SavedModel saved = saved_cluster_model(config, fit, recipe, rows, seconds_since(start));
  torch::jit::Module assigner = assigner_module(fit.model);
  write_saved_model(config.model_dir(), assigner, saved);
  write_skipped_csv(config.model_dir(), skipped);
  log_event("stage_end", {{"stage", "train"}, {"seconds", seconds_since(start)}});
  log_info("model: " + (fs::path(config.model_dir()) / "model.json").string() + " (" +
           std::to_string(fit.model.k) + " clusters)");
  start_run(config, config.results_dir(), "predict");
  write_cluster_results(config,
                        {rows, fit.model, points, fit.assignment, fit.statistics, saved.to_json()},
                        skipped, seconds_since(start));
  return 0;
}

int cluster_predict(const Config& config) {
  const auto start = Clock::now();
  refuse_ranks();
  const SavedModel saved = read_saved_model(config.model_dir());
  start_run(config, config.results_dir(), "predict");
  const nlohmann::json& stored = saved.extra.at("cluster");
  const ClusterModel model = ClusterModel::from_json(stored);
  const FeatureRows rows = inference_features(config, stored.at("features"));
  for (const auto& [image, reason] : rows.skipped) log_warn("skipped " + image + ": " + reason);
  require_rows(rows, config.features_table.empty() ? "images_bucket" : "features_table");
  const Points points = model.space.apply(rows.columns, rows.rows, "these images' features");
  const Assignment assignment = assign_points(model, points);
  log_event("stage_start", {{"stage", "predict"}, {"images", rows.names.size()}});
  write_cluster_results(
      config, {rows, model, points, assignment, nlohmann::json::object(), saved.to_json()},
      rows.skipped, seconds_since(start));
  return 0;
}

int cluster_evaluate(const Config& config) {
  const auto start = Clock::now();
  const fs::path csv = fs::path(config.results_dir()) / "predictions.csv";
  if (!fs::exists(csv))
    throw UsageError("no clusters to evaluate: " + csv.string() +
                     " does not exist; run medpipe predict first");
  std::vector<std::string> names;
  std::vector<int> clusters;
  const std::vector<CsvRow> rows = read_csv_file(csv);
  if (rows.empty() || rows[0].fields != std::vector<std::string>{"image", "cluster"})
    throw UsageError(csv.string() + " is not a clustering's predictions.csv (image,cluster)");
  for (std::size_t r = 1; r < rows.size(); ++r) {
    if (rows[r].fields.size() != 2)
      throw UsageError(csv.string() + " line " + std::to_string(rows[r].line) + ": two fields");
    names.push_back(rows[r].fields[0]);
    try {
      clusters.push_back(std::stoi(rows[r].fields[1]));
    } catch (const std::logic_error&) {
      throw UsageError(csv.string() + " line " + std::to_string(rows[r].line) +
                       ": the cluster is not a number");
    }
  }
  start_run(config, config.results_dir(), "evaluate");
  int k = 0;
  for (int c : clusters) k = std::max(k, c + 1);
  nlohmann::json metrics = {{"n", names.size()},
                            {"num_clusters", k},
                            {"sizes", cluster_sizes(clusters, static_cast<std::size_t>(k))}};
  SkippedList skipped;
  add_agreement(metrics, names, clusters, labels_by_name(config), skipped);
  ReportInput report;
  report.kind = ReportKind::kClustering;
  write_evaluation_outputs(config, metrics, saved_model_json(config), skipped, seconds_since(start),
                           "adjusted Rand index " + metrics["adjusted_rand_index"].dump(), report);
  return 0;
}

}  // namespace medpipe
