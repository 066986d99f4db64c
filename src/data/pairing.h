// data/pairing.h: pairing the images of a folder with their labels, as the original Starter did.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "core/fs.h"
#include "data/labels.h"
#include "data/target.h"

namespace medpipe {

struct Sample {
  std::string name;  // the image's name: file name without extension
  fs::path path;
  Target target;  // NoTarget until paired with labels
  int class_index() const { return medpipe::class_index(target); }
  // The label array of a segmentation sample (MaskTarget); throws for any other target.
  const fs::path& mask() const { return std::get<MaskTarget>(target).path; }
};

struct PairedSet {
  std::vector<Sample> samples;  // sorted by name
  int num_classes = 0;          // from the config or max level + 1; 0 when unlabelled
};

// The folder of images for a bucket: the bucket itself, or its images/ subfolder when the
// bucket holds no image but has one (the layout `medpipe synth` writes: images/ + labels.csv).
fs::path images_folder(const fs::path& bucket);

// The image files of a folder, named; exit-2 errors for an empty folder and duplicate names
// (a.png and a.dcm).
std::vector<Sample> list_images(const fs::path& images_dir, const std::string& key);

// Pairs every image with its label. Every image without a label, label without an image and
// level >= num_classes (when num_classes > 0) is listed in one UsageError.
PairedSet pair_with_labels(std::vector<Sample> images, const LabelTable& labels, int num_classes);

// Splits off a validation part, deterministic for a seed; returns {train, val}, each in the
// input's order. Class targets: stratified (`val_fraction` of each class, each class keeping at
// least one training sample). Other targets: a random `val_fraction` of the samples (at least
// one, at most all but one).
std::pair<std::vector<Sample>, std::vector<Sample>> validation_split(
    const std::vector<Sample>& samples, double val_fraction, int num_classes, int seed);

}  // namespace medpipe
