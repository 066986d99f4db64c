#include "infer/segmenter.h"

#include <algorithm>
#include <map>
#include <sstream>

#include "core/error.h"
#include "io/csv.h"
#include "io/dicom_seg.h"
#include "io/image_io.h"
#include "io/npy.h"

namespace medpipe {

LoadedSegmenter as_segmenter(LoadedModel model, double tile_overlap, bool mirror) {
  if (!std::holds_alternative<SegmentationSpec>(model.saved.preprocessing)) {
    throw UsageError("the model is a classifier (model.json task '" + model.saved.task +
                     "') but label_style is 'array'; use a segmentation model or label_style "
                     "single");
  }
  LoadedSegmenter s{std::move(model.module), std::move(model.saved), {}};
  s.tiles.patch = s.saved.patch_size;
  if (s.saved.model.arch == "unet3d") s.tiles.patch_depth = s.saved.model.image_depth;
  s.tiles.overlap = tile_overlap;
  s.tiles.mirror = mirror;
  return s;
}

Result<LabelVolume> segment_image(LoadedSegmenter& model, const Image& image) {
  Result<std::vector<float>> pixels = normalize_volume(image, model.spec());
  if (!pixels) return Result<LabelVolume>::failure(pixels.error());
  LabelVolume out{image.depth, image.height,     image.width,
                  {},          image.spacing_mm, image.spacing_known};
  if (model.tiles.patch_depth > 0) {  // a 3D network: the volume at once, tile by tile
    if (image.depth < 2)
      return Result<LabelVolume>::failure("a 2D image; this model (unet3d) segments volumes");
    out.labels = segment_volume_tiled(model.module, pixels.value().data(), model.spec().channels,
                                      image.depth, image.height, image.width, model.num_classes(),
                                      model.tiles);
    return out;
  }
  out.labels.resize(image.voxel_count());
  const std::size_t plane = static_cast<std::size_t>(image.height) * image.width;
  for (int z = 0; z < image.depth; ++z) {
    auto probs = predict_slice_tiled(
        model.module, pixels.value().data() + z * model.spec().channels * plane,
        model.spec().channels, image.height, image.width, model.num_classes(), model.tiles);
    auto labels = argmax_classes(probs, model.num_classes());
    std::copy(labels.begin(), labels.end(), out.labels.begin() + z * plane);
  }
  return out;
}

namespace {

// The slice with the most foreground, gray from the image's own range, classes in colour.
Image preview(const Image& source, const LabelVolume& mask) {
  const std::size_t plane = static_cast<std::size_t>(mask.height) * mask.width;
  int best_z = 0;
  std::size_t best = 0;
  for (int z = 0; z < mask.depth; ++z) {
    std::size_t n =
        std::count_if(mask.labels.begin() + z * plane, mask.labels.begin() + (z + 1) * plane,
                      [](std::uint8_t v) { return v != 0; });
    if (n > best) best = n, best_z = z;
  }
  static const float palette[6][3] = {{230, 25, 75}, {60, 180, 75},  {255, 225, 25},
                                      {0, 130, 200}, {245, 130, 48}, {145, 30, 180}};
  Image out;
  out.height = mask.height;
  out.width = mask.width;
  out.channels = 3;
  out.pixels.resize(plane * 3);
  const float* slice = source.pixels.data() + best_z * plane * source.channels;
  auto [lo, hi] = std::minmax_element(slice, slice + plane * source.channels);
  float range = *hi > *lo ? *hi - *lo : 1.0f;
  for (std::size_t i = 0; i < plane; ++i) {
    float gray = 0;
    for (int c = 0; c < source.channels; ++c) gray += slice[i * source.channels + c];
    gray = std::round((gray / source.channels - *lo) / range * 255.0f);
    std::uint8_t k = mask.labels[best_z * plane + i];
    for (int c = 0; c < 3; ++c) {
      float v = k ? std::round(0.5f * gray + 0.5f * palette[(k - 1) % 6][c]) : gray;
      out.pixels[i * 3 + c] = std::clamp(v, 0.0f, 255.0f);
    }
  }
  return out;
}

}  // namespace

std::vector<std::string> write_segmentation_outputs(const fs::path& dir, const std::string& name,
                                                    const fs::path& source_path,
                                                    const Image& source, const LabelVolume& mask,
                                                    int num_classes) {
  safe_join(dir, name, "the image name");  // a name from outside never leaves the folder
  std::vector<std::string> written;
  std::vector<std::int64_t> shape;
  if (mask.depth > 1) shape.push_back(mask.depth);
  shape.push_back(mask.height);
  shape.push_back(mask.width);
  write_npy_u8(dir / (name + ".npy"), shape, mask.labels.data());
  written.push_back(name + ".npy");
  write_image(dir / (name + ".png"), preview(source, mask));
  written.push_back(name + ".png");
  // a volume's mask also in its own format, with its geometry
  static const std::map<std::string, std::string> volume_extension = {
      {"nifti", ".nii.gz"}, {"nrrd", ".nrrd"}, {"metaimage", ".mha"}};
  if (auto ext = volume_extension.find(source.source_format); ext != volume_extension.end()) {
    Image volume = source;
    volume.channels = 1;
    volume.pixels.assign(mask.labels.begin(), mask.labels.end());
    write_image(dir / (name + ext->second), volume);
    written.push_back(name + ext->second);
  }
  if (source.source_format == "dicom") {
    write_dicom_seg(dir / (name + ".seg.dcm"), source_path, source, mask, num_classes);
    written.push_back(name + ".seg.dcm");
  }
  return written;
}

void write_mask_list_csv(const fs::path& dir, const std::vector<std::string>& images,
                         const std::vector<std::string>& mask_files) {
  std::ostringstream csv;
  csv << "image,mask\n";
  for (std::size_t i = 0; i < images.size(); ++i)
    csv << csv_quote(images[i]) << "," << csv_quote(mask_files[i]) << "\n";
  atomic_write_text(dir / "predictions.csv", csv.str());
}

std::vector<MaskListRow> read_mask_list_csv(const fs::path& csv) {
  if (!fs::exists(csv))
    throw UsageError("no predictions to evaluate: " + csv.string() +
                     " does not exist; run medpipe predict first");
  std::vector<CsvRow> rows = read_csv_file(csv);
  if (rows.empty() || rows[0].fields.size() != 2 || rows[0].fields[1] != "mask")
    throw UsageError(csv.string() + " is not a segmentation predictions file (image,mask)");
  std::vector<MaskListRow> out;
  for (std::size_t r = 1; r < rows.size(); ++r) {
    const auto& f = rows[r].fields;
    if (f.size() != 2)
      throw UsageError(csv.string() + " line " + std::to_string(rows[r].line) + " has " +
                       std::to_string(f.size()) + " columns, the header 2 (image,mask)");
    out.push_back({f[0], f[1], rows[r].line});
  }
  return out;
}

}  // namespace medpipe
