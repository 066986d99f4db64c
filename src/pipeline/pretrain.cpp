// The "pretrain" task (has_labels false, unsupervised simclr): the images -> the tensor cache
// -> SimCLR's contrastive training of the cnn (train/contrastive.h) -> model.pt and model.json
// (task "pretrain"), which a later training takes as `pretrained` (its arch, input size,
// channels and normalisation come along) or a clustering as the network whose embeddings it
// groups.
#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "core/world.h"
#include "pipeline/classify.h"
#include "pipeline/stages.h"
#include "train/contrastive.h"

namespace medpipe {

namespace {

constexpr int kProjectionDim = 128;
constexpr int kStepImages = 128;  // images a step (256 views), over all workers

// SimCLR's recipe where the event leaves a key to its default: Adam 1e-3 with the cosine
// schedule, 128 images a step, weight decay 1e-6, 200 epochs; in one process, one worker on all
// the cores, so that every view's negatives are the whole step (on BreastMNIST a better
// representation than two workers' halves at the same speed: docs/benchmarks.md).
Config pretraining_recipe(const Config& given) {
  Config c = given;
  auto set = [&](const char* key, const nlohmann::json& value) {
    if (!c.was_given(key)) set_config_value(c, key, value);
  };
  set("optimizer", "adam");
  set("learning_rate", 1e-3);
  set("weight_decay", 1e-6);
  set("epochs", 200);
  if (world().size() == 1) set("num_machines", 1);
  const int workers = c.resolved_workers();
  set("batch_size", (kStepImages + workers - 1) / workers);
  log_info("simclr: " + std::to_string(c.epochs) + " epochs of " +
           std::to_string(c.resolved_batch_size() * workers) + " images a step, " +
           name_of(c.optimizer) + " " + std::to_string(c.learning_rate) + ", temperature " +
           std::to_string(c.simclr_temperature));
  return c;
}

std::string pretraining_arch(const Config& config, const Image& header) {
  const bool volumes = header.depth > 1;
  if (config.arch == Arch::kAuto) return volumes ? "cnn3d" : "cnn";
  const std::string arch = name_of(config.arch);
  if (volumes != (arch == "cnn3d"))
    throw UsageError("event key 'arch' is '" + arch + "' but the images are " +
                     (volumes ? "volumes: use cnn3d or auto" : "2D: use cnn or auto"));
  return arch;
}

SavedModel saved_pretraining(const Config& config, const ModelSpec& spec,
                             const PreprocessSpec& input, const TrainOutcome& outcome,
                             std::size_t images, double seconds) {
  SavedModel saved = saved_model_of(config, outcome, seconds);
  saved.task = "pretrain";
  saved.model = spec;
  saved.preprocessing = input;
  saved.input = std::string("float32 ") + (input.volume() ? "NCDHW" : "NCHW") +
                " after preprocessing; embed(x): the representation [N, " +
                std::to_string(embedding_width(spec)) +
                "]; project(x): SimCLR's projection; forward(x): an untrained head";
  saved.extra = {
      {"pretraining",
       {{"method", "simclr"},
        {"temperature", config.simclr_temperature},
        {"projection_dim", kProjectionDim},
        {"images_per_step", config.resolved_batch_size() * config.resolved_workers()},
        {"negatives",
         config.resolved_workers() == 1 ? "the whole step" : "each worker's slice of the step"}}}};
  saved.train_images = images;
  return saved;
}

}  // namespace

int pretrain_train(const Config& given) {
  const auto start = Clock::now();
  const Config config = pretraining_recipe(given);
  const std::vector<Sample> samples = unlabelled_images(config);
  start_run(config, config.model_dir(), "train");
  const std::vector<Image> headers = training_headers(samples);
  const std::string arch = pretraining_arch(config, headers[0]);
  const PreprocessSpec input = input_spec(config, headers, arch);
  const TensorCache images =
      TensorCache::build(samples, input, cache_dir(config), config.process_threads(), "preprocess");
  SkippedList skipped;
  add_skipped(skipped, images.skipped());
  check_channels_agree(config, {&images});
  require_usable(images, "images_bucket");
  if (is_lead_rank()) write_skipped_csv(config.model_dir(), skipped);
  ModelSpec spec{arch,
                 input.channels,
                 1,
                 input.size_px,
                 config.hidden_units,
                 config.cnn_width,
                 config.cnn_blocks,
                 config.dropout};
  spec.image_depth = input.depth_px;
  spec.projection_dim = kProjectionDim;
  torch::jit::Module module =
      build_model(training_spec(config, spec), static_cast<std::uint64_t>(config.seed));
  if (!config.pretrained.empty()) load_pretrained(module, config.pretrained);
  ContrastiveSettings settings;
  settings.loop = loop_settings(config);
  std::vector<Sample> used;
  for (std::size_t i : images.usable()) used.push_back(images.samples()[i]);
  settings.loop.fingerprint = training_fingerprint(config, used);
  settings.temperature = config.simclr_temperature;
  settings.augment = contrastive_augmentation();
  log_event("stage_start", {{"stage", "train"}, {"train_images", used.size()}, {"val_images", 0}});
  const TrainOutcome outcome = train_contrastive(module, images, settings);
  if (!is_lead_rank()) return 0;
  torch::jit::Module portable = portable_module(module);
  write_saved_model(
      config.model_dir(), portable,
      saved_pretraining(config, spec, input, outcome, used.size(), seconds_since(start)));
  end_training(config, outcome, seconds_since(start), 1);
  log_info("pretrained network: " + (fs::path(config.model_dir()) / "model.pt").string() +
           "; give it as pretrained to a training run, or to a clustering");
  return 0;
}

int pretrain_predict(const Config& config) {
  throw UsageError("the model in " + config.model_dir() +
                   " is a pretrained network (model.json task 'pretrain') with no classes to "
                   "predict: give " +
                   config.model_dir() +
                   "/model.pt as pretrained to a training run with labels, or to a clustering "
                   "(has_labels false)");
}

}  // namespace medpipe
