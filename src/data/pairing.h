// data/pairing.h: pairing the images of a folder with their labels, as the original Starter did.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "core/fs.h"
#include "data/labels.h"

namespace medpipe {

struct Sample {
  std::string name;  // the image's name: file name without extension
  fs::path path;
  int label = -1;  // -1: unlabelled
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

// Splits off a stratified validation part (each class keeps at least one training sample);
// deterministic for a seed. Returns {train, val}.
std::pair<std::vector<Sample>, std::vector<Sample>> stratified_split(
    const std::vector<Sample>& samples, double val_fraction, int num_classes, unsigned seed);

}  // namespace medpipe
