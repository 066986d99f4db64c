// core/config.h: the one typed configuration of a run. Each field carries its default and help
// next to it; the event JSON sets fields, command-line flags override them, and the resolved
// config is saved with every model and result.
#pragma once
#include <nlohmann/json_fwd.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/choice.h"
#include "core/field_rule.h"

namespace medpipe {

// X(type, key, default, allowed values, help). 0 / "" / "auto" mean "inferred", as the help
// says. Allowed values: ANY, RANGE(lo, hi) (inclusive), ABOVE(lo), or CHOICE for a typed choice
// (an enum of core/choice.h: its names are the values), checked by validate_config's one loop
// over the table; a choice is checked when the event is read.
#define MEDPIPE_CONFIG_FIELDS(X)                                                                  \
  /* the original pipeline's event keys */                                                        \
  X(bool, is_train, true, ANY, "train a model (true) or run inference with one (false)")          \
  X(bool, has_labels, true, ANY, "labels exist for these images (false: inference only)")         \
  X(LabelStyle, label_style, LabelStyle::kSingle, CHOICE,                                         \
    "single: one label per image from a CSV; array: one label array per image; survival: a "      \
    "follow-up time and event per image or patient (labels CSV image,time,event)")                \
  X(std::string, images_bucket, "", ANY, "where the images are: a folder or file:// (required)")  \
  X(std::string, labels, "", ANY,                                                                 \
    "labels CSV image,level (default: the only *.csv in images_bucket)")                          \
  X(std::string, images_labels_bucket, "", ANY,                                                   \
    "for label_style array: where <image>.npy labels are")                                        \
  X(std::string, model_bucket_name, "model", ANY, "the model's name: models_bucket/<name>/")      \
  X(std::string, models_bucket, "models", ANY, "where models are kept")                           \
  X(std::string, results_bucket, "", ANY,                                                         \
    "where predictions, metrics and the report go "                                               \
    "(default results/<model name>)")                                                             \
  X(int, num_classes, 0, RANGE(0, 100000), "number of classes (0: inferred from the labels)")     \
  X(int, num_channels, 0, ANY,                                                                    \
    "channels the model sees, 1 gray or 3 RGB (0: from the first image)")                         \
  X(int, num_machines, 0, RANGE(0, 4096),                                                         \
    "data-parallel workers for training and preprocessing (0: number of cores; under mpirun or "  \
    "srun: the ranks, one worker each)")                                                          \
  X(bool, is_dropbox, false, ANY, "accepted for compatibility; true is refused")                  \
  X(std::string, auth_token, "", ANY, "accepted for compatibility; unused")                       \
  X(std::string, folder_name, "", ANY, "accepted for compatibility; unused")                      \
  /* pipeline and model */                                                                        \
  X(PipelineKind, pipeline, PipelineKind::kDeep, CHOICE,                                          \
    "deep (a network on pixels) or features (radiomics + MLP)")                                   \
  X(std::string, feature_settings, "", ANY,                                                       \
    "pipeline features: radiomics settings JSON (medpipe features --help lists the keys; \"\": "  \
    "the defaults)")                                                                              \
  X(Arch, arch, Arch::kAuto, CHOICE,                                                              \
    "mlp, cnn, cnn3d, alexnet, unet, unet3d or cox (auto: for label_style array unet3d on "       \
    "volumes whose slices are at most 3x their pixels' spacing, else unet; cox for survival, "    \
    "alexnet with pretrained weights, cnn3d for volumes, else cnn)")                              \
  X(int, hidden_units, 256, RANGE(1, 1 << 20), "hidden units of the mlp")                         \
  X(int, cnn_width, 32, RANGE(4, 1024), "channels of the cnn's first stage (doubled per stage)")  \
  X(int, cnn_blocks, 2, RANGE(1, 16), "residual blocks per stage of the cnn (3 stages)")          \
  X(int, unet_depth, 4, RANGE(1, 6), "unet: number of 2x2 poolings (levels below the first)")     \
  X(int, unet_width, 16, RANGE(1, 256),                                                           \
    "unet: channels of the first level, doubled per level (at most 256)")                         \
  X(int, patch_size, 0, RANGE(0, 4096),                                                           \
    "segmentation: side of the training patches and inference tiles (0: 128, or the "             \
    "smallest image side when smaller, rounded up to a multiple of 2^unet_depth)")                \
  X(int, patches_per_image, 8, RANGE(1, 10000),                                                   \
    "segmentation: random training patches per image (slice) per epoch")                          \
  X(double, tile_overlap, 0.5, RANGE(0, 0.9),                                                     \
    "segmentation: overlap of neighbouring inference tiles (0..0.9)")                             \
  X(bool, tta, true, ANY,                                                                         \
    "test-time augmentation: average the predictions of the image and its "                       \
    "horizontal mirror (validation and inference)")                                               \
  X(double, dropout, 0.2, RANGE(0, 0.95), "dropout before the last layer of mlp and cnn")         \
  X(int, ensemble, 1, RANGE(1, 32),                                                               \
    "train N networks (seeds seed..seed+N-1) and average their "                                  \
    "probabilities in one model.pt")                                                              \
  X(std::string, pretrained, "", ANY, "weights to start from: TorchScript or a saved state dict") \
  X(Finetune, finetune, Finetune::kAll, CHOICE,                                                   \
    "all: train every layer; last3: only the last three "                                         \
    "fully-connected layers, re-initialised")                                                     \
  /* survival */                                                                                  \
  X(std::string, features_table, "", ANY,                                                         \
    "survival: a CSV image,<covariates> (clinical, or features computed elsewhere); with it "     \
    "images_bucket may be omitted")                                                               \
  X(std::string, val_features_table, "", ANY,                                                     \
    "survival: the validation subjects' covariates (labels in val_labels)")                       \
  X(TiesMethod, ties, TiesMethod::kEfron, CHOICE,                                                 \
    "Cox model: how tied event times are handled, efron (R's default) or breslow")                \
  X(double, cox_ridge, 0.0, RANGE(0, 1e9),                                                        \
    "Cox model: ridge penalty theta (theta/2 x sum of squared coefficients, R's ridge()); 0: "    \
    "none, except for radiomics, where it is chosen by 5-fold cross-validated C")                 \
  X(int, cox_hidden_units, 64, RANGE(1, 1 << 16),                                                 \
    "arch mlp (the neural Cox model, DeepSurv): hidden units of its one SELU layer")              \
  X(double, cox_dropout, 0.4, RANGE(0, 0.95),                                                     \
    "arch mlp for survival: dropout after the hidden layer")                                      \
  X(int, cox_epochs, 600, RANGE(1, 1000000),                                                      \
    "arch mlp for survival: full-batch Adam steps on the partial likelihood")                     \
  X(double, cox_learning_rate, 0.01, RANGE(1e-9, 10), "arch mlp for survival: Adam's step size")  \
  X(double, cox_weight_decay, 1e-4, RANGE(0, 10), "arch mlp for survival: L2 weight decay")       \
  X(std::string, treatment_column, "", ANY,                                                       \
    "survival: the features_table column of the arm each subject received; the Cox model gets "   \
    "arm x covariate interactions and recommends the arm of lowest risk")                         \
  X(TreatmentModel, treatment_model, TreatmentModel::kInteractions, CHOICE,                       \
    "treatment, arch cox: interactions (one Cox model with arm x covariate terms) or per_arm "    \
    "(one Cox model per arm, each with its own baseline: the T-learner)")                         \
  X(std::string, treatment_arms, "", ANY,                                                         \
    "the arms, comma-separated, the first the reference (\"\": the values of the training data)") \
  X(std::string, best_arm_column, "", ANY,                                                        \
    "a features_table column with each subject's truly best arm, where known (simulated data)")   \
  X(std::string, propensity_column, "", ANY,                                                      \
    "treatment: a features_table column with each subject's probability of the arm it received "  \
    "(a randomised study's allocation; \"\": estimated by logistic regression)")                  \
  X(bool, cox_squared_terms, false, ANY,                                                          \
    "treatment: add the square of every numeric covariate (and its interactions)")                \
  X(double, treatment_horizon, 0.0, RANGE(0, 1e12),                                               \
    "treatment: the time of the policy values (0: the middle survival time)")                     \
  X(std::string, survival_times, "", ANY,                                                         \
    "times at which survival probabilities are predicted and scored, comma-separated (\"\": "     \
    "the quartiles of the training follow-up)")                                                   \
  X(std::string, time_unit, "days", ANY, "survival: the unit of the time column, for outputs")    \
  /* learning without labels (has_labels false at training) */                                  \
  X(Unsupervised, unsupervised, Unsupervised::kCluster, CHOICE,                                   \
    "training with has_labels false: cluster (group the images: on features_table, else the "    \
    "embeddings of the pretrained network, else radiomics features) or simclr (contrastive "      \
    "pretraining of the cnn on the images, saved as a model for pretrained:)")                    \
  X(std::string, num_clusters, "auto", ANY,                                                       \
    "clustering: the number of clusters, or a range lo-hi to choose it from (kmeans: the best "   \
    "silhouette, gmm: the lowest BIC); auto: 2-10")                                               \
  X(ClusterMethod, cluster_method, ClusterMethod::kKmeans, CHOICE,                                \
    "clustering: kmeans (k-means++ starts, Lloyd's iterations) or gmm (a Gaussian mixture with "  \
    "full covariances, EM from the k-means clusters)")                                            \
  X(int, cluster_restarts, 10, RANGE(1, 1000),                                                    \
    "clustering: k-means++ restarts; the lowest inertia is kept")                                 \
  X(int, cluster_pca, 0, RANGE(-1, 1000),                                                         \
    "clustering: principal components of the standardised features to cluster on (0: those "     \
    "explaining 90% of the variance, at most 10, when there are more than 10 features; -1: "      \
    "none, the standardised features themselves)")                                                \
  X(std::string, cluster_init, "", ANY,                                                           \
    "clustering: a CSV of initial centres instead of k-means++ (a header row, then one row per "  \
    "cluster in the clustering space: standardised features, or their principal components)")    \
  X(double, simclr_temperature, 0.5, RANGE(1e-3, 100),                                            \
    "simclr: the temperature of the contrastive (NT-Xent) loss")                                  \
  /* preprocessing */                                                                             \
  X(int, image_size, 0, RANGE(0, 4096),                                                           \
    "network input size in pixels, square (0: 28..64 kept, else 224)")                            \
  X(ResizeMode, resize, ResizeMode::kStretch, CHOICE,                                             \
    "stretch: resize to a square ignoring aspect; pad: keep "                                     \
    "aspect, pad the short side with the image minimum")                                          \
  X(NormalizeMode, normalize, NormalizeMode::kAuto, CHOICE,                                       \
    "per-image intensity: zscore, minmax, ct (window), imagenet "                                 \
    "(0..1 then ImageNet mean/std), none; auto: imagenet with "                                   \
    "pretrained weights, else zscore")                                                            \
  X(double, ct_window_level, 40.0, ANY, "CT window centre in HU for normalize=ct")                \
  X(double, ct_window_width, 400.0, ABOVE(0), "CT window width in HU for normalize=ct")           \
  X(bool, augment, true, ANY, "training-time augmentation: flips, small rotations, shifts")       \
  X(double, augment_rotation_deg, 10.0, ANY, "largest random rotation, degrees")                  \
  X(double, augment_shift_fraction, 0.1, ANY, "largest random shift, fraction of the size")       \
  X(bool, augment_vflip, false, ANY, "also flip vertically")                                      \
  /* training */                                                                                  \
  X(int, epochs, 30, RANGE(1, 100000), "passes over the training set")                            \
  X(int, batch_size, 0, RANGE(0, 65536),                                                          \
    "samples per worker per step; a step sees num_machines x batch_size (0: 32 images a step "    \
    "shared by the workers, ceil(32 / num_machines) each; for segmentation 8 patches)")           \
  X(double, learning_rate, 0.05, RANGE(1e-12, 100), "initial learning rate")                      \
  X(OptimizerKind, optimizer, OptimizerKind::kSgd, CHOICE, "sgd or adam")                         \
  X(double, momentum, 0.9, RANGE(0, 0.9999),                                                      \
    "SGD momentum (0: plain SGD, as the original pipeline)")                                      \
  X(double, weight_decay, 5e-4, RANGE(0, 1), "L2 weight decay")                                   \
  X(LrSchedule, lr_schedule, LrSchedule::kCosine, CHOICE,                                         \
    "cosine (to 0 over the epochs) or constant")                                                  \
  X(bool, class_weights, false, ANY, "weight the loss by inverse class frequency")                \
  X(double, ema_decay, 0.99, RANGE(0, 0.99999),                                                   \
    "validate and keep an exponential moving average of the weights "                             \
    "with this decay per step (0: the raw weights)")                                              \
  X(std::string, val_images_bucket, "", ANY,                                                      \
    "validation images (default: a stratified part of "                                           \
    "the training set)")                                                                          \
  X(std::string, val_labels, "", ANY, "validation labels CSV")                                    \
  X(double, val_fraction, 0.15, RANGE(0, 0.9),                                                    \
    "fraction held out for validation without val_images_bucket")                                 \
  X(SelectMetric, select_metric, SelectMetric::kAuc, CHOICE,                                      \
    "keep the epoch with the best validation auc, loss or "                                       \
    "accuracy")                                                                                   \
  X(int, seed, 42, ANY, "seeds everything: same seed and data give the same model")               \
  X(int, threads, 0, RANGE(0, 1024),                                                              \
    "compute threads per worker (0: this machine's cores divided among its workers)")             \
  X(SyncMode, sync, SyncMode::kGradients, CHOICE,                                                 \
    "how workers stay together: gradients (averaged before every step: synchronous SGD) or "      \
    "weights (each takes local_steps steps, then weights are averaged: the original "             \
    "pipeline's Averager)")                                                                       \
  X(bool, sync_batch_norm, true, ANY,                                                             \
    "with sync gradients and several workers: batch norm over the whole step of every worker "    \
    "(synchronised, so N workers x b train as 1 x N*b; a step then needs a sample per worker); "  \
    "false: each worker normalises its own slice (as PyTorch DDP without SyncBatchNorm)")         \
  X(int, local_steps, 1, RANGE(1, 1000000),                                                       \
    "sync weights: optimizer steps each worker takes between averages")                           \
  X(double, sync_timeout_s, 600, RANGE(0, 1e9),                                                   \
    "under MPI: how long a rank waits for the others before stopping the job (a rank died or "    \
    "hangs)")                                                                                     \
  X(int, checkpoint_every, 100, RANGE(0, 1e9),                                                    \
    "save the resumable training state every N steps as well as at each epoch end (0: epoch "     \
    "ends only); re-running the same event resumes a killed run")                                 \
  /* storage */                                                                                   \
  X(std::string, s3_endpoint, "", ANY,                                                            \
    "S3-compatible endpoint URL (\"\": AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, else AWS)")         \
  X(std::string, s3_region, "", ANY,                                                              \
    "S3 region (\"\": AWS_REGION, AWS_DEFAULT_REGION, else us-east-1)")                           \
  X(std::string, s3_addressing, "auto", ANY,                                                      \
    "path or virtual (host) style bucket addressing; auto: path for custom endpoints")            \
  X(std::string, s3_sse, "", ANY,                                                                 \
    "server-side encryption of uploads: \"\" (the bucket's default), AES256 or aws:kms")          \
  X(std::string, s3_sse_kms_key_id, "", ANY, "with s3_sse aws:kms: the KMS key id")               \
  X(bool, tls_verify, true, ANY, "verify TLS certificates of remote storage")                     \
  X(int, storage_concurrency, 8, RANGE(1, 256), "objects fetched or stored at once")              \
  X(double, storage_timeout_s, 300, RANGE(1, 86400),                                              \
    "a remote request taking longer than this is cut and retried")                                \
  X(int, storage_retries, 5, RANGE(1, 20),                                                        \
    "attempts per request on 5xx, 429, timeouts (exponential backoff)")                           \
  /* run */                                                                                       \
  X(double, max_image_pixels, 1073741824.0, RANGE(1, 1e13),                                       \
    "the most values (voxels x channels) one image may hold; checked against its header before "  \
    "it is decoded (the default fits a whole-body CT)")                                           \
  X(std::string, cache_dir, "", ANY,                                                              \
    "disk cache of preprocessed tensors (default <models>/cache)")                                \
  X(LogLevel, log_level, LogLevel::kInfo, CHOICE, "debug, info, warn or error")                   \
  X(double, time_budget_min, 15, RANGE(1, 1e7),                                                   \
    "training: the time the planner aims the recipe at on this machine's cores, in minutes "      \
    "(estimated from the network's FLOPs; medpipe plan EVENT.json shows the plan)")

struct Config {
#define MEDPIPE_DECLARE_FIELD(type, key, def, rule, help) type key = def;
  MEDPIPE_CONFIG_FIELDS(MEDPIPE_DECLARE_FIELD)
#undef MEDPIPE_DECLARE_FIELD

