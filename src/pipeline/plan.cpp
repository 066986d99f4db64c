// The planner: fingerprint (labels + a few headers), then one rule per key, each with its
// reason. The rules and the figures behind them: docs/planning.md.
#include "pipeline/plan.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "core/error.h"
#include "core/runtime.h"
#include "core/world.h"
#include "io/image_io.h"
#include "pipeline/classify.h"
#include "pipeline/run_setup.h"
#include "pipeline/task.h"

namespace medpipe {

namespace {

constexpr int kSampledImages = 8;  // headers read for the fingerprint
// Training FLOP/s per core this planner assumes: the default CNN's whole runs (steps,
// validation, checkpoints) measured 55 per core on 2 cores (docs/planning.md).
constexpr double kFlopsPerCore = 50e9;
constexpr int kClassifyEpochs = 60;  // the recorded MedMNIST recipe
constexpr int kSegmentEpochs = 50;
constexpr int kEnsemble = 3;

// Up to kSampledImages of `samples`, evenly spaced, read for their geometry.
void read_headers(const std::vector<Sample>& samples, DataFingerprint& f) {
  std::vector<Image> seen = sample_images(samples, kSampledImages, nullptr);
  f.sampled_images = static_cast<int>(seen.size());
  if (seen.empty()) return;
  std::sort(seen.begin(), seen.end(),
            [](const Image& a, const Image& b) { return a.voxel_count() < b.voxel_count(); });
  const Image& median = seen[seen.size() / 2];
  f.height = median.height;
  f.width = median.width;
  f.depth = median.depth;
  f.spacing_mm = median.spacing_mm;
  f.spacing_known = median.spacing_known;
  std::map<int, int> channels;
  for (const Image& image : seen) ++channels[image.channels];
  f.channels = std::max_element(channels.begin(), channels.end(), [](auto& a, auto& b) {
                 return a.second < b.second;
               })->first;
}

DataFingerprint fingerprint_of(const Config& config, const std::string& task) {
  DataFingerprint f;
  f.task = task;
  f.cores = std::max(1, config.resolved_workers() * config.resolved_threads());
  PairImages pair =
      task == "segment"
          ? PairImages([&config](const std::string& key, const std::string& where, bool, int) {
              return PairedSet{masked_images(key, where, config.images_labels_bucket), 0};
            })
          : class_pairing(config);
  TrainingSamples samples = training_samples(config, pair);
  f.train_images = samples.train.size();
  f.val_images = samples.val.size();
  if (task != "segment") {
    f.class_counts.assign(static_cast<std::size_t>(std::max(samples.num_classes, 0)), 0);
    for (const Sample& s : samples.train) {
      const int k = s.class_index();
      if (k >= 0 && k < static_cast<int>(f.class_counts.size())) ++f.class_counts[k];
    }
  }
  read_headers(samples.train, f);
  return f;
}

// Multiply-adds of one forward pass of the default CNN (models.cpp's define_cnn); cnn3d where
// `depth` > 0 (3^3 kernels, every stage starting with stride 2).
double cnn_forward_macs(int size, int depth, int channels, int width, int blocks) {
  const bool volume = depth > 0;
  const double taps = volume ? 27.0 : 9.0;
  double s = size, d = volume ? depth : 1;
  double macs = s * s * d * taps * channels * width;
  int in = width;
  for (int block = 0; block < 3 * blocks; ++block) {
    const int stage = block / blocks, out = width << stage;
    const bool down = (stage > 0 || volume) && block % blocks == 0;
    if (down) {
      s = std::ceil(s / 2);
      if (volume) d = std::ceil(d / 2);
    }
    const double voxels = s * s * d;
    macs += voxels * taps * (static_cast<double>(in) * out + static_cast<double>(out) * out);
    if (down || in != out) macs += voxels * in * out;
    in = out;
  }
  return macs;
}

// Multiply-adds of one forward pass of the U-Net on a patch (models/unet.cpp); a unet3d's when
// `patch_depth` > 0 (3^3 kernels, 2^3 poolings).
double unet_forward_macs(int patch, int channels, int depth, int width, int patch_depth = 0) {
  auto level_width = [&](int l) { return std::min(256, width << l); };
  const bool volume = patch_depth > 0;
  const double taps = volume ? 27.0 : 9.0;
  double macs = 0;
  int in = channels;
  for (int l = 0; l <= depth; ++l) {
    const double px =
        std::pow(patch / std::pow(2.0, l), 2) * (volume ? patch_depth / std::pow(2.0, l) : 1.0);
    const int out = level_width(l);
    macs += px * taps * (static_cast<double>(in) * out + static_cast<double>(out) * out);
    if (l < depth) {  // the decoder of this level: up-convolution, then a double conv on 2 x out
      macs += px * level_width(l + 1) * out +
              px * taps * (2.0 * out * out + static_cast<double>(out) * out);
    }
    in = out;
  }
  return macs;
}

// Minutes for `epochs` of one network: training is 3 forward passes' work, validation one
// (two with the mirror), 2 FLOPs per multiply-add.
double estimated_minutes(const DataFingerprint& f, double train_macs_per_epoch,
                         double val_macs_per_epoch, int epochs) {
  const double flops = 2.0 * (3.0 * train_macs_per_epoch + val_macs_per_epoch) * epochs;
  return flops / (kFlopsPerCore * f.cores) / 60.0;
}

class Planner {
 public:
  Planner(const Config& config, Plan& plan)
      : c_(config), plan_(plan), current_(config_to_json(config)), defaults_(config_to_json({})) {}

