#include "cli/run_setup.h"

#include <torch/version.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>

#include "core/error.h"
#include "core/log.h"
#include "core/runtime.h"
#include "core/world.h"
#include "data/labels.h"
#include "data/pairing.h"
#include "io/csv.h"
#include "io/image_io.h"
#include "models/models.h"
#include "report/run_status.h"
#include "storage/storage.h"

namespace medpipe::cli {

void start_run(const Config& config, const fs::path& run_dir, const std::string& stage) {
  ensure_writable_dir(run_dir, stage == "train" ? "model folder" : "results_bucket");
  set_world_timeout(config.sync_timeout_s);
  configure_torch(config.process_threads());
  keep_freed_memory_in_process();
  install_stop_signals();
  char host[256] = "";
  ::gethostname(host, sizeof host - 1);
  nlohmann::json start = {{"stage", stage},
                          {"pid", static_cast<long>(::getpid())},
                          {"host", host},
                          {"rank", world().rank()},
                          {"ranks", world().size()}};
  if (!is_lead_rank()) {  // rank 0 logs and writes; the others warn, and log their problems
    init_logging("warn");
    open_event_log((run_dir / ("events.rank" + std::to_string(world().rank()) + ".jsonl")).string(),
                   true);
    log_event("run_start", start);
    return;
  }
  open_event_log((run_dir / "events.jsonl").string());
  start["config"] = config_to_json(config);
  start["workers"] = config.process_threads();
  start["threads_per_worker"] = config.resolved_threads();
  log_event("run_start", start);
  atomic_write_text(run_dir / "config.json", config_to_json(config).dump(2) + "\n");
}

namespace {

PairedSet labelled_images(const std::string& images_key, const std::string& images_location,
                          const std::string& labels_key, const std::string& labels,
                          int num_classes) {
  fs::path bucket = resolve_location(images_location, images_key);
  fs::path dir = images_folder(bucket);
  std::vector<Sample> images = list_images(dir, images_key);
  LabelTable table = read_labels_csv(find_labels_csv(labels, bucket, labels_key, dir));
  return pair_with_labels(std::move(images), table, num_classes);
}

// num_channels and image_size when the config leaves them to the data: from the first image
// that decodes.
std::pair<int, int> infer_input_shape(const Config& config, const std::vector<Sample>& samples,
                                      const std::string& arch) {
  int channels = config.num_channels, size = config.image_size;
  for (const auto& s : samples) {
    if (channels && size) break;
    Result<Image> image = read_image(s.path);
    if (!image) continue;
    if (!channels) channels = image.value().channels == 1 ? 1 : 3;
    if (!size)
      size = arch == "alexnet" ? 224
                               : std::min(64, std::max(image.value().height, image.value().width));
  }
  if (!channels || !size) {
    throw UsageError(
        "none of the " + std::to_string(samples.size()) +
        " images could be decoded; check images_bucket holds DICOM, PNG, JPEG or TIFF files");
  }
  return {channels, size};
}

void check_channels_agree(const Config& config, const std::vector<const TensorCache*>& caches) {
  if (config.num_channels != 0) return;
  std::map<int, std::vector<std::string>> by_channels;
  for (const TensorCache* cache : caches) {
    for (std::size_t i : cache->usable())
      by_channels[cache->source_channels()[i]].push_back(cache->samples()[i].name);
  }
  if (by_channels.size() <= 1) return;
  std::string detail;
  for (const auto& [c, names] : by_channels) {
    detail += "\n  " + std::to_string(names.size()) + " image(s) with " + std::to_string(c) +
              " channel(s), e.g. " + names[0];
  }
  throw UsageError("the images have mixed channel counts:" + detail +
                   "\nset num_channels to 1 (gray) or 3 (RGB) and every image is converted to it");
}

}  // namespace

void require_usable(const TensorCache& cache, const std::string& what) {
  if (cache.usable().size() >= 2) return;
  std::string reasons;
  for (std::size_t i = 0; i < std::min<std::size_t>(5, cache.skipped().size()); ++i) {
    reasons += "\n  " + cache.skipped()[i].image + ": " + cache.skipped()[i].reason;
  }
  throw UsageError(what + ": only " + std::to_string(cache.usable().size()) +
                   " image(s) could be used; a run needs at least 2." + reasons);
}

void add_skipped(SkippedList& list, const std::vector<SkippedInput>& skipped) {
  for (const auto& s : skipped) {
    list.emplace_back(s.image, s.reason);
    log_warn("skipped " + s.image + ": " + s.reason);
    log_event("skipped", {{"image", s.image}, {"reason", s.reason}});
  }
}

fs::path cache_dir(const Config& config) {
  return config.cache_dir.empty() ? fs::path(config.models_bucket) / ".cache"
                                  : fs::path(config.cache_dir);
}

TrainingSamples training_samples(const Config& config) {
  if (!config.has_labels) {
    throw UsageError(
        "event key 'has_labels' is false but 'is_train' is true: training needs labels");
  }
  TrainingSamples out;
  out.train = labelled_images("images_bucket", config.images_bucket, "labels", config.labels,
                              config.num_classes);
  if (!config.val_images_bucket.empty()) {
    PairedSet val = labelled_images("val_images_bucket", config.val_images_bucket, "val_labels",
                                    config.val_labels, out.train.num_classes);
    out.val = std::move(val.samples);
  } else if (config.val_fraction > 0) {
    auto split = stratified_split(out.train.samples, config.val_fraction, out.train.num_classes,
                                  static_cast<unsigned>(config.seed));
    out.train.samples = std::move(split.first);
    out.val = std::move(split.second);
  }
  return out;
}

std::vector<Sample> inference_samples(const Config& config, int num_classes) {
  if (config.has_labels) {
    return labelled_images("images_bucket", config.images_bucket, "labels", config.labels,
                           num_classes)
        .samples;
  }
  return list_images(images_folder(resolve_location(config.images_bucket, "images_bucket")),
                     "images_bucket");
}

RunSetup prepare_training(const Config& config) {
  if (config.pipeline == "features") return prepare_feature_training(config);
  TrainingSamples samples = training_samples(config);
  PairedSet& train = samples.train;
  std::vector<Sample>& val_samples = samples.val;
  start_run(config, config.model_dir(), "train");
  std::string arch =
      config.arch == "auto" ? (config.pretrained.empty() ? "cnn" : "alexnet") : config.arch;
  auto [channels, size] = infer_input_shape(config, train.samples, arch);
  PreprocessSpec spec{channels,
                      size,
                      config.resize,
                      config.normalize,
                      config.ct_window_level,
                      config.ct_window_width};
  if (spec.normalize == "auto") spec.normalize = config.pretrained.empty() ? "zscore" : "imagenet";
  int workers = config.process_threads();  // preprocessing threads of this process
  RunSetup run{TensorCache::build(train.samples, spec, cache_dir(config), workers, "preprocess"),
               std::nullopt,
               ModelSpec{arch, channels, train.num_classes, size, config.hidden_units,
                         config.cnn_width, config.cnn_blocks, config.dropout},
               {},
               nlohmann::json::object()};
  if (!val_samples.empty())
    run.val = TensorCache::build(val_samples, spec, cache_dir(config), workers, "preprocess val");
  add_skipped(run.skipped, run.train.skipped());
  if (run.val) add_skipped(run.skipped, run.val->skipped());
  check_channels_agree(config, {&run.train, run.val ? &*run.val : &run.train});
  require_usable(run.train, "images_bucket");
  write_skipped_csv(config.model_dir(), run.skipped);
  return run;
}

void save_trained_model(const Config& config, const RunSetup& run, torch::jit::Module& module,
                        const TrainOutcome& outcome, double seconds) {
  fs::path dir = config.model_dir();
  nlohmann::json meta = {
      {"format", "medpipe-model-1"},
      {"task", "classify"},
      {"arch", run.model_spec.arch},
      {"model", model_spec_to_json(run.model_spec)},
      {"num_classes", run.model_spec.num_classes},
      {"classes",
       [&] {
         std::vector<int> k(run.model_spec.num_classes);
         for (int i = 0; i < k.size(); ++i) k[i] = i;
         return k;
       }()},
      {"channels", run.model_spec.in_channels},
      {"input_size", {run.model_spec.image_size, run.model_spec.image_size}},
      {"input",
       "float32 NCHW after preprocessing; output: logits, apply softmax for probabilities"},
      {"preprocessing", spec_to_json(run.train.spec())},
      {"training", config_to_json(config)},
      {"history", outcome.history},
      {"best_epoch", outcome.best_epoch},
      {"validation_metrics", outcome.best_metrics},
      {"train_images", run.train.usable().size()},
      {"val_images", run.val ? run.val->usable().size() : 0},
      {"train_seconds", seconds},
      {"samples_per_second", outcome.samples_per_second},
      {"parallel",
       {{"workers", config.resolved_workers()},
        {"ranks", world().size()},
        {"threads_per_worker", config.resolved_threads()},
        {"sync", config.sync},
        {"compute_seconds", outcome.compute_seconds},
        {"sync_seconds", outcome.sync_seconds},
        {"wait_seconds", outcome.wait_seconds},
        {"steps", outcome.steps}}},
      {"versions", {{"medpipe", "0.1.0"}, {"libtorch", TORCH_VERSION}}}};
  meta.update(run.model_extra);
  save_module(module, (dir / "model.pt").string());
  atomic_write_text(dir / "model.json", meta.dump(2) + "\n");
  std::string summary = "model: " + (dir / "model.pt").string() + " (best epoch " +
                        std::to_string(outcome.best_epoch) + ")";
  if (!outcome.best_metrics.is_null()) {
    summary += ", validation accuracy " + outcome.best_metrics["accuracy"].dump() + ", AUC " +
               outcome.best_metrics["roc_auc"].dump();
  }
  log_info(summary);
}

InferenceSetup prepare_inference(const Config& config) {
  LoadedModel model = load_model(config.model_dir());
  if (model.meta.value("task", "classify") != "classify") {
    throw UsageError("the model in " + config.model_dir() +
                     " segments images (model.json task 'segment'); set label_style to 'array'");
  }
  std::vector<Sample> samples = inference_samples(config, model.num_classes);
  if (model.meta.contains("features")) {
    return prepare_feature_inference(config, std::move(model), samples);
  }
  start_run(config, config.results_dir(), "predict");
  PreprocessSpec spec = model.preprocess;
  InferenceSetup run{
      std::move(model),
      TensorCache::build(samples, spec, cache_dir(config), config.process_threads(), "preprocess"),
      {}};
  add_skipped(run.skipped, run.images.skipped());
  if (run.images.usable().empty()) require_usable(run.images, "images_bucket");
  return run;
}

EvaluationSetup prepare_evaluation(const Config& config) {
  fs::path csv = fs::path(config.results_dir()) / "predictions.csv";
  if (!fs::exists(csv)) {
    throw UsageError("no predictions to evaluate: " + csv.string() +
                     " does not exist; run medpipe predict first");
  }
  std::vector<CsvRow> rows = read_csv_file(csv);
  PairedSet labelled = labelled_images("images_bucket", config.images_bucket, "labels",
                                       config.labels, config.num_classes);
  std::map<std::string, int> truth;
  for (const auto& s : labelled.samples) truth[s.name] = s.label;
  EvaluationSetup run;
  int k = rows.empty() ? 0 : static_cast<int>(rows[0].fields.size()) - 2;
  if (k < 2)
    throw UsageError(csv.string() + " has no prob_ columns; it is not a medpipe predictions file");
  run.predictions.num_classes = k;
  for (std::size_t r = 1; r < rows.size(); ++r) {
    const auto& f = rows[r].fields;
    std::string where = csv.string() + " line " + std::to_string(rows[r].line);
    if (f.size() != static_cast<std::size_t>(k + 2)) {
      throw UsageError(where + " has " + std::to_string(f.size()) + " columns, the header " +
                       std::to_string(k + 2) + "; re-run medpipe predict to rewrite it");
    }
    auto it = truth.find(f[0]);
    if (it == truth.end()) {
      run.skipped.emplace_back(f[0], "no label in the labels CSV; not evaluated");
      log_warn("not evaluated: " + f[0] + " has no label in the labels CSV");
      continue;
    }
    run.predictions.images.push_back(f[0]);
    run.predictions.truth.push_back(it->second);
    for (int c = 0; c < k; ++c) {
      char* end = nullptr;
      double p = std::strtod(f[2 + c].c_str(), &end);
      if (f[2 + c].empty() || *end != '\0') {
        throw UsageError(where + ": prob_" + std::to_string(c) + " '" + f[2 + c] +
                         "' is not a number; re-run medpipe predict to rewrite it");
      }
      run.predictions.probabilities.push_back(p);
    }
  }
  start_run(config, config.results_dir(), "evaluate");
  return run;
}

nlohmann::json saved_model_meta(const Config& config) {
  fs::path meta = fs::path(config.model_dir()) / "model.json";
  if (!fs::exists(meta)) return nullptr;
  auto j = nlohmann::json::parse(read_text_file(meta), nullptr, false);
  return j.is_object() ? j : nlohmann::json(nullptr);
}

void log_validation_metrics(const TrainOutcome& outcome) {
  if (!outcome.best_metrics.is_object()) return;
  nlohmann::json validation = metrics_event(outcome.best_metrics, "validation");
  validation["best_epoch"] = outcome.best_epoch;
  log_event("metrics", validation);
}

void write_evaluation_outputs(const Config& config, const nlohmann::json& metrics,
                              const nlohmann::json& model, const SkippedList& skipped,
                              double seconds, const std::string& summary, ReportInput report) {
  fs::path dir = config.results_dir();
  write_metrics_json(dir, metrics);
  report.title = "medpipe evaluation: " + config.model_bucket_name;
  report.metrics = metrics;
  report.config = config_to_json(config);
  report.model = model;
  report.skipped = skipped;
  report.warnings = logged_warnings();
  report.seconds = seconds;
  write_report_html(dir, report);
  log_event("metrics", metrics_event(metrics, "evaluation"));
  log_event("stage_end", {{"stage", "evaluate"}, {"images", metrics.value("n", 0)}});
  log_info("evaluation: " + summary);
  log_info("report: " + (dir / "report.html").string());
}

}  // namespace medpipe::cli
