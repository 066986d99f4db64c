// The direct path of an uncompressed little-endian grayscale DICOM file (most CT, MR, CR and
// DX): its header read from the values the structure walk kept (io/dicom_guard.h), its samples
// from the file a block at a time straight into floats; no second parse, no raw copy. A header
// that is in any way unusual leaves the file to DCMTK's full path (dicom_reader.cpp).
#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "io/dicom_values.h"
#include "io/formats.h"
#include "io/image_io.h"

namespace medpipe::io_detail {

namespace {

constexpr std::uint32_t kSamplesPerPixel = 0x00280002, kPhotometric = 0x00280004,
                        kNumberOfFrames = 0x00280008, kRows = 0x00280010, kColumns = 0x00280011,
                        kBitsAllocated = 0x00280100, kBitsStored = 0x00280101,
                        kHighBit = 0x00280102, kPixelRepresentation = 0x00280103,
                        kRescaleIntercept = 0x00281052, kRescaleSlope = 0x00281053;

// The VR the standard gives each attribute of the header (the walk keeps only those tags).
std::string standard_vr(std::uint32_t tag) {
  if (tag == kPhotometric) return "CS";
  if (tag == kNumberOfFrames) return "IS";
  if ((tag >> 16) == 0x0028 && (tag & 0xFFFF) <= 0x0103 && tag != 0x00280030) return "US";
  return "DS";
}

// A text value's numbers, split at backslashes, each without its padding; nothing when one is
// no number (or not a whole one where `whole`).
std::optional<std::vector<double>> numbers_of(const std::string& text, bool whole) {
  std::vector<double> numbers;
  std::size_t start = 0;
  while (start <= text.size() && !text.empty()) {
    std::size_t end = std::min(text.find('\\', start), text.size());
    std::size_t a = start, b = end;
    while (a < b && (text[a] == ' ')) ++a;
    while (b > a && (text[b - 1] == ' ' || text[b - 1] == '\0')) --b;
    if (a < b && text[a] == '+') ++a;
    double number = 0;
    long long integer = 0;
    const char* first = text.data() + a;
    const auto parsed = whole ? std::from_chars(first, text.data() + b, integer)
                              : std::from_chars(first, text.data() + b, number);
    if (a == b || parsed.ec != std::errc() || parsed.ptr != text.data() + b) return std::nullopt;
    numbers.push_back(whole ? static_cast<double>(integer) : number);
    if (!std::isfinite(numbers.back())) return std::nullopt;
    start = end + 1;
  }
  return numbers;
}

// The walk's header values parsed: nothing when one is not as the standard stores it (another
// VR, a number that does not parse, a tag twice, a value cut short).
struct WalkedHeader {
  std::map<std::uint32_t, std::vector<double>> numbers;  // US, IS and DS attributes
  std::string photometric;
};

std::optional<WalkedHeader> walked_header(const DicomStructure& structure) {
  if (!structure.header_values_complete) return std::nullopt;
  WalkedHeader header;
  for (const DicomValue& value : structure.header_values) {
    const std::string vr = standard_vr(value.tag);
    if ((!value.vr.empty() && value.vr != vr) || header.numbers.count(value.tag))
      return std::nullopt;
    if (vr == "US") {
      if (value.bytes.size() != 2 && !value.bytes.empty()) return std::nullopt;
      if (value.bytes.size() == 2)
        header.numbers[value.tag] = {static_cast<double>(
            static_cast<unsigned char>(value.bytes[0]) |
            static_cast<unsigned>(static_cast<unsigned char>(value.bytes[1])) << 8)};
    } else if (vr == "CS") {
      std::string text = value.bytes;
      while (!text.empty() && (text.back() == ' ' || text.back() == '\0')) text.pop_back();
      header.photometric = text.substr(std::min(text.find_first_not_of(' '), text.size()));
      header.numbers[value.tag] = {};
    } else {
      std::optional<std::vector<double>> numbers = numbers_of(value.bytes, vr == "IS");
      if (!numbers) return std::nullopt;
      header.numbers[value.tag] = *std::move(numbers);
    }
  }
  return header;
}

// An uncompressed little-endian grayscale file: the layout, the rescale and the image less its
// pixels.
struct DirectDicom {
  PixelLayout layout;
  NativeRescale rescale;
  Image header;
};

std::optional<Result<DirectDicom>> direct_header(const DicomStructure& structure) {
  static_assert(std::endian::native == std::endian::little, "little-endian samples read as is");
  const std::string& syntax = structure.transfer_syntax;
  if (!structure.native_pixels ||
      (syntax != "1.2.840.10008.1.2" && syntax != "1.2.840.10008.1.2.1"))
    return std::nullopt;
  const std::optional<WalkedHeader> walked = walked_header(structure);
  if (!walked || (walked->photometric != "MONOCHROME1" && walked->photometric != "MONOCHROME2"))
    return std::nullopt;
  auto number = [&](std::uint32_t tag, unsigned i) -> std::optional<double> {
    const auto found = walked->numbers.find(tag);
    if (found == walked->numbers.end() || i >= found->second.size()) return std::nullopt;
    return found->second[i];
  };
  auto u16 = [&](std::uint32_t tag) {
    return static_cast<std::uint16_t>(number(tag, 0).value_or(0));
  };
  DirectDicom direct;
  PixelLayout& layout = direct.layout;
  layout = {u16(kRows),       u16(kColumns), u16(kSamplesPerPixel),     u16(kBitsAllocated),
            u16(kBitsStored), u16(kHighBit), u16(kPixelRepresentation), 1};
  const double frames = number(kNumberOfFrames, 0).value_or(1);
  if (frames > std::numeric_limits<std::int32_t>::max()) return std::nullopt;
  layout.frames = frames < 1 ? 1 : static_cast<std::int32_t>(frames);
  if (!direct_grayscale(layout)) return std::nullopt;
  if (std::string problem =
          image_size_problem(layout.columns, layout.rows, layout.frames, layout.samples);
      !problem.empty())
    return Result<DirectDicom>::failure(problem);
  if (structure.native_pixels->length < sample_count(layout) * (layout.bits_allocated / 8))
    return std::nullopt;  // a cut file: the full path says so
  direct.rescale = make_rescale(layout, number(kRescaleSlope, 0).value_or(1.0),
                                number(kRescaleIntercept, 0).value_or(0.0),
                                walked->photometric == "MONOCHROME1");
  set_grayscale_extent(layout, direct.header);
  direct.header.source_format = "dicom";
  direct.header.bits_stored = layout.bits_stored;
  read_geometry(number, direct.header);
  return direct;
}

// `count` samples from `offset` in the file read and converted a block at a time through a small
// buffer that stays in the cache: the pixel data is never held raw in memory, and read once.
template <class Raw>
bool read_file_values(const ReadOnlyFile& file, std::uint64_t offset, std::size_t count,
                      const NativeRescale& rescale, float* out) {
  constexpr std::size_t kBlock = 16384;
  thread_local std::vector<Raw> raw(kBlock);
  for (std::size_t first = 0; first < count; first += kBlock) {
    const std::size_t n = std::min(kBlock, count - first);
    const std::size_t bytes = n * sizeof(Raw);
    if (file.read_at(offset + first * sizeof(Raw), raw.data(), bytes) != bytes) return false;
    native_values(raw.data(), n, rescale, out + first);
  }
  return true;
}

// Rows [first, first + count) of a direct file's image into `out`.
bool read_direct_rows(const ReadOnlyFile& file, std::uint64_t pixels_at, const DirectDicom& d,
                      int first, int count, float* out) {
  const std::size_t at = static_cast<std::size_t>(first) * d.layout.columns;
  const std::size_t n = static_cast<std::size_t>(count) * d.layout.columns;
  return d.layout.bits_allocated == 16
             ? read_file_values<std::uint16_t>(file, pixels_at + 2 * at, n, d.rescale, out)
             : read_file_values<std::uint8_t>(file, pixels_at + at, n, d.rescale, out);
}

// The same file's rows a block at a time, from the file it holds open.
class DicomRows final : public ImageRows {
 public:
  DicomRows(std::unique_ptr<ReadOnlyFile> file, DirectDicom direct, std::uint64_t pixels_at)
      : file_(std::move(file)), direct_(std::move(direct)), pixels_at_(pixels_at) {
    header_ = std::move(direct_.header);
  }
  bool read(int first, int count, float* out) const override {
    if (first < 0 || count < 0 || first + count > header_.height) return false;
    return read_direct_rows(*file_, pixels_at_, direct_, first, count, out);
  }