  // Given: by the event, a flag or --set, or set in code to other than the default.
  bool given(const std::string& key) const {
    return c_.was_given(key) || current_[key] != defaults_[key];
  }
  // The user's value where given, else `value`.
  template <typename T>
  T choose(const std::string& key, const T& given, const T& value, const std::string& reason) {
    if (this->given(key)) {
      plan_.values.push_back({key, nlohmann::json(given), "given", true});
      return given;
    }
    plan_.values.push_back({key, nlohmann::json(value), reason, false});
    return value;
  }
  std::string optimizer() {
    std::string value = "adam", reason = "Adam 1e-3 beat SGD on BreastMNIST and ISBI 2012";
    if (!c_.pretrained.empty()) {
      value = "sgd", reason = "fine-tuning pretrained weights: SGD with momentum";
    } else if (given("learning_rate") || given("momentum")) {
      value = "sgd", reason = "learning_rate or momentum given without an optimizer: SGD";
    }
    return choose<std::string>("optimizer", name_of(c_.optimizer), value, reason);
  }
  void learning_rate(const std::string& optimizer) {
    const double value = optimizer == "adam" ? 1e-3 : Config{}.learning_rate;
    choose("learning_rate", c_.learning_rate, value, "the usual step size of " + optimizer);
  }
  // Epochs and ensemble members that fit the budget, given the cost of one epoch.
  void epochs_and_ensemble(int full_epochs, double train_macs, double val_macs, bool ensembles) {
    const DataFingerprint& f = plan_.data;
    const double epoch_min = estimated_minutes(f, train_macs, val_macs, 1);
    const int fit = static_cast<int>(std::floor(plan_.budget_min / std::max(epoch_min, 1e-9)));
    const int epochs =
        choose("epochs", c_.epochs, std::clamp(fit, 5, full_epochs),
               fit >= full_epochs ? "the recorded recipe's " + std::to_string(full_epochs)
                                  : "as many as time_budget_min allows");
    int members = 1;
    if (ensembles) {
      const bool fits = kEnsemble * epochs * epoch_min <= plan_.budget_min;
      std::string reason =
          given("epochs")
              ? "epochs given: one network"
              : (fits ? "3 networks fit time_budget_min; their average is steadier than one"
                      : "one network: 3 do not fit time_budget_min");
      members = choose("ensemble", c_.ensemble, given("epochs") || !fits ? 1 : kEnsemble, reason);
    }
    plan_.estimated_min = members * epochs * epoch_min;
  }

  void select_metric() {
    const std::size_t classes = plan_.data.class_counts.size();
    choose<std::string>("select_metric", name_of(c_.select_metric),
                        classes > 2 ? "accuracy" : "auc",
                        classes > 2 ? "more than 2 classes: accuracy" : "2 classes: ROC AUC");
  }
  // Augmentation and test-time augmentation: on for images, as in every recorded recipe.
  void augmentation(bool ema) {
    choose("augment", c_.augment, true,
           plan_.data.task == "segment"
               ? "flips and quarter turns of the patches"
               : (plan_.data.volume()
                      ? "flips, quarter turns, rotations up to 10 degrees, scales, shifts, "
                        "intensities"
                      : "flips, rotations up to 10 degrees, 10% shifts"));
    if (ema) {
      choose("ema_decay", c_.ema_decay, 0.99,
             "validate and keep an average of the weights: steadier than the last step's");
    }
    choose("tta", c_.tta, true, "average each prediction with its mirror image's");
  }

