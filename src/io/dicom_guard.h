// io/dicom_guard.h: a DICOM file's structure checked before a recursive parser (DCMTK, GDCM)
// reads it: sequences nested deeper than any real object (a crafted file of 10,000 nested
// sequences overflows their stacks) and elements longer than the rest of the file (DCMTK
// allocates what the length claims before it reads) are refused. One linear pass over the
// element headers; values are skipped, not read.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/fs.h"

namespace medpipe {

constexpr int kMaxDicomNesting = 64;  // sequences within sequences; real objects use a few

// "" when every sequence of the file nests at most kMaxDicomNesting deep and every element fits
// in the file (or the file is not one this pass can walk: the parser then reports it), else the
// problem.
std::string dicom_structure_problem(const fs::path& path);

// Where uncompressed pixel data lies in the file: the value of the top-level PixelData element.
struct DicomPixelSpan {
  std::uint64_t offset = 0, length = 0;
};
// A top-level element the walk kept as stored: its tag (group << 16 | element), VR (empty in
// implicit VR) and value bytes.
struct DicomValue {
  std::uint32_t tag = 0;
  std::string vr, bytes;
};
// The attributes a grayscale image's header is read from (pixel format, rescale, geometry).
bool is_image_header_tag(std::uint32_t tag);
struct DicomStructure {
  std::string problem;  // as dicom_structure_problem
  // the top-level PixelData of a defined length, where the dataset is not deflated
  std::optional<DicomPixelSpan> native_pixels;
  std::string transfer_syntax;  // from the meta header ("" without one)
  // every top-level element before that pixel data whose tag is_image_header_tag, in file
  // order, each at most kMaxHeaderValueBytes long; header_values_complete is false when one
  // was longer
  std::vector<DicomValue> header_values;
  bool header_values_complete = true;
};
constexpr std::size_t kMaxHeaderValueBytes = 1024;
// The walk over an open file (whose reads the caller may go on using for the pixel data).
DicomStructure dicom_structure(const ReadOnlyFile& file);

}  // namespace medpipe
