// DICOM through DCMTK (JPEG, JPEG-LS and RLE decoders registered), GDCM for what DCMTK cannot
// decode (JPEG 2000). Stored values are taken as DCMTK decodes them; the Modality LUT
// (RescaleSlope/Intercept) is applied here in double precision, so CT comes out in HU.
// MONOCHROME1 is inverted within the stored range before the rescale, so brighter is higher.
// No patient attribute is ever read here.
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmdata/dcvr.h>
#include <dcmtk/dcmimage/diregist.h>  // colour images
#include <dcmtk/dcmimgle/dcmimage.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpls/djdecode.h>
#include <dcmtk/oflog/oflog.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>

#include "io/dicom_guard.h"
#include "io/formats.h"
#include "io/image_io.h"

namespace medpipe::io_detail {

namespace {

void register_codecs_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    DJDecoderRegistration::registerCodecs();
    DJLSDecoderRegistration::registerCodecs();
    DcmRLEDecoderRegistration::registerCodecs();
    // Our messages name the file and the problem; DCMTK's own lines would repeat them.
    OFLog::configure(OFLogger::OFF_LOG_LEVEL);
    // Elements stored as UN whose VR the dictionary knows (RT Dose's spacing and position, as
    // some exports write them) are read by that VR.
    dcmEnableUnknownVRConversion.set(OFTrue);
  });
}

double get_double(DcmDataset* ds, const DcmTagKey& tag, double fallback, unsigned pos = 0) {
  Float64 value = 0;
  if (ds->findAndGetFloat64(tag, value, pos).good()) return value;
  return fallback;
}

void read_geometry(DcmDataset* ds, Image& image) {
  Float64 row_mm = 0, col_mm = 0;
  if (ds->findAndGetFloat64(DCM_PixelSpacing, row_mm, 0).good() &&
      ds->findAndGetFloat64(DCM_PixelSpacing, col_mm, 1).good() && row_mm > 0 && col_mm > 0) {
    image.spacing_mm = {col_mm, row_mm, 1.0};
    image.spacing_known = true;
  }
  double z_mm = get_double(ds, DCM_SpacingBetweenSlices, 0.0);
  if (z_mm <= 0) {  // RT Dose: the frames' offsets along the normal
    double first = 0, second = 0;
    if (ds->findAndGetFloat64(DCM_GridFrameOffsetVector, first, 0).good() &&
        ds->findAndGetFloat64(DCM_GridFrameOffsetVector, second, 1).good())
      z_mm = std::fabs(second - first);
  }
  if (z_mm <= 0) z_mm = get_double(ds, DCM_SliceThickness, 0.0);
  if (z_mm > 0) image.spacing_mm[2] = z_mm;
  for (unsigned i = 0; i < 3; ++i) {
    image.origin_mm[i] = get_double(ds, DCM_ImagePositionPatient, 0.0, i);
  }
  Float64 o[6];
  bool have_orientation = true;
  for (unsigned i = 0; i < 6; ++i) {
    have_orientation &= ds->findAndGetFloat64(DCM_ImageOrientationPatient, o[i], i).good();
  }
  if (have_orientation) {
    double n[3] = {o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5], o[0] * o[4] - o[1] * o[3]};
    image.direction = {o[0], o[1], o[2], o[3], o[4], o[5], n[0], n[1], n[2]};
  }
}

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

// How the pixel data is stored, as the header says (DCMTK reads an absent attribute as 0).
struct PixelLayout {
  Uint16 rows = 0, columns = 0, samples = 0, bits_allocated = 0, bits_stored = 0, high_bit = 0,
         pixel_representation = 0;
  Sint32 frames = 1;
};

PixelLayout pixel_layout(DcmDataset* ds) {
  PixelLayout p;
  ds->findAndGetUint16(DCM_Rows, p.rows);
  ds->findAndGetUint16(DCM_Columns, p.columns);
  ds->findAndGetUint16(DCM_SamplesPerPixel, p.samples);
  ds->findAndGetUint16(DCM_BitsAllocated, p.bits_allocated);
  ds->findAndGetUint16(DCM_BitsStored, p.bits_stored);
  ds->findAndGetUint16(DCM_HighBit, p.high_bit);
  ds->findAndGetUint16(DCM_PixelRepresentation, p.pixel_representation);
  if (ds->findAndGetSint32(DCM_NumberOfFrames, p.frames).bad() || p.frames < 1) p.frames = 1;
  return p;
}