  void classify() {
    const DataFingerprint& f = plan_.data;
    const std::optional<SavedModel> medpipe_pretrained = pretrained_description(c_.pretrained);
    if (medpipe_pretrained) return classify_pretrained(*medpipe_pretrained);
    const std::string auto_arch =
        f.volume() ? "cnn3d" : (c_.pretrained.empty() ? "cnn" : "alexnet");
    const std::string arch = choose<std::string>(
        "arch", name_of(c_.arch), auto_arch,
        f.volume() ? "volumes: a small 3D ResNet"
                   : (c_.pretrained.empty() ? "a small ResNet for 28-64 px images"
                                            : "pretrained weights: AlexNet"));
    const int side = std::max(f.height, f.width);
    const int size =
        choose("image_size", c_.image_size, arch == "alexnet" ? 224 : std::min(64, side),
               arch == "alexnet"
                   ? "AlexNet's input"
                   : (side <= 64 ? "the images' own size" : "the small ResNet's largest input"));
    learning_rate(optimizer());
    const int width =
        arch == "cnn3d"
            ? choose("cnn_width", c_.cnn_width, 16,
                     "3D: 16 channels first (136 samples/s on 28^3 against 52 with 32, 2 cores)")
            : c_.cnn_width;
    finish_classify(arch, size, width);
  }

  // A network medpipe pretrained (or trained): its arch, input and width, and the recipe of
  // training from scratch, so that the pretraining is the only difference.
  void classify_pretrained(const SavedModel& pretrained) {
    const std::string why = "the pretrained network's (" + c_.pretrained + ")";
    const std::string arch =
        choose<std::string>("arch", name_of(c_.arch), pretrained.model.arch, why);
    const int size = choose("image_size", c_.image_size,
                            std::get<PreprocessSpec>(pretrained.preprocessing).size_px, why);
    const int width = choose("cnn_width", c_.cnn_width, pretrained.model.cnn_width, why);
    choose("cnn_blocks", c_.cnn_blocks, pretrained.model.cnn_blocks, why);
    learning_rate(choose<std::string>(
        "optimizer", name_of(c_.optimizer), "adam",
        "a medpipe pretraining: the recipe of training from scratch (Adam 1e-3)"));
    finish_classify(arch, size, width);
  }

  // Augmentation, selection and the epochs that fit, for the network chosen.
  void finish_classify(const std::string& arch, int size, int width) {
    const DataFingerprint& f = plan_.data;
    augmentation(true);
    select_metric();
    const int channels = c_.num_channels ? c_.num_channels : (f.channels == 1 ? 1 : 3);
    const int depth = arch == "cnn3d" ? std::min(size, f.depth) : 0;
    const double macs = arch == "cnn" || arch == "cnn3d"
                            ? cnn_forward_macs(size, depth, channels, width, c_.cnn_blocks)
                            : 0.71e9 * std::pow(size / 224.0, 2);
    const double mirrored = c_.tta ? 2.0 : 1.0;
    epochs_and_ensemble(kClassifyEpochs, macs * f.train_images, mirrored * macs * f.val_images,
                        true);
  }

  // Radiomics features + the MLP: no images to look at, a few seconds a run.
  void features() {
    learning_rate(optimizer());
    choose("epochs", c_.epochs, kClassifyEpochs,
           "the recorded radiomics recipe's 60 (BreastMNIST: ACC 0.846 against 0.795 with SGD "
           "for 30)");
    select_metric();
  }

  // nnU-Net's rule: a volume whose coarsest spacing is at most 3x its finest is segmented in
  // 3D; a thick-slice stack (or one of unknown spacing) slice by slice in 2D.
  std::string segmentation_arch() {
    const DataFingerprint& f = plan_.data;
    const auto& s = f.spacing_mm;
    const double ratio =
        *std::max_element(s.begin(), s.end()) / *std::min_element(s.begin(), s.end());
    char why[160];
    std::snprintf(why, sizeof why, "slices %.2f x the finest spacing", ratio);
    if (!f.volume())
      return choose<std::string>("arch", name_of(c_.arch), "unet", "a U-Net on patches");
    if (f.spacing_known && ratio <= 3.0 && f.depth >= 8)
      return choose<std::string>("arch", name_of(c_.arch), "unet3d",
                                 std::string("a 3D U-Net on 3D patches (") + why + ", at most 3)");
    return choose<std::string>(
        "arch", name_of(c_.arch), "unet",
        f.spacing_known && f.depth >= 8
            ? std::string("a 2D U-Net on each slice (") + why + ": anisotropic)"
            : "a 2D U-Net on each slice (too few slices or no known spacing for 3D)");
  }

  void segment() {
    const DataFingerprint& f = plan_.data;
    if (segmentation_arch() == "unet3d") return segment_3d();
    learning_rate(optimizer());
    augmentation(false);
    const int patch = c_.patch_size ? c_.patch_size : std::min(128, std::min(f.height, f.width));
    const double macs = unet_forward_macs(patch, f.channels, c_.unet_depth, c_.unet_width);
    const double slices = static_cast<double>(f.depth);
    const double train = macs * f.train_images * slices * c_.patches_per_image;
    // validation tiles every slice with the tile overlap: (1 / (1 - overlap))^2 patches per area
    const double per_area = std::pow(1.0 / (1.0 - c_.tile_overlap), 2);
    const double val = macs * f.val_images * slices * per_area *
                       (static_cast<double>(f.height) * f.width) /
                       (static_cast<double>(patch) * patch);
    epochs_and_ensemble(kSegmentEpochs, train, val, false);
  }

