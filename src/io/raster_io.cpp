// PNG, JPEG, TIFF, BMP through OpenCV's imgcodecs. 8 or 16 bit, gray or RGB (alpha dropped).
#include <algorithm>
#include <cmath>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "io/formats.h"

namespace medpipe::io_detail {

Result<Image> read_raster(const fs::path& path) {
  std::error_code ec;
  if (fs::file_size(path, ec) == 0 || ec) {
    return Result<Image>::failure(ec ? "cannot read the file" : "the file is empty (0 bytes)");
  }
  cv::Mat mat;
  try {
    mat = cv::imread(path.string(), cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception&) {
    mat = cv::Mat();
  }
  if (mat.empty()) return Result<Image>::failure("not a decodable PNG/JPEG/TIFF image");
  if (mat.dims != 2) return Result<Image>::failure("multi-page or N-d rasters are not supported");
  if (mat.channels() == 4)
    cv::cvtColor(mat, mat, cv::COLOR_BGRA2RGB);
  else if (mat.channels() == 3)
    cv::cvtColor(mat, mat, cv::COLOR_BGR2RGB);
  else if (mat.channels() != 1)
    return Result<Image>::failure("unsupported channel count");
  Image image;
  std::string ext = full_extension(path);
  image.source_format = ext == ".png"                       ? "png"
                        : (ext == ".tif" || ext == ".tiff") ? "tiff"
                        : (ext == ".bmp")                   ? "bmp"
                                                            : "jpeg";
  image.height = mat.rows;
  image.width = mat.cols;
  image.channels = mat.channels();
  image.bits_stored = mat.depth() == CV_8U ? 8 : mat.depth() == CV_16U ? 16 : 32;
  cv::Mat as_float;
  mat.convertTo(as_float, CV_MAKETYPE(CV_32F, mat.channels()));
  image.pixels.assign(as_float.ptr<float>(), as_float.ptr<float>() + image.value_count());
  if (!as_float.isContinuous()) {
    image.pixels.clear();
    for (int r = 0; r < as_float.rows; ++r) {
      const float* row = as_float.ptr<float>(r);
      image.pixels.insert(image.pixels.end(), row, row + as_float.cols * image.channels);
    }
  }
  return image;
}

void write_png(const fs::path& path, const Image& image) {
  if (image.depth != 1)
    throw UsageError("cannot write " + path.string() +
                     ": PNG holds 2D images; write .npy or .nii.gz for a volume");
  if (image.channels != 1 && image.channels != 3) {
    throw UsageError("cannot write " + path.string() + ": PNG needs 1 or 3 channels");
  }
  auto [lo, hi] = std::minmax_element(image.pixels.begin(), image.pixels.end());
  bool fits8 = *lo >= 0 && *hi <= 255;
  bool fits16 = *lo >= 0 && *hi <= 65535;
  bool integral = std::all_of(image.pixels.begin(), image.pixels.end(),
                              [](float v) { return v == std::floor(v); });
  cv::Mat src(image.height, image.width, CV_MAKETYPE(CV_32F, image.channels),
              const_cast<float*>(image.pixels.data()));
  cv::Mat out;
  if (integral && fits8) {
    src.convertTo(out, CV_MAKETYPE(CV_8U, image.channels));
  } else if (integral && fits16) {
    src.convertTo(out, CV_MAKETYPE(CV_16U, image.channels));
  } else {  // scale the value range to 16 bits
    double range = *hi > *lo ? *hi - *lo : 1.0;
    src.convertTo(out, CV_MAKETYPE(CV_16U, image.channels), 65535.0 / range,
                  -*lo * 65535.0 / range);
  }
  if (image.channels == 3) cv::cvtColor(out, out, cv::COLOR_RGB2BGR);
  atomic_write(path, [&](const fs::path& temp) {
    std::vector<unsigned char> bytes;
    if (!cv::imencode(".png", out, bytes)) throw RunError("cannot encode PNG " + path.string());
    FILE* f = std::fopen(temp.c_str(), "wb");
    if (!f) throw RunError("cannot write " + temp.string());
    std::size_t written = std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
    if (written != bytes.size()) throw RunError("cannot write " + path.string() + ": disk full?");
  });
}

}  // namespace medpipe::io_detail
