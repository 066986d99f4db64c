// metrics/segmentation.h: Dice, Jaccard, 95th-percentile Hausdorff distance and average
// symmetric surface distance, per image and per foreground class, in mm where spacing is known.
//
// Conventions (documented in docs/metrics.md):
// - the surface of a region is its voxels with a face-neighbour outside it (the array border
//   counts as outside): mask AND NOT erosion(mask), as scipy.ndimage.binary_erosion with the
//   face-connected structure; 2D for one-slice masks, 3D otherwise;
// - distances from each surface voxel of one mask to the nearest surface voxel of the other,
//   scaled by the spacing (an exact Euclidean distance transform);
// - hausdorff95 = max(P95(A->B), P95(B->A)), percentiles interpolated linearly (numpy's
//   default); assd = (mean(A->B) + mean(B->A)) / 2 (as MedPy's hd95 and assd);
// - both masks empty: Dice 1, Jaccard 1, distances 0; one empty: Dice 0, Jaccard 0, distances
//   NaN (JSON null), left out of the means and counted in `*_undefined`.
#pragma once
#include <array>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "core/image.h"

namespace medpipe {

struct RegionScores {
  double dice = 0;
  double jaccard = 0;
  double hausdorff95 = 0;  // NaN when exactly one region is empty
  double assd = 0;
};

// Voxel counts of one class's region in two label maps of `count` voxels.
struct Overlap {
  std::size_t truth = 0, predicted = 0, both = 0;
  // 2|A∩B| / (|A| + |B|); 1 when both regions are empty.
  double dice() const {
    return truth + predicted
               ? 2.0 * static_cast<double>(both) / static_cast<double>(truth + predicted)
               : 1.0;
  }
};
Overlap overlap_of(const std::uint8_t* truth, const std::uint8_t* predicted, std::size_t count,
                   int cls);

// Scores of one class's region (label == cls) of `prediction` against `truth` (same shape).
RegionScores region_scores(const LabelVolume& truth, const LabelVolume& prediction, int cls);

// The surface voxels of a binary mask (1 = inside), as described above.
std::vector<std::uint8_t> surface_of(const std::vector<std::uint8_t>& mask, int depth, int height,
                                     int width);

// Distances (mm) from every surface voxel of `from` to the nearest surface voxel of `to`, both
// surface masks of the same shape; empty when either has no surface voxel.
std::vector<double> surface_to_surface_mm(const std::vector<std::uint8_t>& from,
                                          const std::vector<std::uint8_t>& to, int depth,
                                          int height, int width,
                                          const std::array<double, 3>& spacing_mm);

// numpy.percentile(values, q) with linear interpolation; `values` is reordered.
double percentile_linear(std::vector<double>& values, double q);

struct SegmentationCase {
  std::string image;
  LabelVolume truth;
  LabelVolume prediction;
};

// The contract's segmentation metrics over the cases: n, dice, jaccard, hausdorff95, assd
// (means over images of the per-image mean over foreground classes), per_class, per_image,
// units ("mm" or "pixels").
nlohmann::json segmentation_metrics(const std::vector<SegmentationCase>& cases, int num_classes);

// The same from scores computed elsewhere: scores[i][c - 1] for image i and class c >= 1.
nlohmann::json summarise_segmentation(const std::vector<std::string>& images,
                                      const std::vector<std::vector<RegionScores>>& scores,
                                      bool spacing_known);

// The accumulating form (MONAI's DiceMetric): images are scored as they are predicted, one at a
// time, and compute() summarises them as summarise_segmentation does.
class SegmentationMetric {
 public:
  explicit SegmentationMetric(int num_classes) : num_classes_(num_classes) {}
  // Scores every foreground class of one image (truth and prediction of the same shape, the
  // truth's spacing); returns the image's mean foreground Dice.
  double add(const std::string& image, const LabelVolume& truth, const LabelVolume& predicted);
  std::size_t size() const { return images_.size(); }
  nlohmann::json compute() const;

 private:
  int num_classes_;
  std::vector<std::string> images_;
  std::vector<std::vector<RegionScores>> scores_;
  bool spacing_known_ = true;
};

}  // namespace medpipe
