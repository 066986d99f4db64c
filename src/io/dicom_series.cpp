// A DICOM series folder read as one volume: the instances of one SeriesInstanceUID, sorted along
// the slice normal by ImagePositionPatient, the slice spacing taken from the positions.
#include "io/dicom_series.h"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <set>

#include "io/dicom_guard.h"
#include "io/formats.h"
#include "io/image_io.h"

namespace medpipe::io_detail {

namespace {

std::string series_uid_of(const fs::path& path) {
  DcmFileFormat file;
  // 256: element values longer than that (pixel data) stay on disk
  if (!dicom_structure_problem(path).empty() ||
      file.loadFile(path.c_str(), EXS_Unknown, EGL_noChange, 256).bad())
    return "";
  OFString uid;
  file.getDataset()->findAndGetOFString(DCM_SeriesInstanceUID, uid);
  return uid.c_str();
}

struct Slice {
  Image image;
  double position_mm;
  std::string file;
};

double position_along_normal(const Image& image) {
  const auto& d = image.direction;
  return image.origin_mm[0] * d[6] + image.origin_mm[1] * d[7] + image.origin_mm[2] * d[8];
}

// Slice spacing from the sorted positions; failure text when they are not a regular grid.
std::string slice_spacing(const std::vector<Slice>& slices, double& spacing_mm) {
  std::vector<double> steps;
  for (std::size_t i = 1; i < slices.size(); ++i)
    steps.push_back(slices[i].position_mm - slices[i - 1].position_mm);
  if (steps.empty()) return "";
  std::vector<double> sorted = steps;
  std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
  spacing_mm = sorted[sorted.size() / 2];
  for (std::size_t i = 0; i < steps.size(); ++i) {
    if (steps[i] < 1e-6)
      return "two instances share a slice position (" + slices[i].file + ", " + slices[i + 1].file +
             ")";
    if (std::fabs(steps[i] - spacing_mm) > 0.1 * spacing_mm)
      return "slices are unevenly spaced (" + std::to_string(steps[i]) + " mm after " +
             slices[i].file + ", typically " + std::to_string(spacing_mm) +
             " mm): a slice is missing or the folder mixes acquisitions";
  }
  return "";
}

}  // namespace

namespace {

// The folder's DICOM files, sorted; failure when they belong to more than one series (asked of
// their headers, before any pixel is decoded).
Result<std::vector<fs::path>> series_files(const fs::path& dir) {
  using R = Result<std::vector<fs::path>>;
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.is_regular_file() && looks_like_image_file(entry.path()) &&
        guess_image_format(entry.path()) == ImageFormat::kDicom)
      files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  if (files.empty()) return R::failure("the folder holds no DICOM files");
  std::set<std::string> series;
  for (const auto& file : files) series.insert(series_uid_of(file));
  if (series.size() > 1)
    return R::failure("the folder holds " + std::to_string(series.size()) +
                      " series (SeriesInstanceUID); put each series in its own folder");
  return files;
}

// "" when `slice` fits the series begun by `first`: the same size, channels and orientation.
std::string slice_mismatch(const Slice& slice, const Slice& first) {
  const Image &a = slice.image, &b = first.image;
  if (a.width != b.width || a.height != b.height || a.channels != b.channels)
    return slice.file + " has another size or channel count than " + first.file;
  for (int k = 0; k < 6; ++k) {  // the row and column directions (ImageOrientationPatient)
    if (std::fabs(a.direction[k] - b.direction[k]) > 1e-3)
      return "the slices have different orientations (ImageOrientationPatient of " + slice.file +
             " differs from " + first.file +
             "): the folder mixes acquisitions, e.g. a localiser; put each in its own folder";
  }
  return "";
}

}  // namespace

Result<Image> read_dicom_series(const fs::path& dir) {
  Result<std::vector<fs::path>> listed = series_files(dir);
  if (!listed) return Result<Image>::failure(listed.error());
  const std::vector<fs::path>& files = listed.value();
  std::vector<Slice> slices;
  for (const auto& file : files) {
    Result<Image> image = read_dicom(file);
    if (!image) return Result<Image>::failure(file.filename().string() + ": " + image.error());
    if (image.value().depth != 1)
      return Result<Image>::failure(file.filename().string() +
                                    " is multi-frame; a series folder holds one slice per file");
    double position = position_along_normal(image.value());
    slices.push_back({image.take(), position, file.filename().string()});
    const Image& first = slices.front().image;
    if (slices.size() == 1) {  // the whole volume's size, known from its first slice
      const std::string problem = image_size_problem(
          first.width, first.height, static_cast<double>(files.size()), first.channels);
      if (!problem.empty())
        return Result<Image>::failure("the series of " + std::to_string(files.size()) +
                                      " slices: " + problem);
    }
    if (std::string problem = slice_mismatch(slices.back(), slices.front()); !problem.empty())
      return Result<Image>::failure(problem);
  }
  std::sort(slices.begin(), slices.end(),
            [](const Slice& a, const Slice& b) { return a.position_mm < b.position_mm; });
  Image volume = slices.front().image;
  volume.depth = static_cast<int>(slices.size());
  if (slices.size() > 1) {
    double spacing_mm = 1.0;
    std::string problem = slice_spacing(slices, spacing_mm);
    if (!problem.empty()) return Result<Image>::failure(problem);
    volume.spacing_mm[2] = spacing_mm;
  }
  volume.pixels.clear();
  volume.pixels.reserve(slices.front().image.pixels.size() * slices.size());
  for (const auto& s : slices)
    volume.pixels.insert(volume.pixels.end(), s.image.pixels.begin(), s.image.pixels.end());
  return volume;
}

}  // namespace medpipe::io_detail

namespace medpipe {

bool instances_form_a_volume(const std::vector<fs::path>& instances) {
  if (instances.size() < 2) return false;
  std::vector<double> along;
  std::array<double, 6> first{};
  for (std::size_t i = 0; i < instances.size(); ++i) {
    DcmFileFormat file;
    if (!dicom_structure_problem(instances[i]).empty() ||
        file.loadFile(instances[i].c_str(), EXS_Unknown, EGL_noChange, 256).bad())
      return false;
    DcmDataset& ds = *file.getDataset();
    Sint32 frames = 1;
    ds.findAndGetSint32(DCM_NumberOfFrames, frames);
    std::array<double, 6> orientation{};
    std::array<double, 3> position{};
    for (unsigned k = 0; k < 6; ++k)
      if (ds.findAndGetFloat64(DCM_ImageOrientationPatient, orientation[k], k).bad()) return false;
    for (unsigned k = 0; k < 3; ++k)
      if (ds.findAndGetFloat64(DCM_ImagePositionPatient, position[k], k).bad()) return false;
    if (frames > 1) return false;
    if (i == 0) first = orientation;
    for (int k = 0; k < 6; ++k)
      if (std::fabs(orientation[k] - first[k]) > 1e-3) return false;
    const double* o = first.data();  // the normal: row x column direction
    const double n[3] = {o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5],
                         o[0] * o[4] - o[1] * o[3]};
    along.push_back(position[0] * n[0] + position[1] * n[1] + position[2] * n[2]);
  }
  std::sort(along.begin(), along.end());
  for (std::size_t i = 1; i < along.size(); ++i)
    if (along[i] - along[i - 1] < 1e-6) return false;
  return true;
}

}  // namespace medpipe
