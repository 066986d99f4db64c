// io/dicom_values.h: what both DICOM readers share (internal to io): the pixel format a header
// states, stored values through the Modality LUT into floats, and the geometry attributes into
// an Image. dicom_reader.cpp reads the header with DCMTK; dicom_direct.cpp from the structure
// walk (io/dicom_guard.h) of an uncompressed grayscale file, without a second parse.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "core/error.h"
#include "core/fs.h"
#include "core/image.h"
#include "io/dicom_guard.h"

namespace medpipe {
class ImageRows;
}

namespace medpipe::io_detail {

// Stored values (bits [bits_stored-1 .. 0] of each raw sample, sign-extended when signed)
// through MONOCHROME1's inversion and the Modality LUT, as read_monochrome computes them from
// DicomImage's values: float(stored * slope + intercept) in double. Where slope is 1 and the
// intercept a whole number (CT's usual -1024), that sum is an integer below 2^24 and float
// arithmetic gives it exactly. Branch-free loops, compiled for AVX-512, AVX2 and the baseline.
struct NativeRescale {
  int bits_stored;
  bool is_signed;
  double slope, intercept;
  bool invert;
  double invert_sum;
};

// How the pixel data is stored, as the header says (an absent attribute reads as 0).
struct PixelLayout {
  std::uint16_t rows = 0, columns = 0, samples = 0, bits_allocated = 0, bits_stored = 0,
                high_bit = 0, pixel_representation = 0;
  std::int32_t frames = 1;
};

// The Modality LUT of a header's RescaleSlope (0 read as 1) and RescaleIntercept, and
// MONOCHROME1's inversion within the stored range.
NativeRescale make_rescale(const PixelLayout& p, double slope, double intercept, bool monochrome1);

// out[0, count) from raw samples of type Raw (8, 16 or 32 bits, signed or not).
template <class Raw>
void native_values(const Raw* raw, std::size_t count, const NativeRescale& r, float* out);

// Grayscale whose stored values native_values reads directly (most CT, MR, CR and DX): one
// sample a pixel of 8 or 16 bits, the high bit at bits_stored - 1. Anything else (colour,
// 32-bit, a shifted high bit) takes DicomImage's path.
bool direct_grayscale(const PixelLayout& p);
std::size_t sample_count(const PixelLayout& p);
void set_grayscale_extent(const PixelLayout& p, Image& image);

// Spacing, origin and direction from PixelSpacing, SpacingBetweenSlices (else the frames'
// GridFrameOffsetVector, else SliceThickness), ImagePositionPatient and
// ImageOrientationPatient; `value(tag, i)` is the i-th number of an attribute, or nothing.
using DicomNumber = std::function<std::optional<double>(std::uint32_t tag, unsigned i)>;
void read_geometry(const DicomNumber& value, Image& image);

// MEDPIPE_DICOM_DECODER=gdcm: every file decoded by GDCM (for cross-checks), none directly.
bool gdcm_forced();

// The whole read of an uncompressed little-endian grayscale file whose header the structure
// walk holds: nothing when the file is of another kind or its header is unusual (DCMTK's full
// path then reads it), a failure for what the header refuses.
std::optional<Result<Image>> read_direct_dicom(const ReadOnlyFile& file,
                                               const DicomStructure& structure);

}  // namespace medpipe::io_detail