  // The 3D U-Net: patches of up to 64^3 voxels (pipeline/segment.cpp), one per volume
  // patches_per_image times an epoch; validation tiles each volume.
  void segment_3d() {
    const DataFingerprint& f = plan_.data;
    learning_rate(optimizer());
    augmentation(false);
    const int side = c_.patch_size ? c_.patch_size : std::min({64, f.height, f.width});
    const int depth = std::min(side, f.depth);
    const double macs = unet_forward_macs(side, f.channels, c_.unet_depth, c_.unet_width, depth);
    const double train = macs * f.train_images * c_.patches_per_image;
    const double per_volume = std::pow(1.0 / (1.0 - c_.tile_overlap), 3) *
                              (static_cast<double>(f.height) * f.width * f.depth) /
                              (static_cast<double>(side) * side * depth);
    epochs_and_ensemble(kSegmentEpochs, train, macs * f.val_images * per_volume, false);
  }

 private:
  const Config& c_;
  Plan& plan_;
  const nlohmann::json current_, defaults_;
};

}  // namespace

nlohmann::json DataFingerprint::to_json() const {
  return {{"task", task},
          {"train_images", train_images},
          {"val_images", val_images},
          {"sampled_images", sampled_images},
          {"size", {width, height, depth}},
          {"channels", channels},
          {"spacing_mm", spacing_known ? nlohmann::json(spacing_mm) : nlohmann::json()},
          {"class_counts", class_counts},
          {"volume", volume()},
          {"cores", cores}};
}

nlohmann::json Plan::to_json() const {
  nlohmann::json choices = nlohmann::json::array();
  for (const PlannedValue& v : values)
    choices.push_back(
        {{"key", v.key}, {"value", v.value}, {"reason", v.reason}, {"given", v.given}});
  return {{"fingerprint", data.to_json()},
          {"choices", choices},
          {"time_budget_min", budget_min},
          {"estimated_min", estimated_min},
          {"note", note}};
}

std::string Plan::text() const {
  std::ostringstream out;
  out << "data: " << data.task << ", " << data.train_images << " training and " << data.val_images
      << " validation images";
  if (data.sampled_images > 0) {
    out << ", " << data.width << " x " << data.height;
    if (data.volume()) out << " x " << data.depth << " (volumes)";
    out << " px, " << data.channels << " channel(s)";
    if (data.spacing_known)
      out << ", spacing " << data.spacing_mm[0] << " x " << data.spacing_mm[1] << " x "
          << data.spacing_mm[2] << " mm";
  }
  if (!data.class_counts.empty()) {
    out << "; images per class:";
    for (std::size_t k = 0; k < data.class_counts.size(); ++k) out << " " << data.class_counts[k];
  }
  out << "\n";
  if (!note.empty()) out << note << "\n";
  for (const PlannedValue& v : values) {
    out << "  " << v.key << " = "
        << (v.value.is_string() ? v.value.get<std::string>() : v.value.dump()) << "  (" << v.reason
        << ")\n";
  }
  if (estimated_min > 0) {
    char line[160];
    std::snprintf(line, sizeof line,
                  "estimated training time %.1f min on %d cores (budget %.0f min)\n", estimated_min,
                  data.cores, budget_min);
    out << line;
  }
  return out.str();
}

Plan plan_training(const Config& config) {
  Plan plan;
  plan.budget_min = config.time_budget_min;
  const std::string task = task_for_training(config).name;
  if (task != "classify" && task != "segment" && task != "features") {
    plan.data.task = task;
    plan.note = "nothing planned: the " + task + " task uses its keys' defaults";
    return plan;
  }
  plan.data = fingerprint_of(config, task);
  Planner planner(config, plan);
  if (task == "classify")
    planner.classify();
  else if (task == "features")
    planner.features();
  else
    planner.segment();
  return plan;
}

Config apply_plan(const Config& config, const Plan& plan) {
  std::string text = plan.to_json().dump();
  if (world().size() > 1) {  // rank 0's plan for everyone: the ranks' machines may differ
    std::uint64_t bytes = text.size();
    world().broadcast(&bytes, sizeof bytes, 0);
    text.resize(bytes);
    world().broadcast(text.data(), bytes, 0);
  }
  const nlohmann::json planned = nlohmann::json::parse(text);
  Config out = config;
  for (const auto& choice : planned["choices"]) {
    if (!choice["given"].get<bool>())
      set_config_value(out, choice["key"].get<std::string>(), choice["value"]);
  }
  out.given_keys = config.given_keys;
  out.plan_json = text;
  return out;
}

}  // namespace medpipe
