// The "segment" task (label_style array): pair images with label arrays -> normalise -> train a
// U-Net on patches | predict tile by tile, one image at a time -> per-image masks ->
// Dice/Jaccard/HD95/ASSD -> report.
#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/runtime.h"
#include "core/world.h"
#include "data/masks.h"
#include "infer/segmenter.h"
#include "io/image_io.h"
#include "metrics/segmentation.h"
#include "pipeline/run_setup.h"
#include "pipeline/stages.h"
#include "train/segmentation_trainer.h"

namespace medpipe {

namespace {

constexpr int kPatch3d = 64;  // a 3D patch's largest side by default (CPU memory and time)

SegmentationSpec segmentation_spec(const Config& config, const std::vector<Sample>& set) {
  SegmentationSpec spec;
  spec.channels = config.num_channels;
  for (std::size_t i = 0; i < set.size() && !spec.channels; ++i) {
    Result<Image> image = read_image(set[i].path);
    if (image) spec.channels = image.value().channels == 1 ? 1 : 3;
  }
  if (!spec.channels) spec.channels = 1;
  spec.normalize = config.normalize == NormalizeMode::kAuto ? "zscore" : name_of(config.normalize);
  spec.window_level_hu = config.ct_window_level;
  spec.window_width_hu = config.ct_window_width;
  return spec;
}

struct PatchShape {
  int side = 0;   // in plane
  int depth = 0;  // slices, for a 3D network; 0 for a 2D one
};

// patch_size 0: 128 (a 3D network: 64, in plane and across slices), or the smallest image side
// when smaller, rounded up to 2^depth. A 3D patch's depth is its side, or the fewest slices
// when fewer, rounded up alike.
PatchShape resolve_patch(const Config& config, const SegmentationSet& set) {
  const bool volumes = config.arch == Arch::kUnet3d;
  const int multiple = 1 << config.unet_depth;
  auto round_up = [multiple](int n) { return (n + multiple - 1) / multiple * multiple; };
  int side = volumes ? kPatch3d : 128, depth = side;
  for (const auto& v : set.volumes()) {
    side = std::min({side, v.height, v.width});
    depth = std::min(depth, v.depth);
  }
  PatchShape shape{config.patch_size > 0 ? config.patch_size : round_up(side), 0};
  if (volumes) shape.depth = round_up(std::min(depth, shape.side));
  return shape;
}

SegmentationTrainSettings segmentation_settings(const Config& c, int num_classes, PatchShape patch,
                                                const std::vector<Sample>& train) {
  SegmentationTrainSettings s;
  s.loop = loop_settings(c);
  s.loop.fingerprint = training_fingerprint(c, train);
  s.patch = patch.side;
  s.patch_depth = patch.depth;
  s.patches_per_image = c.patches_per_image;
  s.augment = c.augment;
  s.num_classes = num_classes;
  // validation each epoch without the mirrored pass: it would double its cost (inference uses tta)
  s.tiles = {patch.side, c.tile_overlap, patch.depth > 0 ? 2 : 8, false, patch.depth};
  return s;
}

PairImages mask_pairing(const Config& config) {
  return [&config](const std::string& key, const std::string& location, bool, int) {
    return PairedSet{masked_images(key, location, config.images_labels_bucket), 0};
  };
}

struct SegmentationData {
  SegmentationSpec spec;
  SegmentationSet train;
  std::optional<SegmentationSet> val;
};

SegmentationData prepare_training(const Config& config, const TrainingSamples& samples) {
  SegmentationSpec spec = segmentation_spec(config, samples.train);
  const int workers = config.process_threads();
  SegmentationData data{
      spec, SegmentationSet::build(samples.train, spec, config.num_classes, workers, "preprocess")};
  if (!samples.val.empty())
    data.val = SegmentationSet::build(samples.val, spec, data.train.num_classes(), workers,
                                      "preprocess val");
  SkippedList skipped;
  add_skipped(skipped, data.train.skipped());
  if (data.val) add_skipped(skipped, data.val->skipped());
  write_skipped_csv(config.model_dir(), skipped);
  if (data.train.volumes().empty())
    throw UsageError("images_bucket: none of the images could be used; see skipped.csv");
  return data;
}

void save_segmenter(const Config& config, torch::jit::Module& module, const ModelSpec& model,
                    const SegmentationData& data, const TrainOutcome& outcome, PatchShape patch,
                    double seconds) {
  SavedModel saved = saved_model_of(config, outcome, seconds);
  saved.task = "segment";
  saved.model = model;
  saved.preprocessing = data.spec;
  saved.patch_size = patch.side;
  saved.input = patch.depth > 0
                    ? "float32 NCDHW after preprocessing, D, H and W multiples of 2^unet_depth; "
                      "output: per-voxel logits NKDHW, apply softmax over K"
                    : "float32 NCHW after preprocessing, H and W multiples of 2^unet_depth; "
                      "output: per-pixel logits NKHW, apply softmax over K";
  saved.train_images = data.train.volumes().size();
  saved.val_images = data.val ? data.val->volumes().size() : 0;
  fs::path dir = config.model_dir();
  write_saved_model(dir, module, saved);
  log_info("model: " + (dir / "model.pt").string() + " (best epoch " +
           std::to_string(outcome.best_epoch) + ", validation Dice " +
           (outcome.best_metrics.is_object() ? outcome.best_metrics["dice"].dump() : "n/a") + ")");
}

}  // namespace

int segment_train(const Config& config) {
  const auto start = Clock::now();
  TrainingSamples samples = training_samples(config, mask_pairing(config));
  start_run(config, config.model_dir(), "train");
  SegmentationData data = prepare_training(config, samples);
  const int num_classes = data.train.num_classes();
  const PatchShape patch = resolve_patch(config, data.train);
  ModelSpec model{patch.depth > 0 ? "unet3d" : "unet", data.spec.channels, num_classes, patch.side};
  model.image_depth = patch.depth;
  model.unet_depth = config.unet_depth;
  model.unet_width = config.unet_width;
  if (patch.depth > 0) {
    for (const auto& v : data.train.volumes())
      if (v.depth < 2)
        throw UsageError("event key 'arch' is 'unet3d' but " + v.name +
                         " is a 2D image: use arch unet or auto");
  }
  log_event("stage_start", {{"stage", "train"},
                            {"train_images", data.train.volumes().size()},
                            {"train_slices", data.train.slices().size()},
                            {"val_images", data.val ? data.val->volumes().size() : 0},
                            {"patch_size", patch.side},
                            {"patch_depth", patch.depth}});
  torch::jit::Module module =
      build_model(training_spec(config, model), static_cast<std::uint64_t>(config.seed));
  SegmentationTrainSettings settings =
      segmentation_settings(config, num_classes, patch, samples.train);
  TrainOutcome outcome =
      train_segmenter(module, data.train, data.val ? &*data.val : nullptr, settings);
  if (!is_lead_rank()) return 0;  // under MPI rank 0 writes the model
  save_segmenter(config, module, model, data, outcome, patch, seconds_since(start));
  end_training(config, outcome, seconds_since(start), 1);
  return 0;
}

namespace {

// The scores of a run's images, and their best and worst cases drawn for the report.
struct ScoredRun {
  SegmentationMetric metric;
  CaseGallery gallery;

