// infer/segmenter.h: a saved segmentation model applied to one image at a time (memory bounded
// by one image), and the per-image outputs: <image>.npy, a .png preview, a NIfTI mask with the
// input's geometry for NIfTI inputs.
#pragma once
#include <string>
#include <vector>

#include "core/image.h"
#include "infer/predictor.h"
#include "models/tiled.h"
#include "preprocess/segmentation_set.h"

namespace medpipe {

struct LoadedSegmenter {
  torch::jit::Module module;
  SavedModel saved;  // model.json (its preprocessing a SegmentationSpec)
  TileSettings tiles;
  const SegmentationSpec& spec() const { return std::get<SegmentationSpec>(saved.preprocessing); }
  int num_classes() const { return saved.num_classes(); }
};

// From a loaded model whose model.json says task "segment"; UsageError otherwise.
LoadedSegmenter as_segmenter(LoadedModel model, double tile_overlap, bool mirror);

// The label map of an image, predicted slice by slice (a unet3d: the volume, by 3D tiles);
// geometry (spacing) copied from it.
Result<LabelVolume> segment_image(LoadedSegmenter& model, const Image& image);

// Writes <name>.npy (uint8, [D,]H,W), <name>.png (the slice with the most foreground, gray,
// classes overlaid in colour), for NIfTI inputs <name>.nii.gz with the input's spacing, origin
// and direction, and for DICOM inputs (a file or series folder at `source_path`) a DICOM SEG
// <name>.seg.dcm referencing the source series. Returns the file names written, .npy first.
std::vector<std::string> write_segmentation_outputs(const fs::path& dir, const std::string& name,
                                                    const fs::path& source_path,
                                                    const Image& source, const LabelVolume& mask,
                                                    int num_classes);

// predictions.csv for segmentation: image,mask (the mask's file name in the same folder).
void write_mask_list_csv(const fs::path& dir, const std::vector<std::string>& images,
                         const std::vector<std::string>& mask_files);

struct MaskListRow {
  std::string image;
  std::string mask;  // file name in the csv's folder
  std::size_t line = 0;
};
// That predictions.csv read back; UsageError when it is not one.
std::vector<MaskListRow> read_mask_list_csv(const fs::path& csv);

}  // namespace medpipe