  // The keys the event, flags or --set gave (the planner leaves them as given).
  std::set<std::string> given_keys;
  bool was_given(const std::string& key) const {
    return given_keys.count(key) > 0;
  }
  // The training plan (pipeline/plan.h) as JSON text, for model.json; "" when none was made.
  std::string plan_json;

  // Paths after defaults are filled in.
  std::string model_dir() const;
  std::string results_dir() const;
  // Data-parallel workers over all ranks, those in this process, and the compute threads of
  // each (process_threads: all of this process's, for validation and inference).
  int resolved_workers() const;
  int local_workers() const;
  int resolved_threads() const;
  int process_threads() const {
    return resolved_threads() * local_workers();
  }
  bool is_segmentation() const {
    return label_style == LabelStyle::kArray;
  }
  int resolved_batch_size() const;
};

// The keys a training run's planner chooses from the data when none is given
// (pipeline/plan.h); their defaults are the fallback where nothing is planned.
bool is_planned_key(const std::string& key);

// One field's description, for --help, flags and validation.
struct ConfigFieldInfo {
  std::string key;
  std::string type;  // "bool", "int", "number", "string"
  std::string help;
  std::string default_text;
  FieldRule rule;  // its allowed values
};
const std::vector<ConfigFieldInfo>& config_fields();

// Sets one key from JSON; throws UsageError naming the key, the wrong type and what to do.
void set_config_value(Config& config, const std::string& key, const nlohmann::json& value);
// Sets one key from text ("key=value" flags): parsed by the field's type.
void set_config_text(Config& config, const std::string& key, const std::string& text);
// Applies an event object; unknown keys are an error naming the closest known key.
void apply_event(Config& config, const nlohmann::json& event, const std::string& source);
// An event's JSON text (read from `source`, named in messages), applied to the defaults.
Config parse_event_text(const std::string& text, const std::string& source);
Config load_event_file(const std::string& path);
// Checks values and combinations; throws UsageError.
void validate_config(const Config& config);
nlohmann::json config_to_json(const Config& config);

// The number of clusters to choose from, lo..hi (num_clusters: "auto" 2-10, "k", "lo-hi");
// UsageError naming the key when it is none of these.
std::pair<int, int> cluster_count_range(const Config& config);

// The contract's lenient boolean: "", "0", "false", "no" (any case) are false.
bool parse_bool_text(const std::string& text);

}  // namespace medpipe
