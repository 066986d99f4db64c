// io/dicom_seg.h: a predicted label map as a DICOM Segmentation object (binary, DCMTK dcmseg)
// that references its source series, so viewers and PACS show it over the images.
#pragma once
#include "core/fs.h"
#include "core/image.h"

namespace medpipe {

// Writes `mask` (labels 1..num_classes-1, one segment each, one frame per slice and segment)
// to `out_path` atomically. `source` is the DICOM file or series folder the mask was predicted
// from, `geometry` its image (spacing, origin, direction). The SEG takes the source's patient,
// study and frame of reference (as DICOM requires to attach it to the study) and lists the
// source instances in ReferencedSeriesSequence. Throws RunError.
void write_dicom_seg(const fs::path& out_path, const fs::path& source, const Image& geometry,
                     const LabelVolume& mask, int num_classes);

}  // namespace medpipe
