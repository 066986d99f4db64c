// pipeline/plan.h: the training recipe planned from the data, as nnU-Net plans its own: a
// fingerprint of the data set (task, images, size, spacing, channels, class balance, 2D or
// volume; the labels and a few images' headers, never every image) and the time budget
// (time_budget_min) give the network, its input, the optimizer, learning rate, epochs and
// ensemble. Every choice carries its reason; a key the user gave is kept as given. The rules are
// written in docs/planning.md.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/config.h"

namespace medpipe {

struct DataFingerprint {
  std::string task;  // classify, segment, or another task (not planned)
  std::size_t train_images = 0;
  std::size_t val_images = 0;            // val_images_bucket's, or the share val_fraction holds out
  int sampled_images = 0;                // images whose header was read
  int height = 0, width = 0, depth = 1;  // the median of the sampled images
  int channels = 1;                      // the most common among them
  std::array<double, 3> spacing_mm{1.0, 1.0, 1.0};  // x, y, z of the median image, where known
  bool spacing_known = false;
  std::vector<std::size_t> class_counts;  // training images per class (classification)
  int cores = 1;                          // the workers x threads training uses

  bool volume() const { return depth > 1; }
  nlohmann::json to_json() const;
};

struct PlannedValue {
  std::string key;
  nlohmann::json value;
  std::string reason;
  bool given = false;  // the user's value, kept
};

struct Plan {
  DataFingerprint data;
  std::vector<PlannedValue> values;
  double budget_min = 0;
  double estimated_min = 0;  // the planned training's estimated time (0: not estimated)
  std::string note;          // why nothing is planned, for the tasks without a planner

  nlohmann::json to_json() const;
  std::string text() const;  // what medpipe plan prints
};

// The plan of a training run: reads the labels and up to a few images' headers.
Plan plan_training(const Config& config);

// The config with the plan's values set (the given keys keep the user's) and the plan recorded
// for model.json (plan_json). Under MPI every rank takes rank 0's plan.
Config apply_plan(const Config& config, const Plan& plan);

}  // namespace medpipe
