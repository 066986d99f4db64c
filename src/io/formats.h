// io/formats.h: the per-format readers and writers behind image_io.h (internal to io).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/fs.h"
#include "core/image.h"

namespace medpipe {
class ImageRows;
}

namespace medpipe::io_detail {

Result<Image> read_dicom(const fs::path& path);
// open_image_rows for a DICOM file (dicom_direct.cpp).
std::unique_ptr<ImageRows> open_dicom_rows(const fs::path& path);
// A folder of single-frame instances of one series, as one volume (dicom_series.cpp).
Result<Image> read_dicom_series(const fs::path& dir);
// A file's pixel data as GDCM decodes it (what DCMTK cannot decode, e.g. JPEG 2000), with the
// pixel format of the decoded bytes: the caller puts them back into the file's own dataset, so
// geometry, rescale and every other attribute are read as DCMTK reads them.
struct GdcmPixels {
  std::string photometric;
  int planar_configuration = 0, bits_allocated = 0, bits_stored = 0, high_bit = 0;
  int pixel_representation = 0, samples = 1;
  std::vector<char> bytes;
};
Result<GdcmPixels> gdcm_decode_pixels(const fs::path& path);

Result<Image> read_raster(const fs::path& path);
void write_png(const fs::path& path, const Image& image);

Result<Image> read_nifti(const fs::path& path);
void write_nifti(const fs::path& path, const Image& image);

// .nrrd / .nhdr through teem (nrrd_io.cpp); written as gzip float32 in LPS space.
Result<Image> read_nrrd(const fs::path& path);
void write_nrrd(const fs::path& path, const Image& image);

// .mha / .mhd (metaimage_io.cpp); .mha written zlib-compressed, .mhd with a raw data file.
Result<Image> read_metaimage(const fs::path& path);
void write_metaimage(const fs::path& path, const Image& image);

}  // namespace medpipe::io_detail