 private:
  std::unique_ptr<ReadOnlyFile> file_;
  DirectDicom direct_;
  std::uint64_t pixels_at_;
};

// Whether every value the rescale can give from `bits` stored bits is a finite float (a slope of
// 1e38 is not): rows read without the full image's finiteness check.
bool rescale_stays_finite(const NativeRescale& r) {
  const double largest =
      (std::ldexp(1.0, r.bits_stored) + std::fabs(r.invert_sum)) * std::fabs(r.slope) +
      std::fabs(r.intercept);
  return std::isfinite(largest) && largest < 0.5 * std::numeric_limits<float>::max();
}

}  // namespace

bool gdcm_forced() {
  const char* decoder = std::getenv("MEDPIPE_DICOM_DECODER");
  return decoder && std::string(decoder) == "gdcm";
}

std::optional<Result<Image>> read_direct_dicom(const ReadOnlyFile& file,
                                               const DicomStructure& structure) {
  if (gdcm_forced()) return std::nullopt;
  std::optional<Result<DirectDicom>> direct = direct_header(structure);
  if (!direct) return std::nullopt;
  if (!*direct) return Result<Image>::failure(direct->error());
  DirectDicom& d = direct->value();
  Image image = std::move(d.header);
  image.pixels.resize(sample_count(d.layout));
  if (!read_direct_rows(file, structure.native_pixels->offset, d, 0,
                        d.layout.rows * d.layout.frames, image.pixels.data()))
    return std::nullopt;
  return image;
}

std::unique_ptr<ImageRows> open_dicom_rows(const fs::path& path) {
  auto file = std::make_unique<ReadOnlyFile>(path);
  const DicomStructure structure = dicom_structure(*file);
  if (!structure.problem.empty() || gdcm_forced()) return nullptr;
  std::optional<Result<DirectDicom>> direct = direct_header(structure);
  if (!direct || !*direct || direct->value().layout.frames != 1 ||
      !rescale_stays_finite(direct->value().rescale))
    return nullptr;
  return std::make_unique<DicomRows>(std::move(file), std::move(direct->value()),
                                     structure.native_pixels->offset);
}

}  // namespace medpipe::io_detail
