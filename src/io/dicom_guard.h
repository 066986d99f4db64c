// io/dicom_guard.h: a DICOM file's structure checked before a recursive parser (DCMTK, GDCM)
// reads it: sequences nested deeper than any real object (a crafted file of 10,000 nested
// sequences overflows their stacks) and elements longer than the rest of the file (DCMTK
// allocates what the length claims before it reads) are refused. One linear pass over the
// element headers; values are skipped, not read.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

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
struct DicomStructure {
  std::string problem;  // as dicom_structure_problem
  // the top-level PixelData of a defined length, where the dataset is not deflated
  std::optional<DicomPixelSpan> native_pixels;
};
// The walk over an open file (whose reads the caller may go on using for the pixel data).
DicomStructure dicom_structure(const ReadOnlyFile& file);

}  // namespace medpipe
