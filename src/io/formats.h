// io/formats.h: the per-format readers and writers behind image_io.h (internal to io).
#pragma once
#include <string>

#include "core/error.h"
#include "core/fs.h"
#include "core/image.h"

namespace medpipe::io_detail {

Result<Image> read_dicom(const fs::path& path);
// A folder of single-frame instances of one series, as one volume (dicom_series.cpp).
Result<Image> read_dicom_series(const fs::path& dir);
// Re-encodes a file DCMTK cannot decode (e.g. JPEG 2000) with GDCM into an uncompressed DICOM
// at `out_path`; returns an empty string or the reason it failed.
std::string gdcm_decompress(const fs::path& path, const fs::path& out_path);

Result<Image> read_raster(const fs::path& path);
void write_png(const fs::path& path, const Image& image);

Result<Image> read_nifti(const fs::path& path);
void write_nifti(const fs::path& path, const Image& image);

}  // namespace medpipe::io_detail
