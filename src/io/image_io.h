// io/image_io.h: reading any supported image into an Image, writing Images, and their facts.
#pragma once
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "core/error.h"
#include "core/fs.h"
#include "core/image.h"

namespace medpipe {

enum class ImageFormat { kUnknown, kDicom, kRaster, kNifti, kNrrd, kMetaImage, kNpy };

// By extension: .dcm/.dicom/none -> DICOM; .png/.jpg/.jpeg/.tif/.tiff/.bmp -> raster;
// .nii/.nii.gz -> NIfTI; .nrrd/.nhdr -> NRRD; .mha/.mhd -> MetaImage; .npy -> npy.
ImageFormat guess_image_format(const fs::path& path);
// A DICOM file's 128-byte preamble and "DICM": how DICOM is known whatever its name.
bool has_dicom_preamble(const fs::path& path);
// The image's name in the contract: the file name without its extension, or the whole file name
// for a DICOM file named by a UID (its last digits are no extension).
std::string image_name(const fs::path& path);
// Whether a file in an images folder is an image to use (hidden files, CSV, JSON... are not).
bool looks_like_image_file(const fs::path& path);

// Reads one image: a file, or a folder holding one DICOM series (a volume). A file that cannot
// be decoded is a failure with the reason (the caller
// skips and lists it), never an exception.
Result<Image> read_image(const fs::path& path);

// A 2D grayscale image read a block of rows at a time, so that a caller that needs only a reduced
// copy (the preprocessing's resize) never holds the full-size image. Each row holds the values
// read_image gives.
class ImageRows {
 public:
  virtual ~ImageRows() = default;
  // The image as read_image gives it, less its pixels.
  const Image& header() const { return header_; }
  // Rows [first, first + count) into `out` (count x width floats); false when they cannot be read.
  virtual bool read(int first, int count, float* out) const = 0;

 protected:
  Image header_;
};

// The rows of a file that can be read that way: a single-frame uncompressed little-endian
// grayscale DICOM file (most CT, MR, CR and DX). nullptr for any other file, readable or not:
// read_image then reads it, or says what is wrong with it.
std::unique_ptr<ImageRows> open_image_rows(const fs::path& path);

// Writes by the extension of `path`: .npy (float32 [D,]H,W[,C]), .png (8/16 bit, scaled when
// values fall outside the type), .nii / .nii.gz, .nrrd / .nhdr, .mha / .mhd (float32 with the
// image's geometry). Atomic. Throws UsageError/RunError.
void write_image(const fs::path& path, const Image& image);

// The most values (voxels x channels) one image may hold, checked against its header before it
// is decoded: event key max_image_pixels (2^30 until set; a whole-body CT fits).
void set_max_image_pixels(double values);
double max_image_pixels();
// "" when an image of these dimensions may be decoded, else why not.
std::string image_size_problem(double width, double height, double depth, double channels);

// Geometry and pixel facts as JSON; no patient identifiers.
nlohmann::json image_info(const Image& image);

}  // namespace medpipe