  explicit ScoredRun(int num_classes) : metric(num_classes) {}
  void add(const std::string& name, const Image& image, const LabelVolume& truth,
           const LabelVolume& predicted) {
    double dice = metric.add(name, truth, predicted);
    if (gallery.wants(dice)) gallery.add({name, dice, overlay_thumbnail(image, truth, predicted)});
  }
};

void write_evaluation(const Config& config, const ScoredRun& run, const SkippedList& skipped,
                      const nlohmann::json& model, double seconds) {
  log_event("stage_start", {{"stage", "evaluate"}, {"images", run.metric.size()}});
  nlohmann::json metrics = run.metric.compute();
  ReportInput pictures;
  pictures.kind = ReportKind::kSegmentation;
  pictures.best_cases = run.gallery.best();
  pictures.worst_cases = run.gallery.worst();
  write_evaluation_outputs(config, metrics, model, skipped, seconds,
                           "n " + std::to_string(run.metric.size()) + ", Dice " +
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
  std::optional<SavedModel> saved = find_saved_model(config.model_dir());
  return saved ? saved->num_classes() : 2;
}

// Predicts every image, one at a time, writing its outputs; scores it where it has a truth.
void predict_images(const Config& config, LoadedSegmenter& model,
                    const std::vector<Sample>& samples, ScoredRun& scored, SkippedList& skipped,
                    std::vector<std::string>& names, std::vector<std::string>& mask_files) {
  const fs::path dir = config.results_dir();
  Progress progress("predict", samples.size(), "img");
  for (std::size_t i = 0; i < samples.size(); ++i, progress.advance()) {
    throw_if_stopped();
    const Sample& sample = samples[i];
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
                                                    mask.value(), model.num_classes())
                             .front());
    if (config.has_labels) {
      LabelVolume truth = truth_for(sample.mask(), image.value(), model.num_classes());
      scored.add(sample.name, image.value(), truth, mask.value());
    }
  }
  progress.finish();
}

}  // namespace

