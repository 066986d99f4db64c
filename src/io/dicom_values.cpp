#include "io/dicom_values.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

namespace medpipe::io_detail {

namespace {

// Bits [bits_stored-1 .. 0] of a raw sample, sign-extended when signed: shift = 32 - bits.
template <bool kSigned, class Raw>
std::int32_t stored_bits(Raw v, int shift) {
  const std::uint32_t high = static_cast<std::uint32_t>(v) << shift;
  return kSigned ? static_cast<std::int32_t>(high) >> shift
                 : static_cast<std::int32_t>(high >> shift);
}

// out[i] from raw[i]: the stored bits (shift = 32 - bits_stored), inverted, rescaled. Inlined
// into each compiled-for-a-CPU function below, so that it vectorises for that CPU.
template <bool kSigned, class Raw>
__attribute__((always_inline)) inline void rescale_raw(const Raw* raw, std::size_t n, int shift,
                                                       const NativeRescale& r, float* out) {
  auto stored = [shift](Raw v) { return stored_bits<kSigned>(v, shift); };
  const bool whole = r.bits_stored <= 16 && r.slope == 1.0 &&
                     r.intercept == std::nearbyint(r.intercept) &&
                     std::fabs(r.intercept) < 8388608.0 && std::fabs(r.invert_sum) < 8388608.0;
  if (whole) {
    const float base = static_cast<float>(r.intercept + (r.invert ? r.invert_sum : 0.0));
    const float sign = r.invert ? -1.0f : 1.0f;
    for (std::size_t i = 0; i < n; ++i) out[i] = base + sign * static_cast<float>(stored(raw[i]));
    return;
  }
  const double offset = r.invert ? r.invert_sum : 0.0, direction = r.invert ? -1.0 : 1.0;
  for (std::size_t i = 0; i < n; ++i)
    out[i] = static_cast<float>((offset + direction * stored(raw[i])) * r.slope + r.intercept);
}

// The 16-bit samples of most CT and MR, and every other width once its bits are extracted.
__attribute__((target_clones("avx512f", "avx2", "default"))) void rescale_u16(
    const std::uint16_t* raw, std::size_t n, int shift, bool is_signed, const NativeRescale& r,
    float* out) {
  if (is_signed)
    rescale_raw<true>(raw, n, shift, r, out);
  else
    rescale_raw<false>(raw, n, shift, r, out);
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void rescale_stored(
    const std::int32_t* stored, std::size_t n, const NativeRescale& r, float* out) {
  rescale_raw<true>(stored, n, 0, r, out);
}

}  // namespace

template <class Raw>
void native_values(const Raw* raw, std::size_t count, const NativeRescale& r, float* out) {
  if (std::is_same_v<Raw, std::uint32_t> && !r.is_signed && r.bits_stored > 31) {  // beyond int32
    const double offset = r.invert ? r.invert_sum : 0.0, direction = r.invert ? -1.0 : 1.0;
    for (std::size_t i = 0; i < count; ++i)
      out[i] = static_cast<float>((offset + direction * static_cast<double>(raw[i])) * r.slope +
                                  r.intercept);
    return;
  }
  const int shift = 32 - r.bits_stored;
  if constexpr (std::is_same_v<Raw, std::uint16_t>) {
    rescale_u16(raw, count, shift, r.is_signed, r, out);
    return;
  }
  constexpr std::size_t kBlock = 4096;
  std::int32_t stored[kBlock];
  for (std::size_t first = 0; first < count; first += kBlock) {
    const std::size_t n = std::min(kBlock, count - first);
    for (std::size_t i = 0; i < n; ++i)
      stored[i] = r.is_signed ? stored_bits<true>(raw[first + i], shift)
                              : stored_bits<false>(raw[first + i], shift);
    rescale_stored(stored, n, r, out + first);
  }
}

template void native_values(const std::uint8_t*, std::size_t, const NativeRescale&, float*);
template void native_values(const std::int8_t*, std::size_t, const NativeRescale&, float*);
template void native_values(const std::uint16_t*, std::size_t, const NativeRescale&, float*);
template void native_values(const std::int16_t*, std::size_t, const NativeRescale&, float*);
template void native_values(const std::uint32_t*, std::size_t, const NativeRescale&, float*);
template void native_values(const std::int32_t*, std::size_t, const NativeRescale&, float*);

NativeRescale make_rescale(const PixelLayout& p, double slope, double intercept, bool monochrome1) {
  return {p.bits_stored,
          p.pixel_representation != 0,
          slope == 0 ? 1.0 : slope,
          intercept,
          monochrome1,
          p.pixel_representation ? -1.0 : std::ldexp(1.0, p.bits_stored) - 1.0};
}

bool direct_grayscale(const PixelLayout& p) {
  return p.samples == 1 && (p.bits_allocated == 8 || p.bits_allocated == 16) &&
         p.bits_stored != 0 && p.bits_stored <= p.bits_allocated &&
         p.high_bit + 1 == p.bits_stored && p.rows != 0 && p.columns != 0;
}

std::size_t sample_count(const PixelLayout& p) {
  return static_cast<std::size_t>(p.rows) * p.columns * p.frames;
}

void set_grayscale_extent(const PixelLayout& p, Image& image) {
  image.width = p.columns;
  image.height = p.rows;
  image.depth = p.frames;
  image.channels = 1;
}

void read_geometry(const DicomNumber& value, Image& image) {
  constexpr std::uint32_t kPixelSpacing = 0x00280030, kSpacingBetweenSlices = 0x00180088,
                          kGridFrameOffsetVector = 0x3004000C, kSliceThickness = 0x00180050,
                          kImagePositionPatient = 0x00200032, kImageOrientationPatient = 0x00200037;
  const std::optional<double> row_mm = value(kPixelSpacing, 0), col_mm = value(kPixelSpacing, 1);
  if (row_mm && col_mm && *row_mm > 0 && *col_mm > 0) {
    image.spacing_mm = {*col_mm, *row_mm, 1.0};
    image.spacing_known = true;
  }
  double z_mm = value(kSpacingBetweenSlices, 0).value_or(0.0);
  if (z_mm <= 0) {  // RT Dose: the frames' offsets along the normal
    const std::optional<double> first = value(kGridFrameOffsetVector, 0),
                                second = value(kGridFrameOffsetVector, 1);
    if (first && second) z_mm = std::fabs(*second - *first);
  }
  if (z_mm <= 0) z_mm = value(kSliceThickness, 0).value_or(0.0);
  if (z_mm > 0) image.spacing_mm[2] = z_mm;
  for (unsigned i = 0; i < 3; ++i)
    image.origin_mm[i] = value(kImagePositionPatient, i).value_or(0.0);
  double o[6];
  for (unsigned i = 0; i < 6; ++i) {
    const std::optional<double> v = value(kImageOrientationPatient, i);
    if (!v) return;
    o[i] = *v;
  }
  double n[3] = {o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5], o[0] * o[4] - o[1] * o[3]};
  image.direction = {o[0], o[1], o[2], o[3], o[4], o[5], n[0], n[1], n[2]};
}

}  // namespace medpipe::io_detail
