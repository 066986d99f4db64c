// preprocess/segmentation_set.h: images and their label arrays, normalised and held as 2D
// slices for training a segmentation network on random patches (volumes are trained
// slice-wise), plus the pure pieces inference reuses.
#pragma once
#include <nlohmann/json_fwd.hpp>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/image.h"
#include "data/masks.h"
#include "preprocess/tensor_cache.h"

namespace medpipe {

struct SegmentationSpec {
  int channels = 1;
  std::string normalize = "zscore";  // per image (volume): zscore | minmax | ct | none
  double window_level_hu = 40.0;
  double window_width_hu = 400.0;
};
nlohmann::json segmentation_spec_to_json(const SegmentationSpec& spec);
SegmentationSpec segmentation_spec_from_json(const nlohmann::json& json);

// An image's slices for the network: [depth][channels][height][width], normalised over the
// whole image (volume).
Result<std::vector<float>> normalize_volume(const Image& image, const SegmentationSpec& spec);

struct SegmentationVolume {
  std::string name;
  int depth = 1, height = 0, width = 0;
  std::vector<float> pixels;         // [D][C][H][W]
  std::vector<std::uint8_t> labels;  // [D][H][W]
  // Up to 16384 foreground voxels (indices into labels, evenly strided): where a 3D patch that
  // must hold foreground is centred.
  std::vector<std::uint32_t> foreground;
};

struct SliceRef {
  std::size_t volume;
  int z;
};

class SegmentationSet {
 public:
  // Reads and checks every image and label array with `workers` threads. Images that cannot be
  // decoded are skipped and listed; label arrays that do not fit their image (shape, values
  // >= num_classes, unreadable) and images with NaN pixels are one UsageError listing all.
  // num_classes 0: the largest label + 1 (at least 2).
  // An exception in a reader thread stops the others and is rethrown here.
  static SegmentationSet build(const std::vector<Sample>& samples, const SegmentationSpec& spec,
                               int num_classes, int workers, const std::string& stage);

  const std::vector<SegmentationVolume>& volumes() const { return volumes_; }
  const std::vector<SliceRef>& slices() const { return slices_; }
  const std::vector<SkippedInput>& skipped() const { return skipped_; }
  int num_classes() const { return num_classes_; }
  int channels() const { return channels_; }
  // Source channel counts, for the mixed-channels check.
  const std::vector<int>& source_channels() const { return source_channels_; }

 private:
  std::vector<SegmentationVolume> volumes_;
  std::vector<SliceRef> slices_;
  std::vector<SkippedInput> skipped_;
  std::vector<int> source_channels_;
  int num_classes_ = 2;
  int channels_ = 1;
};

// Label of patch pixels outside the image: ignored by the loss.
constexpr std::uint8_t kIgnoreLabel = 255;

// A random `patch` x `patch` training crop of one slice, written to image_out ([C][P][P]) and
// labels_out ([P][P]); with `augment`, a random flip and quarter turn applied to both alike.
// Slices smaller than the patch are padded with 0 (the normalised mean) and kIgnoreLabel.
void sample_patch(const SegmentationVolume& volume, int z, int channels, int patch, bool augment,
                  std::mt19937& rng, float* image_out, std::uint8_t* labels_out);

// A random patch_depth x patch x patch crop of a volume for a 3D network, written to image_out
// ([C][PD][P][P]) and labels_out ([PD][P][P]). With `foreground`, the patch is centred (within a
// quarter patch) on a random foreground voxel where the volume has one (nnU-Net's oversampling:
// small lesions are otherwise rarely seen); else anywhere. With `augment`, random flips of each
// axis and an in-plane quarter turn, applied to both alike. Outside the volume: 0 and
// kIgnoreLabel.
void sample_patch_3d(const SegmentationVolume& volume, int channels, int patch, int patch_depth,
                     bool foreground, bool augment, std::mt19937& rng, float* image_out,
                     std::uint8_t* labels_out);

}  // namespace medpipe