// The file's Modality LUT (a slope of 0 read as 1) and MONOCHROME1's inversion within the
// stored range, for its stored values.
NativeRescale modality_rescale(DcmDataset* ds, const PixelLayout& p, bool monochrome1) {
  double slope = get_double(ds, DCM_RescaleSlope, 1.0);
  if (slope == 0) slope = 1.0;
  return {p.bits_stored, p.pixel_representation != 0,
          slope,         get_double(ds, DCM_RescaleIntercept, 0.0),
          monochrome1,   p.pixel_representation ? -1.0 : std::ldexp(1.0, p.bits_stored) - 1.0};
}

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

template <class Raw>
void native_values(const Raw* raw, std::size_t count, const NativeRescale& r, float* out) {
  if (std::is_same_v<Raw, Uint32> && !r.is_signed && r.bits_stored > 31) {  // beyond int32
    const double offset = r.invert ? r.invert_sum : 0.0, direction = r.invert ? -1.0 : 1.0;
    for (std::size_t i = 0; i < count; ++i)
      out[i] = static_cast<float>((offset + direction * static_cast<double>(raw[i])) * r.slope +
                                  r.intercept);
    return;
  }
  const int shift = 32 - r.bits_stored;
  if constexpr (std::is_same_v<Raw, Uint16>) {
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

// native_values appended to `pixels` a block at a time: each value is written once, where a
// resize() would first zero the whole (1 MB for a 512 x 512 slice) buffer.
template <class Raw>
void append_native_values(const Raw* raw, std::size_t count, const NativeRescale& rescale,
                          std::vector<float>& pixels) {
  constexpr std::size_t kBlock = 4096;
  float block[kBlock];
  pixels.reserve(pixels.size() + count);
  for (std::size_t first = 0; first < count; first += kBlock) {
    const std::size_t n = std::min(kBlock, count - first);
    native_values(raw + first, n, rescale, block);
    pixels.insert(pixels.end(), block, block + n);
  }
}

// DicomImage's values of type T (already extracted from the stored bits) through the same
// inversion and Modality LUT.
template <class T>
void copy_stored(const void* data, std::size_t count, NativeRescale rescale,
                 std::vector<float>& out) {
  rescale.bits_stored = 8 * static_cast<int>(sizeof(T));
  rescale.is_signed = std::is_signed_v<T>;
  out.resize(count);
  native_values(static_cast<const T*>(data), count, rescale, out.data());
}

std::string read_monochrome(DicomImage& dicom, const NativeRescale& rescale, Image& image) {
  const DiPixel* inter = dicom.getInterData();
  if (!inter || !inter->getData()) return "no pixel data could be decoded";
  std::size_t count = image.voxel_count();
  if (inter->getCount() < count) return "pixel data is shorter than rows x columns x frames";
  const void* data = inter->getData();
  switch (inter->getRepresentation()) {
    case EPR_Uint8:
      copy_stored<Uint8>(data, count, rescale, image.pixels);
      break;
    case EPR_Sint8:
      copy_stored<Sint8>(data, count, rescale, image.pixels);
      break;
    case EPR_Uint16:
      copy_stored<Uint16>(data, count, rescale, image.pixels);
      break;
    case EPR_Sint16:
      copy_stored<Sint16>(data, count, rescale, image.pixels);
      break;
    case EPR_Uint32:
      copy_stored<Uint32>(data, count, rescale, image.pixels);
      break;
    case EPR_Sint32:
      copy_stored<Sint32>(data, count, rescale, image.pixels);
      break;
    default:
      return "unsupported pixel representation";
  }
  return "";
}

template <class T>
void interleave_planes(const void* planes, std::size_t count, std::vector<float>& out) {
  const T* const* p = static_cast<const T* const*>(planes);
  out.resize(count * 3);
  for (std::size_t i = 0; i < count; ++i) {
    for (int c = 0; c < 3; ++c) out[i * 3 + c] = static_cast<float>(p[c][i]);
  }
}

// Colour after DCMTK's conversion to RGB (YBR_FULL, YBR_FULL_422 and palette included), at the
// stored bit depth: no rescaling.
std::string read_color(DicomImage& dicom, Image& image) {
  const DiPixel* inter = dicom.getInterData();
  if (!inter || !inter->getData()) return "colour pixel data could not be decoded";
  std::size_t count = image.voxel_count();
  if (inter->getCount() < count) return "pixel data is shorter than rows x columns x frames";
  switch (inter->getRepresentation()) {
    case EPR_Uint8:
      interleave_planes<Uint8>(inter->getData(), count, image.pixels);
      break;
    case EPR_Uint16:
      interleave_planes<Uint16>(inter->getData(), count, image.pixels);
      break;
    case EPR_Uint32:
      interleave_planes<Uint32>(inter->getData(), count, image.pixels);
      break;
    default:
      return "unsupported colour pixel representation";
  }
  return "";
}

// The header's claims checked before anything is decoded or allocated for them: the size
// against max_image_pixels, and uncompressed pixel data against Rows x Columns x frames (a cut
// file would otherwise be zero-filled).
std::string pixel_data_problem(DcmDataset* ds, E_TransferSyntax xfer,
                               const std::string& photometric) {
  const PixelLayout p = pixel_layout(ds);
  std::string problem = image_size_problem(p.columns, p.rows, p.frames, p.samples);
  if (!problem.empty()) return problem;
  DcmElement* pixels = nullptr;
  if (DcmXfer(xfer).isEncapsulated() || p.bits_allocated == 0 ||
      ds->findAndGetElement(DCM_PixelData, pixels).bad() || !pixels)
    return "";
  // chroma subsampled in the stored data: 4:2:2 holds two values a pixel, 4:2:0 one and a half
  const double values_per_pixel = photometric.find("422") != std::string::npos   ? 2.0
                                  : photometric.find("420") != std::string::npos ? 1.5
                                                                                 : p.samples;
  const double needed =
      static_cast<double>(p.rows) * p.columns * p.frames * values_per_pixel * p.bits_allocated / 8;
  if (static_cast<double>(pixels->getLength()) + 1 < needed)
    return "its pixel data holds " + std::to_string(pixels->getLength()) + " bytes, but Rows x " +
           "Columns x frames needs " + std::to_string(static_cast<long long>(needed)) +
           " (a cut file)";
  return "";
}

// What the dataset's header refuses before any decoder meets it ("" when nothing).
std::string header_problem(DcmDataset* ds, E_TransferSyntax xfer) {
  if (!ds->tagExists(DCM_PixelData) && !ds->tagExists(DCM_FloatPixelData))
    return "DICOM file has no pixel data (not an image object)";
  OFString photometric;
  ds->findAndGetOFString(DCM_PhotometricInterpretation, photometric);
  return pixel_data_problem(ds, xfer, photometric.c_str());
}

// Grayscale whose stored values native_values reads directly (most CT, MR, CR and DX): one
// sample a pixel of 8 or 16 bits, the high bit at bits_stored - 1. Anything else (colour,
// 32-bit, a shifted high bit) takes DicomImage's path.
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

// Uncompressed little-endian grayscale held in the dataset (deflated files, GDCM's decoded
// pixels): the values straight from the pixel data element, without DicomImage's intermediate
// copy. Returns false for what direct_grayscale refuses.
bool read_native_monochrome(DcmDataset* ds, E_TransferSyntax xfer, const PixelLayout& p,
                            const NativeRescale& rescale, Image& image) {
  if (xfer != EXS_LittleEndianImplicit && xfer != EXS_LittleEndianExplicit &&
      xfer != EXS_DeflatedLittleEndianExplicit)
    return false;
  DcmElement* element = nullptr;
  if (!direct_grayscale(p) || ds->findAndGetElement(DCM_PixelData, element).bad() || !element)
    return false;
  const std::size_t count = sample_count(p);
  if (element->getLength() < count * (p.bits_allocated / 8)) return false;
  if (p.bits_allocated == 16) {
    Uint16* raw = nullptr;
    if (element->getUint16Array(raw).bad() || !raw) return false;
    image.pixels.clear();
    append_native_values(raw, count, rescale, image.pixels);
  } else {
    Uint8* raw = nullptr;
    if (element->getUint8Array(raw).bad() || !raw) return false;
    image.pixels.clear();
    append_native_values(raw, count, rescale, image.pixels);
  }
  set_grayscale_extent(p, image);
  return true;
}

// The samples at `span` of the file read and converted a block at a time through a small
// buffer that stays in the cache: the pixel data is never held raw in memory, and read once.
template <class Raw>
bool append_file_values(const ReadOnlyFile& file, const DicomPixelSpan& span, std::size_t count,
                        const NativeRescale& rescale, std::vector<float>& pixels) {
  constexpr std::size_t kBlock = 16384;
  thread_local std::vector<Raw> raw(kBlock);
  pixels.clear();
  pixels.reserve(count);
  for (std::size_t first = 0; first < count; first += kBlock) {
    const std::size_t n = std::min(kBlock, count - first);
    const std::size_t bytes = n * sizeof(Raw);
    if (file.read_at(span.offset + first * sizeof(Raw), raw.data(), bytes) != bytes) return false;
    append_native_values(raw.data(), n, rescale, pixels);
  }
  return true;
}

}  // namespace

namespace {

// The whole read of an uncompressed little-endian grayscale file (no deflate), whose pixel data
// the structure walk located: DCMTK parses the header up to the pixel data, whose values are
// then read from the file once, straight into floats. Nothing when the file is of another kind
// (the full path then reads it); a failure for what the header refuses.
std::optional<Result<Image>> read_direct_file(const fs::path& path, const ReadOnlyFile& pixels,
                                              const DicomPixelSpan& span) {
  static_assert(std::endian::native == std::endian::little, "little-endian samples read as is");
  DcmFileFormat file;
  if (file.loadFileUntilTag(path.c_str(), EXS_Unknown, EGL_noChange, DCM_MaxReadLength,
                            ERM_autoDetect, DCM_PixelData)
          .bad())
    return std::nullopt;
  DcmDataset* ds = file.getDataset();
  const E_TransferSyntax xfer = ds->getOriginalXfer();
  OFString photometric;
  ds->findAndGetOFString(DCM_PhotometricInterpretation, photometric);
  const PixelLayout layout = pixel_layout(ds);
  if ((xfer != EXS_LittleEndianImplicit && xfer != EXS_LittleEndianExplicit) ||
      (photometric != "MONOCHROME1" && photometric != "MONOCHROME2") || !direct_grayscale(layout))
    return std::nullopt;
  if (std::string problem =
          image_size_problem(layout.columns, layout.rows, layout.frames, layout.samples);
      !problem.empty())
    return Result<Image>::failure(problem);
  const std::size_t count = sample_count(layout);
  if (span.length < count * (layout.bits_allocated / 8)) return std::nullopt;  // a cut file
  const NativeRescale rescale = modality_rescale(ds, layout, photometric == "MONOCHROME1");
  Image image;
  const bool read = layout.bits_allocated == 16
                        ? append_file_values<Uint16>(pixels, span, count, rescale, image.pixels)
                        : append_file_values<Uint8>(pixels, span, count, rescale, image.pixels);
  if (!read) return std::nullopt;
  set_grayscale_extent(layout, image);
  image.source_format = "dicom";
  image.bits_stored = layout.bits_stored;
  read_geometry(ds, image);
  return image;
}

}  // namespace

namespace {

// The pixel data of `file`, stored in transfer syntax `xfer`, decoded by DCMTK.
Result<Image> decode_loaded(DcmFileFormat& file, E_TransferSyntax xfer) {
  DcmDataset* ds = file.getDataset();
  OFString photometric;
  ds->findAndGetOFString(DCM_PhotometricInterpretation, photometric);
  const bool monochrome1 = photometric == "MONOCHROME1";
  const PixelLayout layout = pixel_layout(ds);
  const NativeRescale rescale = modality_rescale(ds, layout, monochrome1);
  if (Image image; (monochrome1 || photometric == "MONOCHROME2") &&
                   read_native_monochrome(ds, xfer, layout, rescale, image)) {
    image.source_format = "dicom";
    image.bits_stored = layout.bits_stored;
    read_geometry(ds, image);
    return image;
  }
  DicomImage dicom(&file, xfer, CIF_IgnoreModalityTransformation, 0, 0);
  if (dicom.getStatus() != EIS_Normal) {
    return Result<Image>::failure(std::string("DICOM pixel data cannot be decoded: ") +
                                  DicomImage::getString(dicom.getStatus()));
  }
  Image image;
  image.source_format = "dicom";
  image.width = static_cast<int>(dicom.getWidth());
  image.height = static_cast<int>(dicom.getHeight());
  image.depth = static_cast<int>(dicom.getFrameCount());
  image.channels = dicom.isMonochrome() ? 1 : 3;
  image.bits_stored = layout.bits_stored;
  read_geometry(ds, image);
  std::string error =
      image.channels == 1 ? read_monochrome(dicom, rescale, image) : read_color(dicom, image);
  if (!error.empty()) return Result<Image>::failure(error);
  return image;
}

bool needs_gdcm(E_TransferSyntax xfer) {
  return xfer == EXS_JPEG2000LosslessOnly || xfer == EXS_JPEG2000 ||
         xfer == EXS_JPEG2000MulticomponentLosslessOnly || xfer == EXS_JPEG2000Multicomponent;
}

}  // namespace

namespace {

// The pixel data as GDCM decodes it, put back uncompressed into the file's own dataset with the
// decoded pixel format; then the same DCMTK path, so every other attribute (geometry, rescale)
// is read as for any file.
Result<Image> read_via_gdcm(DcmFileFormat& file, const fs::path& path,
                            const std::string& dcmtk_error) {
  Result<GdcmPixels> decoded = gdcm_decode_pixels(path);
  if (!decoded) return Result<Image>::failure(dcmtk_error.empty() ? decoded.error() : dcmtk_error);
  const GdcmPixels& px = decoded.value();
  DcmDataset* ds = file.getDataset();
  auto u16 = [](int v) { return static_cast<Uint16>(v); };
  bool put = ds->putAndInsertString(DCM_PhotometricInterpretation, px.photometric.c_str()).good() &&
             ds->putAndInsertUint16(DCM_SamplesPerPixel, u16(px.samples)).good() &&
             ds->putAndInsertUint16(DCM_BitsAllocated, u16(px.bits_allocated)).good() &&
             ds->putAndInsertUint16(DCM_BitsStored, u16(px.bits_stored)).good() &&
             ds->putAndInsertUint16(DCM_HighBit, u16(px.high_bit)).good() &&
             ds->putAndInsertUint16(DCM_PixelRepresentation, u16(px.pixel_representation)).good();
  if (px.samples > 1)
    put =
        put && ds->putAndInsertUint16(DCM_PlanarConfiguration, u16(px.planar_configuration)).good();
  const auto* bytes = reinterpret_cast<const Uint8*>(px.bytes.data());
  put =
      put && (px.bits_allocated <= 8
                  ? ds->putAndInsertUint8Array(DCM_PixelData, bytes, px.bytes.size())
                  : ds->putAndInsertUint16Array(
                        DCM_PixelData, reinterpret_cast<const Uint16*>(bytes), px.bytes.size() / 2))
                 .good();
  if (!put) return Result<Image>::failure("GDCM's decoded pixel data could not be used");
  return decode_loaded(file, EXS_LittleEndianExplicit);
}

// DCMTK swaps big-endian OW pixel data as 16-bit words, which leaves the two halves of each
// 32-bit sample in the wrong order: put them back.
void fix_big_endian_32bit(DcmDataset* ds, E_TransferSyntax xfer) {
  Uint16 bits_allocated = 0;
  ds->findAndGetUint16(DCM_BitsAllocated, bits_allocated);
  if (xfer != EXS_BigEndianExplicit || bits_allocated != 32) return;
  DcmElement* element = nullptr;
  Uint16* words = nullptr;
  if (ds->findAndGetElement(DCM_PixelData, element).bad() || element->getUint16Array(words).bad())
    return;
  unsigned long count = element->getLength() / 2;
  for (unsigned long i = 0; i + 1 < count; i += 2) std::swap(words[i], words[i + 1]);
}

}  // namespace

Result<Image> read_dicom(const fs::path& path) {
  register_codecs_once();
  const ReadOnlyFile opened(path);
  const DicomStructure structure = dicom_structure(opened);
  if (!structure.problem.empty())
    return Result<Image>::failure("not a usable DICOM file: " + structure.problem);
  // MEDPIPE_DICOM_DECODER=gdcm decodes every file with GDCM (for cross-checks).
  const char* decoder = std::getenv("MEDPIPE_DICOM_DECODER");
  const bool force_gdcm = decoder && std::string(decoder) == "gdcm";
  if (structure.native_pixels && !force_gdcm) {
    if (std::optional<Result<Image>> direct =
            read_direct_file(path, opened, *structure.native_pixels))
      return *std::move(direct);
  }
  DcmFileFormat file;
  OFCondition status = file.loadFile(path.c_str(), EXS_Unknown, EGL_noChange, DCM_MaxReadLength);
  if (status.bad()) {
    return Result<Image>::failure(std::string("not a readable DICOM file (") + status.text() + ")");
  }
  DcmDataset* ds = file.getDataset();
  E_TransferSyntax xfer = ds->getOriginalXfer();
  if (std::string problem = header_problem(ds, xfer); !problem.empty())
    return Result<Image>::failure(problem);
  if (needs_gdcm(xfer) || force_gdcm) return read_via_gdcm(file, path, "");
  fix_big_endian_32bit(ds, xfer);
  Result<Image> decoded = decode_loaded(file, xfer);
  if (decoded.ok()) return decoded;
  // a codec DCMTK lacks, or a layout it refuses (32-bit RGB stored as OB)
  return read_via_gdcm(file, path, decoded.error());
}

}  // namespace medpipe::io_detail
