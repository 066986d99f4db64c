// The flow of a segmentation run (label_style array): pair images with label arrays ->
// normalise -> train a U-Net on patches | predict tile by tile, one image at a time ->
// per-image masks -> Dice/Jaccard/HD95/ASSD -> report.
#include <torch/version.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "cli/pipeline.h"
#include "cli/run_setup.h"
#include "core/error.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/world.h"
#include "data/masks.h"
#include "infer/segmenter.h"
#include "io/csv.h"
#include "io/image_io.h"
#include "metrics/segmentation.h"
#include "report/report.h"
#include "storage/storage.h"
#include "train/segmentation_trainer.h"

namespace medpipe::cli {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Images of a bucket paired with their label arrays (`labels_bucket`, else <bucket>/masks).
MaskedSet masked_images(const std::string& key, const std::string& location,
                        const std::string& labels_bucket) {
  fs::path bucket = resolve_location(location, key);
  std::vector<Sample> images = list_images(images_folder(bucket), key);
  return pair_with_masks(std::move(images),
                         masks_folder(labels_bucket, bucket, "images_labels_bucket"),
                         "images_labels_bucket");
}

// A random `fraction` of the images (at least one, at most all but one), by seed.
std::pair<MaskedSet, MaskedSet> split_masked(const MaskedSet& all, double fraction, int seed) {
  std::vector<std::size_t> order(all.samples.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::mt19937_64 rng(static_cast<std::uint64_t>(seed));
  std::shuffle(order.begin(), order.end(), rng);
  auto n_val = static_cast<std::size_t>(std::lround(fraction * static_cast<double>(order.size())));
  n_val = std::clamp<std::size_t>(n_val, 1, order.size() - 1);
  std::sort(order.begin(), order.begin() + n_val);
  std::sort(order.begin() + n_val, order.end());
  MaskedSet train, val;
  for (std::size_t k = 0; k < order.size(); ++k) {
    MaskedSet& into = k < n_val ? val : train;
    into.samples.push_back(all.samples[order[k]]);
    into.masks.push_back(all.masks[order[k]]);
  }
  return {train, val};
}

SegmentationSpec segmentation_spec(const Config& config, const MaskedSet& set) {
  SegmentationSpec spec;
  spec.channels = config.num_channels;
  for (std::size_t i = 0; i < set.samples.size() && !spec.channels; ++i) {
    Result<Image> image = read_image(set.samples[i].path);
    if (image) spec.channels = image.value().channels == 1 ? 1 : 3;
  }
  if (!spec.channels) spec.channels = 1;
  spec.normalize = config.normalize == "auto" ? "zscore" : config.normalize;
  spec.window_level_hu = config.ct_window_level;
  spec.window_width_hu = config.ct_window_width;
  return spec;
}

// patch_size 0: 128, or the smallest image side when smaller, rounded up to 2^depth.
int resolve_patch(const Config& config, const SegmentationSet& set) {
  if (config.patch_size > 0) return config.patch_size;
  int smallest = 128;
  for (const auto& v : set.volumes()) smallest = std::min({smallest, v.height, v.width});
  const int multiple = 1 << config.unet_depth;
  return (smallest + multiple - 1) / multiple * multiple;
}

SegmentationTrainSettings segmentation_settings(const Config& c, int num_classes, int patch) {
  SegmentationTrainSettings s;
  s.optim = {c.optimizer, c.learning_rate, c.momentum, c.weight_decay, c.lr_schedule};
  s.epochs = c.epochs;
  s.batch_size = c.resolved_batch_size();
  s.patch = patch;
  s.patches_per_image = c.patches_per_image;
  s.augment = c.augment;
  s.seed = static_cast<std::uint64_t>(c.seed);
  s.num_classes = num_classes;
  // validation each epoch without the mirrored pass: it would double its cost (inference uses tta)
  s.tiles = {patch, c.tile_overlap, 8, false};
  s.checkpoint_path = (fs::path(c.model_dir()) / "checkpoint.pt").string();
  s.state_path = (fs::path(c.model_dir()) / "training_state_0.pt").string();
  s.checkpoint_every = c.checkpoint_every;
  s.parallel = {c.local_workers(), c.resolved_threads(), c.sync, c.local_steps};
  return s;
}

// What a resumable state must match: every setting and the training images and masks.
std::string fingerprint_of(const Config& config, const MaskedSet& train) {
  std::string text = config_to_json(config).dump();
  for (std::size_t i = 0; i < train.samples.size(); ++i)
    text += "|" + train.samples[i].path.string() + "|" + train.masks[i].string();
  return hex_digest(text);
}

void save_segmenter(const Config& config, torch::jit::Module& module, const ModelSpec& model,
                    const SegmentationSpec& spec, const TrainOutcome& outcome, int patch,
                    std::size_t train_images, std::size_t val_images, double seconds) {
  fs::path dir = config.model_dir();
  nlohmann::json meta = {
      {"format", "medpipe-model-1"},
      {"task", "segment"},
      {"arch", model.arch},
      {"model", model_spec_to_json(model)},
      {"num_classes", model.num_classes},
      {"channels", model.in_channels},
      {"patch_size", patch},
      {"input",
       "float32 NCHW after preprocessing, H and W multiples of 2^unet_depth; output: per-pixel "
       "logits NKHW, apply softmax over K"},
      {"preprocessing", segmentation_spec_to_json(spec)},
      {"training", config_to_json(config)},
      {"history", outcome.history},
      {"best_epoch", outcome.best_epoch},
      {"validation_metrics", outcome.best_metrics},
      {"train_images", train_images},
      {"val_images", val_images},
      {"train_seconds", seconds},
      {"samples_per_second", outcome.samples_per_second},
      {"versions", {{"medpipe", "0.1.0"}, {"libtorch", TORCH_VERSION}}}};
  save_module(module, (dir / "model.pt").string());
  atomic_write_text(dir / "model.json", meta.dump(2) + "\n");
  log_info("model: " + (dir / "model.pt").string() + " (best epoch " +
           std::to_string(outcome.best_epoch) + ", validation Dice " +
           (outcome.best_metrics.is_object() ? outcome.best_metrics["dice"].dump() : "n/a") + ")");
}

}  // namespace

int segment_train_stage(const Config& config) {
  auto start = Clock::now();
  if (!config.has_labels)
    throw UsageError(
        "event key 'has_labels' is false but 'is_train' is true: training needs labels");
  MaskedSet train =
      masked_images("images_bucket", config.images_bucket, config.images_labels_bucket);
  MaskedSet val;
  if (!config.val_images_bucket.empty()) {
    val = masked_images("val_images_bucket", config.val_images_bucket, config.images_labels_bucket);
  } else if (config.val_fraction > 0 && train.samples.size() >= 2) {
    std::tie(train, val) = split_masked(train, config.val_fraction, config.seed);
  }
  start_run(config, config.model_dir(), "train");
  SegmentationSpec spec = segmentation_spec(config, train);
  const int workers = config.process_threads();
  SegmentationSet train_set =
      SegmentationSet::build(train, spec, config.num_classes, workers, "preprocess");
  const int num_classes = train_set.num_classes();
  std::optional<SegmentationSet> val_set;
  if (!val.samples.empty())
    val_set = SegmentationSet::build(val, spec, num_classes, workers, "preprocess val");
  SkippedList skipped;
  add_skipped(skipped, train_set.skipped());
  if (val_set) add_skipped(skipped, val_set->skipped());
  write_skipped_csv(config.model_dir(), skipped);
  if (train_set.volumes().empty())
    throw UsageError("images_bucket: none of the images could be used; see skipped.csv");
  const int patch = resolve_patch(config, train_set);
  ModelSpec model{"unet", spec.channels, num_classes, patch};
  model.unet_depth = config.unet_depth;
  model.unet_width = config.unet_width;
  log_event("stage_start", {{"stage", "train"},
                            {"train_images", train_set.volumes().size()},
                            {"train_slices", train_set.slices().size()},
                            {"val_images", val_set ? val_set->volumes().size() : 0},
                            {"patch_size", patch}});
  torch::jit::Module module = build_model(model, static_cast<std::uint64_t>(config.seed));
  SegmentationTrainSettings settings = segmentation_settings(config, num_classes, patch);
  settings.fingerprint = fingerprint_of(config, train);
  TrainOutcome outcome =
      train_segmenter(module, train_set, val_set ? &*val_set : nullptr, settings);
  if (!is_lead_rank()) return 0;  // under MPI rank 0 writes the model
  save_segmenter(config, module, model, spec, outcome, patch, train_set.volumes().size(),
                 val_set ? val_set->volumes().size() : 0, seconds_since(start));
  fs::remove(settings.state_path);
  log_validation_metrics(outcome);
  log_event(
      "stage_end",
      {{"stage", "train"}, {"seconds", seconds_since(start)}, {"best_epoch", outcome.best_epoch}});
  return 0;
}

namespace {

// Scores of every foreground class of one image.
std::vector<RegionScores> score_image(const LabelVolume& truth, const LabelVolume& predicted,
                                      int num_classes) {
  std::vector<RegionScores> scores;
  for (int k = 1; k < num_classes; ++k) scores.push_back(region_scores(truth, predicted, k));
  return scores;
}

struct ScoredRun {
  std::vector<std::string> images;
  std::vector<std::vector<RegionScores>> scores;
  bool spacing_known = true;
  CaseGallery gallery;  // the best and worst cases, drawn for the report

