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
#include <cmath>
#include <cstdio>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>

#include "io/dicom_guard.h"
#include "io/dicom_values.h"
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

// The geometry as DCMTK reads the dataset's numbers.
void read_geometry(DcmDataset* ds, Image& image) {
  io_detail::read_geometry(
      [ds](std::uint32_t tag, unsigned i) -> std::optional<double> {
        Float64 value = 0;
        if (ds->findAndGetFloat64(DcmTagKey(tag >> 16, tag & 0xFFFF), value, i).good())
          return value;
        return std::nullopt;
      },
      image);
}

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
  return make_rescale(p, get_double(ds, DCM_RescaleSlope, 1.0),
                      get_double(ds, DCM_RescaleIntercept, 0.0), monochrome1);
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
    image.pixels.resize(count);
    native_values(raw, count, rescale, image.pixels.data());
  } else {
    Uint8* raw = nullptr;
    if (element->getUint8Array(raw).bad() || !raw) return false;
    image.pixels.resize(count);
    native_values(raw, count, rescale, image.pixels.data());
  }
  set_grayscale_extent(p, image);
  return true;
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
  if (std::optional<Result<Image>> direct = read_direct_dicom(opened, structure))
    return *std::move(direct);
  DcmFileFormat file;
  OFCondition status = file.loadFile(path.c_str(), EXS_Unknown, EGL_noChange, DCM_MaxReadLength);
  if (status.bad()) {
    return Result<Image>::failure(std::string("not a readable DICOM file (") + status.text() + ")");
  }
  DcmDataset* ds = file.getDataset();
  E_TransferSyntax xfer = ds->getOriginalXfer();
  if (std::string problem = header_problem(ds, xfer); !problem.empty())
    return Result<Image>::failure(problem);
  if (needs_gdcm(xfer) || gdcm_forced()) return read_via_gdcm(file, path, "");
  fix_big_endian_32bit(ds, xfer);
  Result<Image> decoded = decode_loaded(file, xfer);
  if (decoded.ok()) return decoded;
  // a codec DCMTK lacks, or a layout it refuses (32-bit RGB stored as OB)
  return read_via_gdcm(file, path, decoded.error());
}

}  // namespace medpipe::io_detail
