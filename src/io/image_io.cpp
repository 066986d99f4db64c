#include "io/image_io.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "io/formats.h"
#include "io/npy.h"

namespace medpipe {

ImageFormat guess_image_format(const fs::path& path) {
  std::string ext = full_extension(path);
  if (ext == ".dcm" || ext == ".dicom" || ext == ".ima" || ext.empty()) return ImageFormat::kDicom;
  if (ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".tif" || ext == ".tiff" ||
      ext == ".bmp") {
    return ImageFormat::kRaster;
  }
  if (ext == ".nii" || ext == ".nii.gz") return ImageFormat::kNifti;
  if (ext == ".nrrd" || ext == ".nhdr") return ImageFormat::kNrrd;
  if (ext == ".mha" || ext == ".mhd") return ImageFormat::kMetaImage;
  if (ext == ".npy") return ImageFormat::kNpy;
  // DICOM is known by its preamble, whatever the name: PACS exports name files by UID
  // ("1.2.840.113619.2.55.3.123") and other tools write ".seg" and the like
  return has_dicom_preamble(path) ? ImageFormat::kDicom : ImageFormat::kUnknown;
}

bool has_dicom_preamble(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  char head[132];
  return in.read(head, sizeof head) && std::memcmp(head + 128, "DICM", 4) == 0;
}

std::string image_name(const fs::path& path) {
  const std::string ext = full_extension(path);
  // "1.2.840.113619.2.55.3.123" is a UID, not a name with the extension ".123"
  const bool uid_like =
      ext.size() > 1 && ext.find_first_not_of("0123456789", 1) == std::string::npos;
  return uid_like && guess_image_format(path) == ImageFormat::kDicom ? path.filename().string()
                                                                     : stem_name(path);
}

bool looks_like_image_file(const fs::path& path) {
  std::string name = path.filename().string();
  if (name.empty() || name[0] == '.') return false;
  if (name.find(".tmp.") != std::string::npos) return false;  // our own temp files
  // a media directory (every CD or DVD export has one) indexes the images; it is not one
  std::string upper = name;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  if (upper == "DICOMDIR") return false;
  ImageFormat format = guess_image_format(path);
  return format != ImageFormat::kUnknown && format != ImageFormat::kNpy;
}

namespace {
Result<Image> read_npy_image(const fs::path& path) {
  Result<NpyArray> array = read_npy(path);
  if (!array) return Result<Image>::failure(array.error());
  const auto& shape = array.value().shape;
  Image image;
  image.source_format = "npy";
  if (shape.size() == 2) {
    image.height = static_cast<int>(shape[0]);
    image.width = static_cast<int>(shape[1]);
  } else if (shape.size() == 3) {
    bool channels_last = shape[2] == 3 || shape[2] == 1;
    image.depth = channels_last ? 1 : static_cast<int>(shape[0]);
    image.height = static_cast<int>(channels_last ? shape[0] : shape[1]);
    image.width = static_cast<int>(channels_last ? shape[1] : shape[2]);
    image.channels = channels_last ? static_cast<int>(shape[2]) : 1;
  } else {
    return Result<Image>::failure("a .npy image must be H,W or D,H,W or H,W,C");
  }
  image.pixels.assign(array.value().values.begin(), array.value().values.end());
  return image;
}
}  // namespace

namespace {
std::atomic<double> max_values{1073741824.0};
}  // namespace

void set_max_image_pixels(double values) {
  max_values = values;
  // OpenCV's own limit on what it decodes (read at its first use): the same number
  const std::string text = std::to_string(static_cast<unsigned long long>(values));
  ::setenv("OPENCV_IO_MAX_IMAGE_PIXELS", text.c_str(), 1);
}

double max_image_pixels() {
  return max_values;
}

std::string image_size_problem(double width, double height, double depth, double channels) {
  const double values = width * height * std::max(1.0, depth) * std::max(1.0, channels);
  if (width >= 1 && height >= 1 && values <= max_values) return "";
  char text[160];
  std::snprintf(text, sizeof text,
                "its header claims %.0f x %.0f x %.0f x %.0f values, %s max_image_pixels (%.0f)",
                width, height, depth, channels, values > max_values ? "more than" : "not within",
                max_values.load());
  return std::string(text) + "; a damaged file, or raise max_image_pixels";
}

namespace {

// No NaN or infinity, without an early exit so that the loop vectorises.
__attribute__((target_clones("avx512f", "avx2", "default"))) bool all_finite(const float* v,
                                                                             std::size_t n) {
  unsigned not_finite = 0;
  for (std::size_t i = 0; i < n; ++i)
    not_finite |= !(std::fabs(v[i]) <= std::numeric_limits<float>::max());
  return not_finite == 0;
}

}  // namespace

Result<Image> read_image(const fs::path& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return io_detail::read_dicom_series(path);
  if (!fs::is_regular_file(path, ec)) return Result<Image>::failure("no such file");
  if (fs::file_size(path, ec) == 0) return Result<Image>::failure("the file is empty (0 bytes)");
  Result<Image> result = Result<Image>::failure("unsupported file type " + full_extension(path));
  switch (guess_image_format(path)) {
    case ImageFormat::kDicom:
      result = io_detail::read_dicom(path);
      break;
    case ImageFormat::kRaster:
      result = io_detail::read_raster(path);
      break;
    case ImageFormat::kNifti:
      result = io_detail::read_nifti(path);
      break;
    case ImageFormat::kNrrd:
      result = io_detail::read_nrrd(path);
      break;
    case ImageFormat::kMetaImage:
      result = io_detail::read_metaimage(path);
      break;
    case ImageFormat::kNpy:
      result = read_npy_image(path);
      break;
    case ImageFormat::kUnknown:
      break;
  }
  if (result.ok()) {
    const Image& image = result.value();
    if (image.width <= 0 || image.height <= 0 || image.pixels.size() != image.value_count()) {
      return Result<Image>::failure("the decoded image has no pixels");
    }
    if (!all_finite(image.pixels.data(), image.pixels.size())) {
      return Result<Image>::failure("the image holds NaN or infinite values");
    }
  }
  return result;
}

std::unique_ptr<ImageRows> open_image_rows(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec) || guess_image_format(path) != ImageFormat::kDicom)
    return nullptr;
  return io_detail::open_dicom_rows(path);
}

