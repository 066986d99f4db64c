// pipeline/classify.h: the classification stages, shared by the tasks that classify one image at
// a time: "classify" (a network on pixels) and "features" (radiomics vectors and an MLP). A task
// prepares its tensors (ClassifierData) and these train, predict and evaluate on them.
#pragma once
#include <optional>

#include "core/clock.h"
#include "core/config.h"
#include "infer/predictor.h"
#include "pipeline/run_setup.h"

namespace medpipe {

struct ClassifierData {
  TensorCache train;
  std::optional<TensorCache> val;
  SavedModel model;  // task, model spec, preprocessing, input and extra filled in
  SkippedList skipped;
  bool images = true;  // false: feature vectors, nothing to flip, rotate or mirror
};

// The ensemble trained on `data`, saved (model.pt, model.json) by rank 0; the stage began at
// `start` (its preparation included).
int train_classifier_stage(const Config& config, ClassifierData data, Clock::time_point start);

struct InferenceData {
  LoadedModel model;
  TensorCache images;
  SkippedList skipped;
  bool mirror = true;  // average each image with its mirror (config tta, images only)
};
// Predictions of every usable image, per-image results, predictions.csv, SRs for a PACS; then
// the evaluation when has_labels.
int predict_classifier_stage(const Config& config, InferenceData data, Clock::time_point start);

// The images to run a classifier on: labelled (ClassTarget) when has_labels.
std::vector<Sample> inference_samples(const Config& config, int num_classes);
// Up to `count` of the images, evenly spaced, decoded for their headers (pixels dropped); the
// first that decodes at least, where any does; `first_error` (if given) says why one did not.
std::vector<Image> sample_images(const std::vector<Sample>& samples, std::size_t count,
                                 std::string* first_error);
// The headers the network's input is chosen from: sample_images of up to 8 training images;
// UsageError when none decodes.
std::vector<Image> training_headers(const std::vector<Sample>& train);
// The network's input for `arch`: the config's preprocessing, channels and size from the
// headers (training_headers) where the config leaves them to the data.
PreprocessSpec input_spec(const Config& config, const std::vector<Image>& headers,
                          const std::string& arch);
// UsageError when the images' channel counts differ and num_channels does not say which.
void check_channels_agree(const Config& config, const std::vector<const TensorCache*>& caches);

// The model's classification pairing of a bucket (for training_samples).
PairImages class_pairing(const Config& config);

}  // namespace medpipe