int segment_predict(const Config& config) {
  if (!is_lead_rank()) return 0;  // under MPI rank 0 predicts, one image at a time
  const auto start = Clock::now();
  LoadedSegmenter model =
      as_segmenter(load_model(config.model_dir()), config.tile_overlap, config.tta);
  std::vector<Sample> samples =
      config.has_labels
          ? masked_images("images_bucket", config.images_bucket, config.images_labels_bucket)
          : unlabelled_images(config);
  start_run(config, config.results_dir(), "predict");
  log_event("stage_start", {{"stage", "predict"}, {"images", samples.size()}});
  const fs::path dir = config.results_dir();
  ScoredRun scored(model.num_classes());
  SkippedList skipped;
  std::vector<std::string> names, mask_files;
  predict_images(config, model, samples, scored, skipped, names, mask_files);
  write_mask_list_csv(dir, names, mask_files);
  write_skipped_csv(dir, skipped);
  log_event("stage_end", {{"stage", "predict"},
                          {"images", names.size()},
                          {"skipped", skipped.size()},
                          {"seconds", seconds_since(start)}});
  log_info("predictions: " + std::to_string(names.size()) + " masks -> " +
           (dir / "predictions.csv").string());
  if (config.has_labels)
    write_evaluation(config, scored, skipped, model.saved.to_json(), seconds_since(start));
  return 0;
}

int segment_evaluate(const Config& config) {
  const auto start = Clock::now();
  const fs::path dir = config.results_dir();
  std::vector<MaskListRow> rows = read_mask_list_csv(dir / "predictions.csv");
  std::vector<Sample> set =
      masked_images("images_bucket", config.images_bucket, config.images_labels_bucket);
  std::map<std::string, const Sample*> by_name;
  for (const Sample& s : set) by_name[s.name] = &s;
  start_run(config, dir, "evaluate");
  const int num_classes = evaluation_classes(config);
  ScoredRun scored(num_classes);
  SkippedList skipped;
  for (const MaskListRow& row : rows) {
    throw_if_stopped();
    auto it = by_name.find(row.image);
    if (it == by_name.end()) {
      skipped.emplace_back(row.image, "not among the labelled images; not evaluated");
      log_warn("not evaluated: " + row.image + " is not among the labelled images");
      continue;
    }
    const Sample& sample = *it->second;
    Result<Image> image = read_image(sample.path);
    const fs::path mask_path = safe_join(dir, row.mask, "predictions.csv's mask");
    Result<LabelVolume> predicted = read_label_volume(mask_path);
    if (!image || !predicted)
      throw UsageError((dir / "predictions.csv").string() + " line " + std::to_string(row.line) +
                       ": " +
                       (image ? mask_path.string() + ": " + predicted.error()
                              : sample.path.string() + ": " + image.error()));
    LabelVolume truth = truth_for(sample.mask(), image.value(), num_classes);
    std::string problem =
        check_mask_against_image(predicted.value(), mask_path, image.value(), num_classes);
    if (!problem.empty()) throw UsageError(problem);
    scored.add(row.image, image.value(), truth, predicted.value());
  }
  write_evaluation(config, scored, skipped, saved_model_json(config), seconds_since(start));
  return 0;
}

}  // namespace medpipe