void write_image(const fs::path& path, const Image& image) {
  std::string ext = full_extension(path);
  if (ext == ".npy") {
    std::vector<std::int64_t> shape;
    if (image.depth > 1) shape.push_back(image.depth);
    shape.push_back(image.height);
    shape.push_back(image.width);
    if (image.channels > 1) shape.push_back(image.channels);
    write_npy_f32(path, shape, image.pixels.data());
  } else if (ext == ".png") {
    io_detail::write_png(path, image);
  } else if (ext == ".nii" || ext == ".nii.gz") {
    io_detail::write_nifti(path, image);
  } else if (ext == ".nrrd" || ext == ".nhdr") {
    io_detail::write_nrrd(path, image);
  } else if (ext == ".mha" || ext == ".mhd") {
    io_detail::write_metaimage(path, image);
  } else {
    throw UsageError("cannot write " + path.string() + ": unknown output type '" + ext +
                     "'; use .npy, .png, .nii, .nii.gz, .nrrd, .nhdr, .mha or .mhd");
  }
}

nlohmann::json image_info(const Image& image) {
  double lo = 0, hi = 0, sum = 0;
  if (!image.pixels.empty()) {
    auto [mn, mx] = std::minmax_element(image.pixels.begin(), image.pixels.end());
    lo = *mn;
    hi = *mx;
    for (float v : image.pixels) sum += v;
  }
  std::vector<int> shape;
  if (image.depth > 1) shape.push_back(image.depth);
  shape.push_back(image.height);
  shape.push_back(image.width);
  if (image.channels > 1) shape.push_back(image.channels);
  return {{"format", image.source_format},
          {"shape", shape},
          {"depth", image.depth},
          {"height", image.height},
          {"width", image.width},
          {"channels", image.channels},
          {"bits_stored", image.bits_stored},
          {"spacing_mm", image.spacing_mm},
          {"spacing_known", image.spacing_known},
          {"origin_mm", image.origin_mm},
          {"direction", image.direction},
          {"min", lo},
          {"max", hi},
          {"mean", image.pixels.empty() ? 0.0 : sum / static_cast<double>(image.pixels.size())}};
}

}  // namespace medpipe
