#include "io/dicom_guard.h"

#include <zlib.h>

#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <vector>

#include "io/bytes.h"
#include "io/image_io.h"

namespace medpipe {

namespace {

constexpr std::uint32_t kUndefined = 0xFFFFFFFFu;
constexpr const char* kDeflated = "1.2.840.10008.1.2.1.99";
constexpr std::uint64_t kOpenEnded = ~std::uint64_t{0};

struct Level {
  std::uint64_t end;  // where its value ends (kOpenEnded: at its delimiter)
  bool fragments;     // encapsulated pixel data: its items hold bytes, not elements
};

class Walker {
 public:
  explicit Walker(const ReadOnlyFile& file) : file_(file), size_(file_.size()) {}
  DicomStructure walk();

 private:
  // n bytes (at most kWindow) at `at`, from a window of the file read with one pread: a
  // header's elements are walked with one or two reads, not one per element.
  bool read(std::uint64_t at, void* out, std::size_t n) {
    if (at + n > size_) return false;
    if (inflated_from_ && at >= *inflated_from_) {  // a deflated dataset, walked inflated
      std::memcpy(out, inflated_.data() + (at - *inflated_from_), n);
      return true;
    }
    if (at < window_at_ || at + n > window_at_ + window_.size()) {
      window_.resize(kWindow);
      window_.resize(file_.read_at(at, window_.data(), kWindow));
      window_at_ = at;
      if (n > window_.size()) return false;
    }
    std::memcpy(out, window_.data() + (at - window_at_), n);
    return true;
  }
  bool inflate_dataset(std::uint64_t pos);
  std::uint32_t number(const unsigned char* b, int bytes, bool little) const {
    return static_cast<std::uint32_t>(io_detail::unsigned_at(b, bytes, little));
  }
  void start_dataset(std::uint64_t pos);
  bool read_syntax(std::uint64_t pos, std::uint32_t length);
  void keep_header_value(std::uint32_t tag, const std::string& vr, std::uint64_t pos,
                         std::uint32_t length);
  bool element(std::uint64_t& pos);
  bool item_or_delimiter(std::uint64_t& pos, std::uint32_t tag, std::uint32_t length);
  bool jpeg_fragment_ok(std::uint64_t pos, std::uint32_t length);

