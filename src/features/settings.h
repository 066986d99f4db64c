// features/settings.h: how radiomics features are computed, after IBSI's image processing
// scheme. One typed struct; each field carries its default and help; a settings JSON file sets
// fields (configs/ibsi/ has IBSI's CT-phantom configurations A-E).
#pragma once
#include <cmath>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace medpipe {

// X(type, key, default, allowed values, help), the allowed values as in core/config.h (and
// LIST_OF: a comma-separated list of them). Numbers that may be unset are NaN (null in JSON).
#define MEDPIPE_FEATURE_FIELDS(X)                                                                  \
  X(std::string, families, "all",                                                                  \
    LIST_OF("all", "morph", "loc", "stat", "ih", "ivh", "cm", "rlm", "szm", "dzm", "ngt", "ngl"),  \
    "comma-separated families: morph, loc, stat, ih, ivh, cm, rlm, szm, dzm, ngt, ngl (all)")      \
  X(std::string, aggregation, "auto", LIST_OF("auto", "2D", "2.5D", "3D"),                         \
    "texture aggregation, comma-separated: 2D, 2.5D, 3D (auto: 3D for volumes, 2D for "            \
    "single-slice images)")                                                                        \
  X(int, mask_label, 0, ANY, "the region is mask == mask_label (0: every non-zero mask value)")    \
  X(std::string, roi_name, "", ANY,                                                                \
    "for an RT Structure Set mask: the ROI to use (\"\": the only one)")                           \
  X(double, new_spacing_mm, std::nan(""), ABOVE(0),                                                \
    "interpolate to isotropic voxels of this size before computing (null: no interpolation)")      \
  X(bool, interpolate_in_plane, false, ANY,                                                        \
    "interpolate within slices only (IBSI's 2D configurations); new_spacing_mm sets x and y")      \
  X(std::string, interpolation, "linear", ONE_OF("linear", "cubic", "nearest"),                    \
    "image interpolation: linear, cubic (B-spline) or nearest; the mask is always linear")         \
  X(bool, round_intensities, false, ANY, "round interpolated intensities to whole numbers (CT)")   \
  X(double, roi_partial_volume, 0.5, ANY,                                                          \
    "an interpolated mask value at or above this keeps the voxel in the region")                   \
  X(double, resegment_min, std::nan(""), ANY,                                                      \
    "re-segmentation: drop region voxels below this intensity (null: no lower bound)")             \
  X(double, resegment_max, std::nan(""), ANY,                                                      \
    "re-segmentation: drop region voxels above this intensity (null: no upper bound)")             \
  X(double, outlier_sigma, 0.0, ANY,                                                               \
    "re-segmentation: drop voxels further than this many standard deviations from the mean (0: "   \
    "keep all)")                                                                                   \
  X(std::string, discretisation, "fixed_bin_number", ONE_OF("fixed_bin_number", "fixed_bin_size"), \
    "grey levels for texture and histogram features: fixed_bin_number or fixed_bin_size")          \
  X(int, bin_count, 32, ABOVE(0), "fixed_bin_number: number of grey levels")                       \
  X(double, bin_width, 25.0, ABOVE(0),                                                             \
    "fixed_bin_size: bin width in intensity units; bins start at resegment_min when set, else "    \
    "at the region's minimum")                                                                     \
  X(std::string, ivh_intensities, "discretised",                                                   \
    ONE_OF("discrete", "continuous", "arbitrary", "discretised"),                                  \
    "intensity-volume histogram: discrete (calibrated whole-number intensities as they are), "     \
    "continuous (fixed bin size ivh_bin_width, bin centres), arbitrary (fixed bin number "         \
    "ivh_bin_count) or discretised (the grey levels above)")                                       \
  X(double, ivh_bin_width, 2.5, ABOVE(0), "ivh_intensities continuous: bin width")                 \
  X(int, ivh_bin_count, 1000, ABOVE(0), "ivh_intensities arbitrary: number of bins")               \
  X(int, glcm_distance, 1, ABOVE(0),                                                               \
    "co-occurrence matrix: Chebyshev distance between voxel pairs")                                \
  X(int, ngldm_alpha, 0, ANY, "neighbouring grey level dependence: coarseness alpha")              \
  X(int, moran_max_voxels, 20000, ABOVE(0),                                                        \
    "Moran's I and Geary's C are exact (FFT sums); a region whose padded bounding box exceeds "    \
    "64 M voxels uses a fixed random subset of this many voxels instead")

struct FeatureSettings {
#define MEDPIPE_DECLARE_FEATURE_FIELD(type, key, def, rule, help) type key = def;
  MEDPIPE_FEATURE_FIELDS(MEDPIPE_DECLARE_FEATURE_FIELD)
#undef MEDPIPE_DECLARE_FEATURE_FIELD

  bool wants(const std::string& family) const;
  // Aggregations to compute ("2D", "2.5D", "3D") for an image of `depth` slices.
  std::vector<std::string> aggregations(int depth) const;
};

// Reads a settings object; unknown keys and bad values throw UsageError naming `source`.
FeatureSettings feature_settings_from_json(const nlohmann::json& object, const std::string& source);
FeatureSettings load_feature_settings(const std::string& path);  // "" gives the defaults
nlohmann::json feature_settings_to_json(const FeatureSettings& settings);
// Key, default and help of every field, for --help.
std::string feature_settings_help();

}  // namespace medpipe
