#include "pipeline/run_setup.h"

#include <unistd.h>

#include <algorithm>

#include "core/blas_kernel.h"
#include "core/error.h"
#include "core/json_value.h"
#include "core/log.h"
#include "core/runtime.h"
#include "core/world.h"
#include "data/labels.h"
#include "data/masks.h"
#include "models/models.h"
#include "report/run_status.h"
#include "storage/storage.h"

namespace medpipe {

namespace {

fs::path comparable(const fs::path& p) {
  std::error_code ec;
  fs::path canonical = fs::weakly_canonical(fs::absolute(p, ec), ec);
  return (ec ? fs::absolute(p) : canonical).lexically_normal();
}

// `inner` is `outer` or lies below it.
bool within(const fs::path& inner, const fs::path& outer) {
  auto [o, i] = std::mismatch(outer.begin(), outer.end(), inner.begin(), inner.end());
  return o == outer.end() || (o->empty() && std::next(o) == outer.end());
}

// UsageError when the output folder of a stage is, holds or lies inside one of its inputs, before
// anything is written: results must never overwrite images, masks, labels, covariate tables or a
// model.
void check_outputs_apart(const Config& config, const fs::path& output, const std::string& stage) {
  std::vector<std::pair<std::string, std::string>> inputs = {
      {"images_bucket", config.images_bucket},
      {"val_images_bucket", config.val_images_bucket},
      {"images_labels_bucket", config.images_labels_bucket},
      {"labels", config.labels},
      {"val_labels", config.val_labels},
      {"features_table", config.features_table},
      {"val_features_table", config.val_features_table}};
  if (stage != "train") inputs.push_back({"the model folder", config.model_dir()});
  const fs::path out = comparable(output);
  const std::string out_key = stage == "train" ? "the model folder" : "results_bucket";
  for (const auto& [key, location] : inputs) {
    if (location.empty()) continue;
    const fs::path in = comparable(local_path_for(location));
    if (!within(out, in) && !within(in, out)) continue;
    throw UsageError(out_key + " " + out.string() + " overlaps " + key + " " + in.string() +
                     ": the run would write its outputs among its inputs (and could overwrite "
                     "them); choose a separate folder for " +
                     out_key);
  }
}

}  // namespace

void start_run(const Config& config, const fs::path& run_dir, const std::string& stage) {
  check_outputs_apart(config, run_dir, stage);
  ensure_writable_dir(run_dir, stage == "train" ? "model folder" : "results_bucket");
  if (is_lead_rank()) remove_stale_temps(run_dir);
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
  start["blas"] = blas_kernel_json();
  if (!blas_kernel().warning.empty()) log_warn(blas_kernel().warning);
  log_event("run_start", start);
  atomic_write_text(run_dir / "config.json", json_text(config_to_json(config), 2) + "\n");
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

void require_usable(const TensorCache& cache, const std::string& what) {
  if (cache.usable().size() >= 2) return;
  std::string reasons;
  for (std::size_t i = 0; i < std::min<std::size_t>(5, cache.skipped().size()); ++i) {
    reasons += "\n  " + cache.skipped()[i].image + ": " + cache.skipped()[i].reason;
  }
  throw UsageError(what + ": only " + std::to_string(cache.usable().size()) +
                   " image(s) could be used; a run needs at least 2." + reasons);
}

PairedSet labelled_images(const std::string& images_key, const std::string& images_location,
                          const std::string& labels_key, const std::string& labels,
                          int num_classes) {
  fs::path bucket = resolve_location(images_location, images_key);
  fs::path dir = images_folder(bucket);
  std::vector<Sample> images = list_images(dir, images_key);
  LabelTable table = read_labels_csv(find_labels_csv(labels, bucket, labels_key, dir));
  return pair_with_labels(std::move(images), table, num_classes);
}

std::vector<Sample> masked_images(const std::string& key, const std::string& location,
                                  const std::string& labels_bucket) {
  fs::path bucket = resolve_location(location, key);
  std::vector<Sample> images = list_images(images_folder(bucket), key);
  return pair_with_masks(std::move(images),
                         masks_folder(labels_bucket, bucket, "images_labels_bucket"),
                         "images_labels_bucket");
}

std::vector<Sample> unlabelled_images(const Config& config) {
  return list_images(images_folder(resolve_location(config.images_bucket, "images_bucket")),
                     "images_bucket");
}

TrainingSamples training_samples(const Config& config, const PairImages& pair) {
  TrainingSamples out;
  PairedSet train = pair("images_bucket", config.images_bucket, false, config.num_classes);
  out.train = std::move(train.samples);
  out.num_classes = train.num_classes;
  if (!config.val_images_bucket.empty()) {
    out.val = pair("val_images_bucket", config.val_images_bucket, true, out.num_classes).samples;
  } else if (config.val_fraction > 0) {
    std::tie(out.train, out.val) =
        validation_split(out.train, config.val_fraction, out.num_classes, config.seed);
  }
  return out;
}

ModelSpec training_spec(const Config& c, ModelSpec spec) {
  spec.sync_batch_norm =
      c.sync_batch_norm && c.sync == SyncMode::kGradients && c.resolved_workers() > 1;
  return spec;
}

LoopSettings loop_settings(const Config& c, int member) {
  LoopSettings s;
  s.epochs = c.epochs;
  s.batch_size = c.resolved_batch_size();
  s.optim = {c.optimizer, c.learning_rate, c.momentum, c.weight_decay, c.lr_schedule};
  s.seed = static_cast<std::uint64_t>(c.seed + member);
  s.checkpoint_path = (fs::path(c.model_dir()) / "checkpoint.pt").string();
  s.state_path =
      (fs::path(c.model_dir()) / ("training_state_" + std::to_string(member) + ".pt")).string();
  s.checkpoint_every = c.checkpoint_every;
  s.parallel = {c.local_workers(), c.resolved_threads(), c.sync, c.local_steps};
  return s;
}

std::string training_fingerprint(const Config& config, const std::vector<Sample>& train) {
  std::string text = json_text(config_to_json(config));
  for (const Sample& s : train) {
    text += "|" + s.path.string();
    if (const auto* mask = std::get_if<MaskTarget>(&s.target)) text += "|" + mask->path.string();
  }
  return hex_digest(text);
}

SavedModel saved_model_of(const Config& config, const TrainOutcome& outcome, double seconds) {
  SavedModel m;
  m.training = config_to_json(config);
  if (!config.plan_json.empty()) m.plan = nlohmann::json::parse(config.plan_json);
  m.history = outcome.history;
  m.best_epoch = outcome.best_epoch;
  m.validation_metrics = outcome.best_metrics;
  m.train_seconds = seconds;
  m.samples_per_second = outcome.samples_per_second;
  m.parallel = {{"workers", config.resolved_workers()},
                {"ranks", world().size()},
                {"threads_per_worker", config.resolved_threads()},
                {"sync", name_of(config.sync)},
                {"sync_batch_norm", training_spec(config, ModelSpec{}).sync_batch_norm},
                {"compute_seconds", outcome.compute_seconds},
                {"sync_seconds", outcome.sync_seconds},
                {"wait_seconds", outcome.wait_seconds},
                {"steps", outcome.steps}};
  return m;
}

void log_validation_metrics(const TrainOutcome& outcome) {
  if (!outcome.best_metrics.is_object()) return;
  nlohmann::json validation = metrics_event(outcome.best_metrics, "validation");
  validation["best_epoch"] = outcome.best_epoch;
  log_event("metrics", validation);
}

void end_training(const Config& config, const TrainOutcome& outcome, double seconds, int members) {
  for (int k = 0; k < members; ++k) fs::remove(loop_settings(config, k).state_path);
  log_validation_metrics(outcome);
  log_event("stage_end",
            {{"stage", "train"}, {"seconds", seconds}, {"best_epoch", outcome.best_epoch}});
}

nlohmann::json saved_model_json(const Config& config) {
  std::optional<SavedModel> saved = find_saved_model(config.model_dir());
  return saved ? saved->to_json() : nlohmann::json(nullptr);
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

}  // namespace medpipe