  static constexpr std::size_t kWindow = 16384;
  const ReadOnlyFile& file_;
  std::uint64_t size_ = 0;
  std::vector<char> window_;
  std::uint64_t window_at_ = 0;
  std::optional<DicomPixelSpan> native_pixels_;
  std::vector<DicomValue> header_values_;
  bool header_values_complete_ = true;
  bool meta_ = true, little_ = true, explicit_ = true;
  bool jpeg_ = false;  // a JPEG transfer syntax (DCMTK's IJG decoder)
  std::string syntax_;
  std::vector<Level> stack_;
  std::string problem_;                         // why the walk stopped, when the file is refused
  std::optional<std::uint64_t> inflated_from_;  // where a deflated dataset starts
  std::string inflated_;
};

// The deflated dataset (raw deflate after the meta header), inflated into memory to be walked as
// any other: refused when it inflates beyond what one image may hold (a decompression bomb;
// DCMTK would inflate it all).
bool Walker::inflate_dataset(std::uint64_t pos) {
  const double limit = 4.0 * max_image_pixels() + (16 << 20);
  std::string packed(size_ - pos, '\0');
  if (file_.read_at(pos, packed.data(), packed.size()) != packed.size()) return false;
  z_stream z{};
  if (inflateInit2(&z, -MAX_WBITS) != Z_OK) return false;
  z.next_in = reinterpret_cast<Bytef*>(packed.data());
  z.avail_in = static_cast<uInt>(packed.size());
  char chunk[1 << 16];
  int status = Z_OK;
  while (status == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(chunk);
    z.avail_out = sizeof chunk;
    status = inflate(&z, Z_NO_FLUSH);
    inflated_.append(chunk, sizeof chunk - z.avail_out);
    if (static_cast<double>(inflated_.size()) > limit) {
      inflateEnd(&z);
      problem_ = "its deflated dataset inflates beyond what one image may hold (max_image_pixels)";
      return false;
    }
  }
  inflateEnd(&z);
  // a damaged stream: DCMTK parses what inflated before the damage, so that is walked too
  if (status != Z_STREAM_END && status != Z_BUF_ERROR && inflated_.empty()) return false;
  inflated_from_ = pos;
  size_ = pos + inflated_.size();
  return true;
}

// Group 0002 is explicit little endian; the rest is encoded as its transfer syntax says.
void Walker::start_dataset(std::uint64_t pos) {
  meta_ = false;
  const std::string jpeg_prefix = "1.2.840.10008.1.2.4.";
  if (syntax_.rfind(jpeg_prefix, 0) == 0) {
    const int process = std::atoi(syntax_.c_str() + jpeg_prefix.size());
    jpeg_ = process >= 50 && process <= 70;
  }
  little_ = syntax_ != "1.2.840.10008.1.2.2";
  explicit_ = syntax_ != "1.2.840.10008.1.2";
  if (syntax_.empty()) {  // no meta header: explicit if a VR's two letters follow the tag
    unsigned char vr[2];
    explicit_ =
        read(pos + 4, vr, 2) && vr[0] >= 'A' && vr[0] <= 'Z' && vr[1] >= 'A' && vr[1] <= 'Z';
  }
}

// An item (into it; over it when it holds fragment bytes) or a delimiter at `pos`: always a
// 4-byte length.
bool Walker::item_or_delimiter(std::uint64_t& pos, std::uint32_t tag, std::uint32_t length) {
  pos += 8;
  if (tag == 0xE000) {
    const bool bytes = !stack_.empty() && stack_.back().fragments;
    if (length != kUndefined && pos + length > size_) {
      problem_ = "an item claims more bytes than are left in the file (a cut or damaged file)";
      return false;
    }
    if (bytes && length != kUndefined) {
      if (jpeg_ && !jpeg_fragment_ok(pos, length)) return false;
      return pos += length, true;
    }
    stack_.push_back({length == kUndefined ? kOpenEnded : pos + length, false});
  } else if (!stack_.empty() && stack_.back().end == kOpenEnded) {
    stack_.pop_back();  // item or sequence delimiter
  }
  return true;
}

// A JPEG fragment's markers walked as DCMTK's decoder walks them looking for the bit depth
// (DJCodecDecoder::scanJpegDataForBitDepth), which never advances past a TEM marker (FF01):
// a fragment that would send it into that endless loop is refused. The walk ends, as DCMTK's
// does, at a start-of-frame or at what is no marker.
bool Walker::jpeg_fragment_ok(std::uint64_t pos, std::uint32_t length) {
  std::uint64_t offset = 0;
  for (int markers = 0; offset + 4 < length; ++markers) {
    unsigned char m[4];
    if (markers > 100000 || !read(pos + offset, m, 4)) return true;  // DCMTK ends too
    const unsigned code = (unsigned{m[0]} << 8) | m[1];
    const bool sof =
        code >= 0xFFC0 && code <= 0xFFCF && code != 0xFFC4 && code != 0xFFC8 && code != 0xFFCC;
    if (sof) return true;
    if (code == 0xFF01) {
      problem_ = "its JPEG data holds a TEM marker where DCMTK's decoder would loop forever";
      return false;
    }
    if (code == 0xFFFF) {
      offset += 1;
    } else if ((code >= 0xFFD0 && code <= 0xFFD9) || (m[0] == 0xFF && m[1] > 2 && m[1] <= 0xBF)) {
      offset += 2;
    } else if (code >= 0xFFC4) {  // a segment with a length
      offset += 2 + ((unsigned{m[2]} << 8) | m[3]);
    } else {
      return true;  // no marker: DCMTK stops here
    }
  }
  return true;
}

// The meta header's TransferSyntaxUID, whose value is at `pos`.
bool Walker::read_syntax(std::uint64_t pos, std::uint32_t length) {
  char uid[128] = {};
  if (!read(pos, uid, length)) return false;
  syntax_ = std::string(uid, strnlen(uid, length));
  while (!syntax_.empty() && (syntax_.back() == ' ' || syntax_.back() == '\0')) syntax_.pop_back();
  return true;
}

// One element header at `pos`: steps over its value, or into it for a sequence or an item.
bool Walker::element(std::uint64_t& pos) {
  unsigned char h[12];
  if (!read(pos, h, 8)) return false;
  if (meta_ && number(h, 2, true) != 0x0002) start_dataset(pos);
  if (!meta_ && syntax_ == kDeflated && !inflated_from_) {
    if (!inflate_dataset(pos) || !read(pos, h, 8)) return false;  // its first header, inflated
  }
  const bool little = meta_ ? true : little_;
  const std::uint32_t group = number(h, 2, little), tag = number(h + 2, 2, little);
  if (group == 0xFFFE) return item_or_delimiter(pos, tag, number(h + 4, 4, little_));
  const bool expl = meta_ || explicit_;
  std::string vr = expl ? std::string(reinterpret_cast<char*>(h + 4), 2) : "";
  // the VRs with a 2-byte length; any other of two capital letters (a non-standard one included)
  // has a 4-byte length, and what is not two capitals a 2-byte one, as DCMTK reads them
  static const std::string short_vrs =
      "AE AS AT CS DA DS DT FL FD IS LO LT PN SH SL SS ST TM UI UL US";
  const bool capitals = vr.size() == 2 && std::isupper(static_cast<unsigned char>(vr[0])) &&
                        std::isupper(static_cast<unsigned char>(vr[1]));
  const bool long_form = !expl || (capitals && short_vrs.find(vr) == std::string::npos);
  std::uint32_t length = 0;
  if (!expl) {
    length = number(h + 4, 4, little);
    pos += 8;
  } else if (long_form) {
    if (!read(pos + 8, h + 8, 4)) return false;
    length = number(h + 8, 4, little);
    pos += 12;
  } else {
    length = number(h + 6, 2, little);
    pos += 8;
  }
  // an odd length is read one byte longer, as DCMTK reads it (it accepts odd lengths by padding)
  const bool odd = length != kUndefined && (length & 1);
  if (odd && !meta_) ++length;
  if (meta_ && tag == 0x0010 && length < 128 && !read_syntax(pos, length)) return false;
  if (length != kUndefined && pos + length > size_) {
    problem_ = "an element claims " + std::to_string(length) + " bytes, more than the " +
               std::to_string(size_ - pos) + " left in the file (a cut or damaged file)";
    return false;
  }
  unsigned char first[4] = {};
  const bool starts_with_item = length >= 8 && read(pos, first, 4) &&
                                number(first, 2, little) == 0xFFFE &&
                                number(first + 2, 2, little) == 0xE000;
  const bool pixel_data = group == 0x7FE0 && tag == 0x0010;
  if (vr == "SQ" || length == kUndefined || (!expl && starts_with_item && !pixel_data)) {
    stack_.push_back({length == kUndefined ? kOpenEnded : pos + length, pixel_data});
    return true;
  }
  if (pixel_data && stack_.empty() && !inflated_from_) native_pixels_ = DicomPixelSpan{pos, length};
  if (!meta_ && stack_.empty() && !native_pixels_ && is_image_header_tag(group << 16 | tag)) {
    if (odd) header_values_complete_ = false;  // padded by the parser: not kept as stored
    keep_header_value(group << 16 | tag, vr, pos, length);
  }
  pos += length;
  return true;
}

void Walker::keep_header_value(std::uint32_t tag, const std::string& vr, std::uint64_t pos,
                               std::uint32_t length) {
  DicomValue value{tag, vr, std::string(length, '\0')};
  if (length > kMaxHeaderValueBytes || !read(pos, value.bytes.data(), length)) {
    header_values_complete_ = false;
    return;
  }
  header_values_.push_back(std::move(value));
}

DicomStructure Walker::walk() {
  if (!file_.ok()) return {};  // the parser reports a file it cannot open
  char preamble[132];
  std::uint64_t pos =
      read(0, preamble, 132) && std::memcmp(preamble + 128, "DICM", 4) == 0 ? 132 : 0;
  if (pos == 0) meta_ = false, start_dataset(0);
  while (pos + 8 <= size_) {
    while (!stack_.empty() && pos >= stack_.back().end) stack_.pop_back();
    if (static_cast<int>(stack_.size()) > 2 * kMaxDicomNesting)
      return {"its sequences nest more than " + std::to_string(kMaxDicomNesting) +
                  " deep (a damaged or crafted file)",
              {}};
    if (!element(pos)) return {problem_, {}};
  }
  return {"", native_pixels_, syntax_, std::move(header_values_), header_values_complete_};
}

}  // namespace

bool is_image_header_tag(std::uint32_t tag) {
  switch (tag) {
    case 0x00180050:  // SliceThickness
    case 0x00180088:  // SpacingBetweenSlices
    case 0x00200032:  // ImagePositionPatient
    case 0x00200037:  // ImageOrientationPatient
    case 0x00280002:  // SamplesPerPixel
    case 0x00280004:  // PhotometricInterpretation
    case 0x00280008:  // NumberOfFrames
    case 0x00280010:  // Rows
    case 0x00280011:  // Columns
    case 0x00280030:  // PixelSpacing
    case 0x00280100:  // BitsAllocated
    case 0x00280101:  // BitsStored
    case 0x00280102:  // HighBit
    case 0x00280103:  // PixelRepresentation
    case 0x00281052:  // RescaleIntercept
    case 0x00281053:  // RescaleSlope
    case 0x3004000C:  // GridFrameOffsetVector
      return true;
    default:
      return false;
  }
}

DicomStructure dicom_structure(const ReadOnlyFile& file) {
  return Walker(file).walk();
}

std::string dicom_structure_problem(const fs::path& path) {
  return dicom_structure(ReadOnlyFile(path)).problem;
}

}  // namespace medpipe
