// io/dicom_guard.h: a DICOM file's structure checked before a recursive parser (DCMTK, GDCM)
// reads it: sequences nested deeper than any real object (a crafted file of 10,000 nested
// sequences overflows their stacks) are refused. One linear pass over the element headers;
// values are skipped, not read.
#pragma once
#include <string>

#include "core/fs.h"

namespace medpipe {

constexpr int kMaxDicomNesting = 64;  // sequences within sequences; real objects use a few

// "" when every sequence of the file nests at most kMaxDicomNesting deep (or the file is not
// one this pass can walk: the parser then reports it), else the problem.
std::string dicom_nesting_problem(const fs::path& path);

}  // namespace medpipe
