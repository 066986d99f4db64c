// PNG, JPEG, TIFF, BMP through OpenCV's imgcodecs. 8 or 16 bit, gray or RGB (alpha dropped).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <mutex>
#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "io/formats.h"
#include "io/image_io.h"

namespace medpipe::io_detail {

// OpenCV's own log lines (its internal error dumps) stay out of medpipe's output: the failure
// comes back as a reason instead.
void silence_opencv_once() {
  static std::once_flag once;
  std::call_once(once,
                 [] { cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT); });
}

namespace {

// What the file's own header says, checked before OpenCV decodes it: a PNG's size (IHDR; a small
// file may claim gigapixels), a JPEG's end-of-image marker (a cut file decodes half grey).
std::string header_problem(const fs::path& path, const std::string& ext) {
  std::ifstream in(path, std::ios::binary);
  unsigned char h[26] = {};
  in.read(reinterpret_cast<char*>(h), sizeof h);
  if (ext == ".png" && in.gcount() == sizeof h && std::memcmp(h + 12, "IHDR", 4) == 0) {
    auto be32 = [&](int at) {
      return static_cast<double>((std::uint32_t{h[at]} << 24) | (std::uint32_t{h[at + 1]} << 16) |
                                 (std::uint32_t{h[at + 2]} << 8) | h[at + 3]);
    };
    static const int channels_of_color_type[7] = {1, 0, 3, 1, 2, 0, 4};
    const int channels = h[25] < 7 ? channels_of_color_type[h[25]] : 4;
    return image_size_problem(be32(16), be32(20), 1, std::max(1, channels));
  }
  if (ext == ".jpg" || ext == ".jpeg") {  // the end-of-image marker, maybe followed by padding
    std::error_code ec;
    const auto size = static_cast<std::streamoff>(fs::file_size(path, ec));
    const std::streamoff tail = std::min<std::streamoff>(size, 1024);
    std::string last(static_cast<std::size_t>(tail), '\0');
    in.clear();
    in.seekg(size - tail);
    in.read(last.data(), tail);
    if (ec || last.find("\xFF\xD9") == std::string::npos)
      return "the JPEG file is cut short (no end-of-image marker); it would decode partly grey";
  }
  return "";
}

}  // namespace

Result<Image> read_raster(const fs::path& path) {
  std::error_code ec;
  if (fs::file_size(path, ec) == 0 || ec) {
    return Result<Image>::failure(ec ? "cannot read the file" : "the file is empty (0 bytes)");
  }
  silence_opencv_once();
  if (std::string problem = header_problem(path, full_extension(path)); !problem.empty())
    return Result<Image>::failure(problem);
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
    return Result<Image>::failure("has " + std::to_string(mat.channels()) +
                                  " channels; medpipe reads gray, RGB or RGBA images");
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
