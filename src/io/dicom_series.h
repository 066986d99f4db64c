// io/dicom_series.h: whether DICOM instances of one series form a volume (dicom_series.cpp, which
// also reads a series folder as one volume for read_image).
#pragma once
#include <vector>

#include "core/fs.h"

namespace medpipe {

// From their headers alone: at least two single-frame instances, each with ImagePositionPatient
// and the same ImageOrientationPatient, no two at the same place along the slice normal. (A
// series of projections or photographs, as medpipe synth writes, does not.)
bool instances_form_a_volume(const std::vector<fs::path>& instances);

}  // namespace medpipe
