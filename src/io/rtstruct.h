// io/rtstruct.h: DICOM RT Structure Set contours as a voxel mask on an image's grid, so that
// clinical contours can be the region of radiomics features (and of training, later).
#pragma once
#include <string>
#include <vector>

#include "core/error.h"
#include "core/fs.h"
#include "core/image.h"

namespace medpipe {

// Whether `path` is a DICOM file with Modality RTSTRUCT.
bool is_rtstruct(const fs::path& path);

// The ROI `roi_name` ("" when the set has only one ROI) rasterised onto `reference`'s grid: a
// voxel is inside when its centre lies inside the slice's contours (even-odd rule, so contours
// inside contours are holes). The result has reference's geometry and values 0/1. Failures name
// the problem: no such ROI (listing those there are), no contour on the image's slices, contours
// off the slice planes.
Result<Image> rasterise_rtstruct(const fs::path& path, const Image& reference,
                                 const std::string& roi_name);

}  // namespace medpipe
