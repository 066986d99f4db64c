// The "classify" task: one class per image from a network on the pixels. Pair images with
// labels -> preprocess into the tensor cache -> train an ensemble | predict -> evaluate.
#include "pipeline/classify.h"

#include <map>

#include "core/clock.h"
#include "core/error.h"
#include "core/location.h"
#include "core/log.h"
#include "core/world.h"
#include "io/dicom_sr.h"
#include "io/image_io.h"
#include "metrics/classification.h"
#include "models/predict.h"
#include "pipeline/stages.h"
#include "preprocess/volume.h"
#include "train/trainer.h"

namespace medpipe {

namespace {

constexpr int kLargestVolumeSide = 64;  // of a volume classifier's input box, by default

}  // namespace

std::vector<Image> sample_images(const std::vector<Sample>& samples, std::size_t count,
                                 std::string* first_error) {
  std::vector<Image> images;
  auto read = [&](const Sample& s) {
    Result<Image> image = read_image(s.path);
    if (image) {
      image.value().pixels.clear();
      images.push_back(std::move(image.value()));
    } else if (first_error && first_error->empty()) {
      *first_error = " (" + s.name + ": " + image.error() + ")";
    }
  };
  const std::size_t n = samples.size(), take = std::min(n, count);
  for (std::size_t k = 0; k < take; ++k) read(samples[k * n / take]);
  for (std::size_t i = 0; i < n && images.empty(); ++i) read(samples[i]);
  return images;
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

// The network's input: the config's preprocessing, sizes from the data where left to it (the
// images' own up to 64 px, 224 for AlexNet; a volume's box from preprocess/volume.h).
std::vector<Image> training_headers(const std::vector<Sample>& train) {
  std::string first_error;
  std::vector<Image> headers = sample_images(train, 8, &first_error);
  if (headers.empty()) {
    throw UsageError("none of the " + std::to_string(train.size()) + " images could be decoded" +
                     first_error +
                     "; check images_bucket holds DICOM, PNG, JPEG, TIFF, NIfTI or .npy files");
  }
  return headers;
}

namespace {

// A medpipe network given as pretrained must see the input it was trained on.
void check_pretrained_input(const Config& config, const PreprocessSpec& spec,
                            const SavedModel& pretrained) {
  const PreprocessSpec& was = std::get<PreprocessSpec>(pretrained.preprocessing);
  const std::string what = "event key 'pretrained': " + config.pretrained + " was trained on ";
  if (was.channels != spec.channels)
    throw UsageError(what + std::to_string(was.channels) + "-channel inputs, these images give " +
                     std::to_string(spec.channels) + " (" + (spec.channels == 1 ? "gray" : "RGB") +
                     "): set num_channels to " + std::to_string(was.channels) +
                     " or pretrain on images like these");
  if (was.size_px != spec.size_px || was.depth_px != spec.depth_px)
    throw UsageError(what + std::to_string(was.size_px) + " px inputs" +
                     (was.depth_px ? " of " + std::to_string(was.depth_px) + " slices" : "") +
                     ", this run's are " + std::to_string(spec.size_px) +
                     " px: leave image_size out (it follows the pretrained network) or pretrain "
                     "at this size");
}

}  // namespace

PreprocessSpec input_spec(const Config& config, const std::vector<Image>& headers,
                          const std::string& arch) {
  const Image& first = headers.at(0);
  const std::optional<SavedModel> pretrained = pretrained_description(config.pretrained);
  PreprocessSpec spec;
  spec.channels = config.num_channels ? config.num_channels : (first.channels == 1 ? 1 : 3);
  spec.resize = name_of(config.resize);
  spec.normalize = config.normalize != NormalizeMode::kAuto ? name_of(config.normalize)
                   : pretrained ? std::get<PreprocessSpec>(pretrained->preprocessing).normalize
                                : (config.pretrained.empty() ? "zscore" : "imagenet");
  spec.window_level_hu = config.ct_window_level;
  spec.window_width_hu = config.ct_window_width;
  if (arch == "cnn3d") {
    const VolumeGrid grid =
        choose_volume_grid(headers, config.image_size ? config.image_size : kLargestVolumeSide);
    spec.size_px = grid.size_px;
    spec.depth_px = grid.depth_px;
    spec.spacing_mm = grid.spacing_mm;
  } else {
    const int own = arch == "alexnet" ? 224 : std::min(64, std::max(first.height, first.width));
    spec.size_px = config.image_size ? config.image_size
                   : pretrained      ? std::get<PreprocessSpec>(pretrained->preprocessing).size_px
                                     : own;
  }
  if (pretrained) check_pretrained_input(config, spec, *pretrained);
  return spec;
}

namespace {

// The network for the images: auto is cnn3d for volumes, alexnet with pretrained weights, else
// cnn; a 2D network for volumes (or the reverse) is a usage error.
std::string classifier_arch(const Config& config, const std::vector<Image>& headers) {
  const bool volumes = headers.at(0).depth > 1;
  if (config.arch == Arch::kAuto) {
    if (auto pretrained = pretrained_description(config.pretrained)) return pretrained->model.arch;
    return volumes ? "cnn3d" : (config.pretrained.empty() ? "cnn" : "alexnet");
  }
  const std::string arch = name_of(config.arch);
  if (volumes && arch != "cnn3d")
    throw UsageError("event key 'arch' is '" + arch + "' but the images are volumes (" +
                     "one has " + std::to_string(headers[0].depth) +
                     " slices): use arch cnn3d or auto");
  if (!volumes && arch == "cnn3d")
    throw UsageError("event key 'arch' is 'cnn3d' but the images are 2D: use arch cnn or auto");
  return arch;
}

ClassifierData prepare_training(const Config& config) {
  TrainingSamples samples = training_samples(config, class_pairing(config));
  start_run(config, config.model_dir(), "train");
  const std::vector<Image> headers = training_headers(samples.train);
  const std::string arch = classifier_arch(config, headers);
  PreprocessSpec spec = input_spec(config, headers, arch);
  const int workers = config.process_threads();  // preprocessing threads of this process
  ClassifierData data{
      TensorCache::build(samples.train, spec, cache_dir(config), workers, "preprocess")};
  data.model.task = "classify";
  data.model.model = {arch,
                      spec.channels,
                      samples.num_classes,
                      spec.size_px,
                      config.hidden_units,
                      config.cnn_width,
                      config.cnn_blocks,
                      config.dropout};
  data.model.model.image_depth = spec.depth_px;
  data.model.preprocessing = spec;
  data.model.input = std::string("float32 ") + (spec.volume() ? "NCDHW" : "NCHW") +
                     " after preprocessing; output: logits, apply softmax for probabilities";
  if (!samples.val.empty())
    data.val = TensorCache::build(samples.val, spec, cache_dir(config), workers, "preprocess val");
  add_skipped(data.skipped, data.train.skipped());
  if (data.val) add_skipped(data.skipped, data.val->skipped());
  check_channels_agree(config, {&data.train, data.val ? &*data.val : &data.train});
  require_usable(data.train, "images_bucket");
  write_skipped_csv(config.model_dir(), data.skipped);
  return data;
}

TrainSettings train_settings(const Config& c, const ClassifierData& data, int member) {
  TrainSettings s;
  s.loop = loop_settings(c, member);
  std::vector<Sample> used;
  for (std::size_t i : data.train.usable()) used.push_back(data.train.samples()[i]);
  s.loop.fingerprint = training_fingerprint(c, used);
  s.select_metric = c.select_metric;
  s.class_weights = c.class_weights;
  s.tta = c.tta && data.images;
  s.ema_decay = c.ema_decay;
  s.augment = {c.augment && data.images, c.augment_rotation_deg, c.augment_shift_fraction, true,
               c.augment_vflip};
  s.num_classes = data.model.num_classes();
  return s;
}

// One network of the run (member k of an ensemble), initialised, loaded and trained.
torch::jit::Module train_member(const Config& config, const ClassifierData& data, int member,
                                TrainOutcome& outcome) {
  const ModelSpec& spec = data.model.model;
  torch::jit::Module module = build_model(training_spec(config, spec),
                                          static_cast<std::uint64_t>(config.seed + member), member);
  TrainSettings settings = train_settings(config, data, member);
  if (!config.pretrained.empty()) load_pretrained(module, config.pretrained);
  if (config.finetune == Finetune::kLast3) {
    settings.loop.trainable = last3_parameter_names(spec);
    for (std::size_t i = 0; i < settings.loop.trainable.size(); i += 2) {
      reinitialise_linear(module, settings.loop.trainable[i], settings.loop.trainable[i + 1]);
    }
  }
  outcome = train_classifier(module, data.train, data.val ? &*data.val : nullptr, settings);
  return portable_module(module);
}

// The validation metrics of `module` (the ensemble) on the validation set.
nlohmann::json validate_ensemble(torch::jit::Module& module, const TensorCache& val,
                                 int num_classes, bool tta) {
  std::vector<int> truth;
  for (std::size_t i : val.usable()) truth.push_back(val.samples()[i].class_index());
  ClassificationMetric metric(num_classes);
  metric.add(truth, predict_probabilities(module, val, val.usable(), num_classes, tta));
  return metric.compute();
}

// The members' outcomes as one: histories tagged by member, validation of the ensemble.
TrainOutcome combine_outcomes(const std::vector<TrainOutcome>& members,
                              torch::jit::Module& ensemble, const ClassifierData& data,
                              const Config& config) {
  if (members.size() == 1) return members[0];
  TrainOutcome out;
  for (std::size_t k = 0; k < members.size(); ++k) {
    for (auto record : members[k].history) {
      record["member"] = k;
      out.history.push_back(record);
    }
    out.seconds += members[k].seconds;
    out.compute_seconds += members[k].compute_seconds;
    out.sync_seconds += members[k].sync_seconds;
    out.steps += members[k].steps;
    out.wait_seconds += members[k].wait_seconds;
  }
  out.best_epoch = members[0].best_epoch;
  out.samples_per_second = members[0].samples_per_second;
  if (data.val && !data.val->usable().empty())
    out.best_metrics = validate_ensemble(ensemble, *data.val, data.model.num_classes(), config.tta);
  return out;
}

void save_classifier(const Config& config, const ClassifierData& data, torch::jit::Module& module,
                     const TrainOutcome& outcome, double seconds) {
  SavedModel saved = saved_model_of(config, outcome, seconds);
  saved.task = data.model.task;
  saved.model = data.model.model;
  saved.preprocessing = data.model.preprocessing;
  saved.input = data.model.input;
  saved.extra = data.model.extra;
  saved.train_images = data.train.usable().size();
  saved.val_images = data.val ? data.val->usable().size() : 0;
  fs::path dir = config.model_dir();
  write_saved_model(dir, module, saved);
  std::string summary = "model: " + (dir / "model.pt").string() + " (best epoch " +
                        std::to_string(outcome.best_epoch) + ")";
  if (!outcome.best_metrics.is_null()) {
    summary += ", validation accuracy " + outcome.best_metrics["accuracy"].dump() + ", AUC " +
               outcome.best_metrics["roc_auc"].dump();
  }
  log_info(summary);
}

}  // namespace

PairImages class_pairing(const Config& config) {
  return [&config](const std::string& key, const std::string& location, bool validation,
                   int num_classes) {
    return validation ? labelled_images(key, location, "val_labels", config.val_labels, num_classes)
                      : labelled_images(key, location, "labels", config.labels, num_classes);
  };
}

std::vector<Sample> inference_samples(const Config& config, int num_classes) {
  if (!config.has_labels) return unlabelled_images(config);
  return labelled_images("images_bucket", config.images_bucket, "labels", config.labels,
                         num_classes)
      .samples;
}

int train_classifier_stage(const Config& config, ClassifierData data, Clock::time_point start) {
  log_event("stage_start", {{"stage", "train"},
                            {"train_images", data.train.usable().size()},
                            {"val_images", data.val ? data.val->usable().size() : 0}});
  std::vector<torch::jit::Module> members;
  std::vector<TrainOutcome> outcomes(config.ensemble);
  for (int k = 0; k < config.ensemble; ++k) {
    if (config.ensemble > 1)
      log_info("ensemble member " + std::to_string(k + 1) + "/" + std::to_string(config.ensemble));
    members.push_back(train_member(config, data, k, outcomes[k]));
  }
  if (!is_lead_rank()) return 0;  // under MPI rank 0 writes the model
  torch::jit::Module module = build_ensemble(members);
  TrainOutcome outcome = combine_outcomes(outcomes, module, data, config);
  save_classifier(config, data, module, outcome, seconds_since(start));
  end_training(config, outcome, seconds_since(start), config.ensemble);
  return 0;
}

int classify_train(const Config& config) {
  const auto start = Clock::now();
  return train_classifier_stage(config, prepare_training(config), start);
}

namespace {

// For a PACS results_bucket: one DICOM SR per prediction of a DICOM image, stored next to it.
void write_result_reports(const Config& config, const InferenceData& data,
                          const Predictions& predictions) {
  std::map<std::string, fs::path> source_of;
  for (const auto& s : data.images.samples()) source_of[s.name] = s.path;
  int written = 0;
  for (std::size_t i = 0; i < predictions.images.size(); ++i) {
    const fs::path& source = source_of[predictions.images[i]];
    if (guess_image_format(source) != ImageFormat::kDicom || fs::is_directory(source)) continue;
    std::vector<double> p(predictions.probabilities.begin() + i * predictions.num_classes,
                          predictions.probabilities.begin() + (i + 1) * predictions.num_classes);
    write_classification_sr(
        safe_join(config.results_dir(), predictions.images[i] + ".sr.dcm", "the image name"),
        source, predictions.predicted(i), p, config.model_bucket_name);
    ++written;
  }
  log_info("DICOM SR: " + std::to_string(written) + " result report(s) for the PACS");
}

void evaluate_predictions(const Config& config, const Predictions& p, const SkippedList& skipped,
                          const nlohmann::json& model, double seconds) {
  log_event("stage_start", {{"stage", "evaluate"}, {"images", p.images.size()}});
  ClassificationMetric metric(p.num_classes);
  metric.add(p.truth, p.probabilities);
  nlohmann::json metrics = metric.compute();
  ReportInput report;
  report.kind = ReportKind::kClassification;
  write_evaluation_outputs(config, metrics, model, skipped, seconds,
                           "n " + std::to_string(metric.size()) + ", accuracy " +
                               std::to_string(metrics["accuracy"].get<double>()) + ", AUC " +
                               metrics["roc_auc"].dump(),
                           report);
}

InferenceData prepare_inference(const Config& config) {
  LoadedModel model = load_model(config.model_dir());
  std::vector<Sample> samples = inference_samples(config, model.saved.num_classes());
  start_run(config, config.results_dir(), "predict");
  PreprocessSpec spec = std::get<PreprocessSpec>(model.saved.preprocessing);
  InferenceData data{
      std::move(model),
      TensorCache::build(samples, spec, cache_dir(config), config.process_threads(), "preprocess"),
      {},
      config.tta};
  add_skipped(data.skipped, data.images.skipped());
  if (data.images.usable().empty()) require_usable(data.images, "images_bucket");
  return data;
}

}  // namespace

int predict_classifier_stage(const Config& config, InferenceData data, Clock::time_point start) {
  if (!is_lead_rank()) return 0;  // preprocessing fans out over MPI ranks; rank 0 predicts
  log_event("stage_start", {{"stage", "predict"}, {"images", data.images.usable().size()}});
  Predictions predictions = predict(data.model, data.images, data.mirror);
  add_skipped(data.skipped, predictions.failed);
  write_predictions(config.results_dir(), predictions);
  if (parse_location(config.results_bucket).is_dicomweb())
    write_result_reports(config, data, predictions);
  write_skipped_csv(config.results_dir(), data.skipped);
  log_event("stage_end", {{"stage", "predict"},
                          {"images", predictions.images.size()},
                          {"skipped", data.skipped.size()},
                          {"seconds", seconds_since(start)}});
  log_info("predictions: " + std::to_string(predictions.images.size()) + " images -> " +
           (fs::path(config.results_dir()) / "predictions.csv").string());
  if (config.has_labels) {
    evaluate_predictions(config, predictions, data.skipped, data.model.saved.to_json(),
                         seconds_since(start));
  }
  return 0;
}

int classify_predict(const Config& config) {
  const auto start = Clock::now();
  return predict_classifier_stage(config, prepare_inference(config), start);
}

int classify_evaluate(const Config& config) {
  const auto start = Clock::now();
  fs::path csv = fs::path(config.results_dir()) / "predictions.csv";
  if (!fs::exists(csv)) {
    throw UsageError("no predictions to evaluate: " + csv.string() +
                     " does not exist; run medpipe predict first");
  }
  PairedSet labelled = labelled_images("images_bucket", config.images_bucket, "labels",
                                       config.labels, config.num_classes);
  std::map<std::string, int> truth;
  for (const auto& s : labelled.samples) truth[s.name] = s.class_index();
  std::vector<std::string> unlabelled;
  Predictions predictions = read_predictions_csv(csv, truth, unlabelled);
  SkippedList skipped;
  for (const std::string& image : unlabelled) {
    skipped.emplace_back(image, "no label in the labels CSV; not evaluated");
    log_warn("not evaluated: " + image + " has no label in the labels CSV");
  }
  start_run(config, config.results_dir(), "evaluate");
  evaluate_predictions(config, predictions, skipped, saved_model_json(config),
                       seconds_since(start));
  return 0;
}

}  // namespace medpipe
