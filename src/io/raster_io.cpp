// PNG, JPEG, TIFF, BMP through OpenCV's imgcodecs. 8 or 16 bit, gray or RGB (alpha dropped).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iostream>
#include <mutex>
#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "io/bytes.h"
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

// OpenCV 4.6's imread writes "imread_(...): can't read data: ..." for a damaged file to
// std::cerr itself, past its logger. medpipe writes nothing to std::cerr during a run (its
// lines go through stdio), so while any thread decodes, std::cerr is muted; the failure comes
// back as the reason instead.
class MutedCerr {
 public:
  MutedCerr() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (users_++ == 0) saved_ = std::cerr.rdbuf(&null_);
  }
  ~MutedCerr() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (--users_ == 0) std::cerr.rdbuf(saved_);
  }

 private:
  struct NullBuffer : std::streambuf {
    int overflow(int c) override { return c; }
  };
  static inline std::mutex mutex_;
  static inline int users_ = 0;
  static inline std::streambuf* saved_ = nullptr;
  static inline NullBuffer null_;
};

std::uint32_t be(const std::string& b, std::size_t at, int bytes) {
  return static_cast<std::uint32_t>(unsigned_at(b.data() + at, bytes, false));
}
std::uint32_t le(const std::string& b, std::size_t at, int bytes) {
  return static_cast<std::uint32_t>(unsigned_at(b.data() + at, bytes, true));
}

// A JPEG's size from its first start-of-frame marker; a cut file (no end-of-image marker, maybe
// followed by padding) decodes half grey, so it is refused too.
std::string jpeg_problem(const std::string& head, const std::string& tail) {
  if (tail.find("\xFF\xD9") == std::string::npos)
    return "the JPEG file is cut short (no end-of-image marker); it would decode partly grey";
  for (std::size_t at = 2; at + 9 < head.size();) {
    if (static_cast<unsigned char>(head[at]) != 0xFF) return "";
    const unsigned marker = static_cast<unsigned char>(head[at + 1]);
    if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC)
      return image_size_problem(be(head, at + 7, 2), be(head, at + 5, 2), 1,
                                std::max(1u, static_cast<unsigned char>(head[at + 9]) + 0u));
    at += 2 + be(head, at + 2, 2);
  }
  return "";
}

// A TIFF's first image: width, length and samples from its first directory.
std::string tiff_problem(const std::string& head) {
  const bool little = head[0] == 'I';
  auto num = [&](std::size_t at, int bytes) {
    return little ? le(head, at, bytes) : be(head, at, bytes);
  };
  const std::uint64_t ifd = num(4, 4);
  if (ifd + 2 > head.size()) return "";  // beyond what was read: OpenCV's own limit applies
  double width = 0, height = 0, samples = 1;
  const std::uint32_t entries = num(ifd, 2);
  for (std::uint64_t i = 0; i < entries && ifd + 2 + 12 * (i + 1) <= head.size(); ++i) {
    const std::size_t e = ifd + 2 + 12 * i;
    const std::uint32_t tag = num(e, 2), type = num(e + 2, 2);
    const double value = type == 3 ? num(e + 8, 2) : num(e + 8, 4);
    if (tag == 256) width = value;
    if (tag == 257) height = value;
    if (tag == 277) samples = std::max(1.0, value);
  }
  return image_size_problem(width, height, 1, samples);
}

// What the file's own header says, checked before OpenCV decodes it (a small file may claim
// gigapixels): recognised by its first bytes, whatever its name; what is none of the four
// formats is refused here.
std::string header_problem(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string head(64 * 1024, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(in.gcount()));
  // OpenCV's GDCM decoder claims any file with DICOM's preamble before its JPEG or PNG decoder
  if (head.size() >= 132 && head.compare(128, 4, "DICM") == 0)
    return "a DICOM file (its preamble) in a raster image's place";
  if (head.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0) {
    if (head.size() < 26 || head.compare(12, 4, "IHDR") != 0)
      return "a damaged PNG file (no image header)";
    static const int channels_of_color_type[7] = {1, 0, 3, 1, 2, 0, 4};
    const unsigned color = static_cast<unsigned char>(head[25]);
    const int channels = color < 7 ? channels_of_color_type[color] : 4;
    return image_size_problem(be(head, 16, 4), be(head, 20, 4), 1, std::max(1, channels));
  }
  if (head.size() >= 4 && head.compare(0, 2, "\xFF\xD8") == 0) {
    std::error_code ec;
    const auto size = static_cast<std::streamoff>(fs::file_size(path, ec));
    const std::streamoff tail_bytes = std::min<std::streamoff>(size, 1024);
    std::string tail(static_cast<std::size_t>(tail_bytes), '\0');
    in.clear();
    in.seekg(size - tail_bytes);
    in.read(tail.data(), tail_bytes);
    return jpeg_problem(head, ec ? "" : tail);
  }
  if (head.size() >= 8 &&
      (head.compare(0, 4, "II*\0", 4) == 0 || head.compare(0, 4, "MM\0*", 4) == 0))
    return tiff_problem(head);
  if (head.size() >= 30 && head.compare(0, 2, "BM") == 0) {
    const double height =
        std::fabs(static_cast<double>(static_cast<std::int32_t>(le(head, 22, 4))));
    return image_size_problem(static_cast<std::int32_t>(le(head, 18, 4)), height, 1,
                              std::max(1u, le(head, 28, 2) / 8));
  }
  // Debian's OpenCV would try its other decoders on anything else (GDCM for DICOM, GDAL, and
  // more), in this process and with their own stderr lines: only these four reach it
  return "not a PNG, JPEG, TIFF or BMP file (by its first bytes)";
}

}  // namespace

Result<Image> read_raster(const fs::path& path) {
  std::error_code ec;
  if (fs::file_size(path, ec) == 0 || ec) {
    return Result<Image>::failure(ec ? "cannot read the file" : "the file is empty (0 bytes)");
  }
  silence_opencv_once();
  if (std::string problem = header_problem(path); !problem.empty())
    return Result<Image>::failure(problem);
  cv::Mat mat;
  try {
    MutedCerr muted;
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