  // Scores one image against its truth; draws it when it is among the best or worst so far.
  void add(const std::string& name, const Image& image, const LabelVolume& truth,
           const LabelVolume& predicted, int num_classes) {
    images.push_back(name);
    scores.push_back(score_image(truth, predicted, num_classes));
    spacing_known &= image.spacing_known;
    double dice = 0;
    for (const auto& s : scores.back()) dice += s.dice / static_cast<double>(scores.back().size());
    if (gallery.wants(dice)) gallery.add({name, dice, overlay_thumbnail(image, truth, predicted)});
  }
};

void write_evaluation(const Config& config, const ScoredRun& run, const SkippedList& skipped,
                      const nlohmann::json& model, double seconds) {
  log_event("stage_start", {{"stage", "evaluate"}, {"images", run.images.size()}});
  nlohmann::json metrics =
      summarise_segmentation(run.images, run.scores, run.spacing_known && !run.images.empty());
  ReportInput pictures;
  pictures.best_cases = run.gallery.best();
  pictures.worst_cases = run.gallery.worst();
  write_evaluation_outputs(config, metrics, model, skipped, seconds,
                           "n " + std::to_string(run.images.size()) + ", Dice " +
                               metrics["dice"].dump() + ", HD95 " + metrics["hausdorff95"].dump() +
                               " " + metrics["distance_units"].get<std::string>(),
                           pictures);
}

// The truth of one image for scoring, with the image's spacing; UsageError when it does not fit.
LabelVolume truth_for(const fs::path& mask_path, const Image& image, int num_classes) {
  Result<LabelVolume> truth = read_label_volume(mask_path);
  if (!truth) throw UsageError(mask_path.string() + ": " + truth.error());
  std::string problem = check_mask_against_image(truth.value(), mask_path, image, num_classes);
  if (!problem.empty()) throw UsageError(problem);
  truth.value().spacing_mm = image.spacing_mm;
  truth.value().spacing_known = image.spacing_known;
  return truth.take();
}

// Classes to score: num_classes, else the model's, else 2 (background and one region).
int evaluation_classes(const Config& config) {
  if (config.num_classes > 0) return config.num_classes;
  nlohmann::json meta = saved_model_meta(config);
  if (meta.is_object() && meta.contains("num_classes")) return meta["num_classes"].get<int>();
  return 2;
}

}  // namespace

int segment_predict_stage(const Config& config) {
  if (!is_lead_rank()) return 0;  // under MPI rank 0 predicts, one image at a time
  auto start = Clock::now();
  LoadedSegmenter model =
      as_segmenter(load_model(config.model_dir()), config.tile_overlap, config.tta);
  MaskedSet set;
  if (config.has_labels) {
    set = masked_images("images_bucket", config.images_bucket, config.images_labels_bucket);
  } else {
    set.samples = list_images(
        images_folder(resolve_location(config.images_bucket, "images_bucket")), "images_bucket");
  }
  start_run(config, config.results_dir(), "predict");
  log_event("stage_start", {{"stage", "predict"}, {"images", set.samples.size()}});
  const fs::path dir = config.results_dir();
  ScoredRun scored;
  SkippedList skipped;
  std::vector<std::string> names, mask_files;
  Progress progress("predict", set.samples.size(), "img");
  for (std::size_t i = 0; i < set.samples.size(); ++i, progress.advance()) {
    const Sample& sample = set.samples[i];
    Result<Image> image = read_image(sample.path);
    Result<LabelVolume> mask =
        image ? segment_image(model, image.value()) : Result<LabelVolume>::failure(image.error());
    if (!mask) {
      skipped.emplace_back(sample.name, mask.error());
      log_warn("skipped " + sample.name + ": " + mask.error());
      continue;
    }
    names.push_back(sample.name);
    mask_files.push_back(write_segmentation_outputs(dir, sample.name, sample.path, image.value(),
                                                    mask.value(), model.num_classes)
                             .front());
    if (config.has_labels) {
      LabelVolume truth = truth_for(set.masks[i], image.value(), model.num_classes);
      scored.add(sample.name, image.value(), truth, mask.value(), model.num_classes);
    }
  }
  progress.finish();
  write_mask_list_csv(dir, names, mask_files);
  write_skipped_csv(dir, skipped);
  log_event("stage_end", {{"stage", "predict"},
                          {"images", names.size()},
                          {"skipped", skipped.size()},
                          {"seconds", seconds_since(start)}});
  log_info("predictions: " + std::to_string(names.size()) + " masks -> " +
           (dir / "predictions.csv").string());
  if (config.has_labels)
    write_evaluation(config, scored, skipped, model.meta, seconds_since(start));
  return 0;
}

int segment_evaluate_stage(const Config& config) {
  auto start = Clock::now();
  fs::path dir = config.results_dir(), csv = dir / "predictions.csv";
  if (!fs::exists(csv))
    throw UsageError("no predictions to evaluate: " + csv.string() +
                     " does not exist; run medpipe predict first");
  std::vector<CsvRow> rows = read_csv_file(csv);
  if (rows.empty() || rows[0].fields.size() != 2 || rows[0].fields[1] != "mask")
    throw UsageError(csv.string() + " is not a segmentation predictions file (image,mask)");
  MaskedSet set = masked_images("images_bucket", config.images_bucket, config.images_labels_bucket);
  std::map<std::string, std::size_t> by_name;
  for (std::size_t i = 0; i < set.samples.size(); ++i) by_name[set.samples[i].name] = i;
  start_run(config, dir, "evaluate");
  const int num_classes = evaluation_classes(config);
  ScoredRun scored;
  SkippedList skipped;
  for (std::size_t r = 1; r < rows.size(); ++r) {
    const auto& f = rows[r].fields;
    auto it = by_name.find(f.at(0));
    if (it == by_name.end()) {
      skipped.emplace_back(f.at(0), "not among the labelled images; not evaluated");
      log_warn("not evaluated: " + f.at(0) + " is not among the labelled images");
      continue;
    }
    Result<Image> image = read_image(set.samples[it->second].path);
    Result<LabelVolume> predicted = read_label_volume(dir / f.at(1));
    if (!image || !predicted)
      throw UsageError(csv.string() + " line " + std::to_string(rows[r].line) + ": " +
                       (image ? (dir / f[1]).string() + ": " + predicted.error()
                              : set.samples[it->second].path.string() + ": " + image.error()));
    LabelVolume truth = truth_for(set.masks[it->second], image.value(), num_classes);
    std::string problem =
        check_mask_against_image(predicted.value(), dir / f[1], image.value(), num_classes);
    if (!problem.empty()) throw UsageError(problem);
    scored.add(f[0], image.value(), truth, predicted.value(), num_classes);
  }
  write_evaluation(config, scored, skipped, saved_model_meta(config), seconds_since(start));
  return 0;
}

}  // namespace medpipe::cli
