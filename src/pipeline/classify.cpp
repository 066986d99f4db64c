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
#include "train/trainer.h"

namespace medpipe {

namespace {

// num_channels and image_size when the config leaves them to the data: from the first image
// that decodes.
std::pair<int, int> infer_input_shape(const Config& config, const std::vector<Sample>& samples,
                                      const std::string& arch) {
  int channels = config.num_channels, size = config.image_size;
  std::string first_error;
  for (const auto& s : samples) {
    if (channels && size) break;
    Result<Image> image = read_image(s.path);
    if (!image) {
      if (first_error.empty()) first_error = " (" + s.name + ": " + image.error() + ")";
      continue;
    }
    if (!channels) channels = image.value().channels == 1 ? 1 : 3;
    if (!size)
      size = arch == "alexnet" ? 224
                               : std::min(64, std::max(image.value().height, image.value().width));
  }
  if (!channels || !size) {
    throw UsageError("none of the " + std::to_string(samples.size()) + " images could be decoded" +
                     first_error + "; check images_bucket holds DICOM, PNG, JPEG or TIFF files");
  }
  return {channels, size};
}

}  // namespace

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

// The network's input: the config's preprocessing, sizes from the data where left to it.
PreprocessSpec input_spec(const Config& config, const std::vector<Sample>& train,
                          const std::string& arch) {
  auto [channels, size] = infer_input_shape(config, train, arch);
  PreprocessSpec spec{channels,
                      size,
                      name_of(config.resize),
                      name_of(config.normalize),
                      config.ct_window_level,
                      config.ct_window_width};
  if (config.normalize == NormalizeMode::kAuto)
    spec.normalize = config.pretrained.empty() ? "zscore" : "imagenet";
  return spec;
}

namespace {

ClassifierData prepare_training(const Config& config) {
  TrainingSamples samples = training_samples(config, class_pairing(config));
  start_run(config, config.model_dir(), "train");
  std::string arch = config.arch == Arch::kAuto ? (config.pretrained.empty() ? "cnn" : "alexnet")
                                                : name_of(config.arch);
  PreprocessSpec spec = input_spec(config, samples.train, arch);
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
  data.model.preprocessing = spec;
  data.model.input =
      "float32 NCHW after preprocessing; output: logits, apply softmax for probabilities";
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
