#include "data/masks.h"

#include <cmath>

#include "io/image_io.h"
#include "io/npy.h"
#include "storage/storage.h"

namespace medpipe {

fs::path masks_folder(const std::string& images_labels_bucket, const fs::path& bucket,
                      const std::string& key) {
  std::error_code ec;
  if (!images_labels_bucket.empty()) {
    fs::path dir = resolve_location(images_labels_bucket, key);  // local, file:// or s3://
    if (!fs::is_directory(dir, ec)) {
      throw UsageError("event key '" + key + "': " + dir.string() +
                       " is not a folder; point it at the folder of <image>.npy label arrays");
    }
    return dir;
  }
  if (fs::is_directory(bucket / "masks", ec)) return bucket / "masks";
  throw UsageError("label_style is 'array' but event key '" + key + "' is not set and " +
                   (bucket / "masks").string() +
                   " does not exist; set it to the folder of <image>.npy label arrays");
}

const std::vector<std::string>& mask_extensions() {
  static const std::vector<std::string> extensions = {
      ".npy", ".png", ".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd", ".tif", ".tiff", ".dcm"};
  return extensions;
}

std::optional<fs::path> find_mask(const fs::path& dir, const std::string& name) {
  std::error_code ec;
  for (const std::string& ext : mask_extensions()) {
    fs::path candidate = dir / (name + ext);
    if (fs::is_regular_file(candidate, ec)) return candidate;
  }
  return std::nullopt;
}

namespace {

Result<LabelVolume> label_volume_from_values(const std::vector<double>& values, int depth,
                                             int height, int width) {
  LabelVolume v;
  v.depth = depth;
  v.height = height;
  v.width = width;
  v.labels.resize(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    double x = values[i];
    if (!std::isfinite(x) || x < 0 || x > 255 || x != std::floor(x)) {
      return Result<LabelVolume>::failure(
          "holds the value " + std::to_string(x) +
          "; label arrays hold class indices (whole numbers 0, 1, ...)");
    }
    v.labels[i] = static_cast<std::uint8_t>(x);
  }
  return v;
}

Result<LabelVolume> read_npy_labels(const fs::path& path) {
  Result<NpyArray> array = read_npy(path);
  if (!array) return Result<LabelVolume>::failure(array.error());
  const auto& shape = array.value().shape;
  const std::string kind = array.value().dtype.substr(1);
  if (kind[0] == 'f') {
    return Result<LabelVolume>::failure("has floating-point dtype " + array.value().dtype +
                                        "; save label arrays as integers or bools");
  }
  if (shape.size() == 2)
    return label_volume_from_values(array.value().values, 1, static_cast<int>(shape[0]),
                                    static_cast<int>(shape[1]));
  if (shape.size() == 3)
    return label_volume_from_values(array.value().values, static_cast<int>(shape[0]),
                                    static_cast<int>(shape[1]), static_cast<int>(shape[2]));
  return Result<LabelVolume>::failure("has " + std::to_string(shape.size()) +
                                      " dimensions; a label array is H,W or D,H,W");
}

}  // namespace

Result<LabelVolume> read_label_volume(const fs::path& path) {
  if (full_extension(path) == ".npy") return read_npy_labels(path);
  Result<Image> image = read_image(path);
  if (!image) return Result<LabelVolume>::failure(image.error());
  const Image& im = image.value();
  if (im.channels != 1) {
    return Result<LabelVolume>::failure("has " + std::to_string(im.channels) +
                                        " channels; a mask has one");
  }
  std::vector<double> values(im.pixels.begin(), im.pixels.end());
  Result<LabelVolume> v = label_volume_from_values(values, im.depth, im.height, im.width);
  if (v) {
    v.value().spacing_mm = im.spacing_mm;
    v.value().spacing_known = im.spacing_known;
  }
  return v;
}

std::string check_mask_against_image(const LabelVolume& mask, const fs::path& mask_path,
                                     const Image& image, int num_classes) {
  auto shape = [](int d, int h, int w) {
    return (d > 1 ? std::to_string(d) + " x " : "") + std::to_string(h) + " x " + std::to_string(w);
  };
  if (mask.depth != image.depth || mask.height != image.height || mask.width != image.width) {
    std::string hint = mask.depth > 1 && image.depth == 1
                           ? "a 3D mask for a 2D image"
                           : "the shapes must be equal (rows x columns, slices first)";
    return mask_path.string() + " is " + shape(mask.depth, mask.height, mask.width) +
           " but its image is " + shape(image.depth, image.height, image.width) + ": " + hint;
  }
  int max_label = 0;
  for (std::uint8_t v : mask.labels) max_label = std::max<int>(max_label, v);
  if (num_classes > 0 && max_label >= num_classes) {
    return mask_path.string() + " holds the label " + std::to_string(max_label) +
           " but num_classes is " + std::to_string(num_classes) + " (labels 0.." +
           std::to_string(num_classes - 1) + "); raise num_classes or fix the mask";
  }
  return "";
}

std::vector<Sample> pair_with_masks(std::vector<Sample> images, const fs::path& masks_dir,
                                    const std::string& key) {
  std::vector<Sample> set;
  std::vector<std::string> missing;
  for (auto& sample : images) {
    std::optional<fs::path> mask = find_mask(masks_dir, sample.name);
    if (!mask) {
      missing.push_back(sample.name);
      continue;
    }
    sample.target = MaskTarget{*mask};
    set.push_back(std::move(sample));
  }
  if (!missing.empty()) {
    std::string list;
    for (std::size_t i = 0; i < std::min<std::size_t>(missing.size(), 20); ++i)
      list += (i ? ", " : "") + missing[i];
    if (missing.size() > 20) list += ", ... (" + std::to_string(missing.size() - 20) + " more)";
    throw UsageError(std::to_string(missing.size()) + " image(s) have no label array in " +
                     masks_dir.string() + " (event key '" + key + "'): " + list +
                     "; add <image>.npy (or .png, .nii.gz) for each");
  }
  return set;
}

}  // namespace medpipe
