// core/image.h: the in-memory image every reader produces and every stage consumes.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace medpipe {

// A float image, interleaved as [depth][height][width][channels].
// Values are physical where the format says so (DICOM after the Modality LUT: HU for CT).
struct Image {
  int depth = 1;
  int height = 0;
  int width = 0;
  int channels = 1;
  std::vector<float> pixels;
  // Voxel size along x (columns), y (rows), z (slices); 1 where unknown.
  std::array<double, 3> spacing_mm{1.0, 1.0, 1.0};
  bool spacing_known = false;
  // Position of the first voxel and direction cosines (columns of a 3x3 matrix, x,y,z axes),
  // in DICOM's patient coordinates (LPS+, as ITK); NIfTI's RAS+ is converted on read and write.
  std::array<double, 3> origin_mm{0.0, 0.0, 0.0};
  std::array<double, 9> direction{1, 0, 0, 0, 1, 0, 0, 0, 1};
  // "dicom", "png", "jpeg", "tiff", "nifti", "nrrd", "metaimage", "npy"
  std::string source_format;
  int bits_stored = 0;  // of the source samples, where known

  std::size_t voxel_count() const { return static_cast<std::size_t>(depth) * height * width; }
  std::size_t value_count() const { return voxel_count() * channels; }
  float& at(int z, int y, int x, int c) {
    return pixels[((static_cast<std::size_t>(z) * height + y) * width + x) * channels + c];
  }
  float at(int z, int y, int x, int c) const {
    return pixels[((static_cast<std::size_t>(z) * height + y) * width + x) * channels + c];
  }
};

// A label map (segmentation mask), [depth][height][width], one class index per voxel.
struct LabelVolume {
  int depth = 1;
  int height = 0;
  int width = 0;
  std::vector<std::uint8_t> labels;
  std::array<double, 3> spacing_mm{1.0, 1.0, 1.0};  // along x, y, z
  bool spacing_known = false;                       // else distances are in pixels
  std::size_t voxel_count() const { return static_cast<std::size_t>(depth) * height * width; }
};

}  // namespace medpipe
