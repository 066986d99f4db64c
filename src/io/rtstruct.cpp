#include "io/rtstruct.h"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcitem.h>
#include <dcmtk/dcmdata/dcsequen.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>

#include "io/dicom_guard.h"
#include "io/image_io.h"

namespace medpipe {

namespace {

using Polygon = std::vector<std::array<double, 2>>;  // (column, row) in voxel indices

bool load(const fs::path& path, DcmFileFormat& file) {
  return dicom_structure_problem(path).empty() && file.loadFile(path.c_str()).good();
}

struct Roi {
  long number;
  std::string name;
};

std::vector<Roi> list_rois(DcmDataset* ds) {
  std::vector<Roi> out;
  DcmSequenceOfItems* rois = nullptr;
  if (ds->findAndGetSequence(DCM_StructureSetROISequence, rois).bad() || !rois) return out;
  for (unsigned long k = 0; k < rois->card(); ++k) {
    DcmItem* item = rois->getItem(k);
    Sint32 number = 0;
    OFString name;
    item->findAndGetSint32(DCM_ROINumber, number);
    item->findAndGetOFString(DCM_ROIName, name);
    out.push_back({number, name.c_str()});
  }
  return out;
}

// Fills the pixels of one slice whose centres lie inside the polygons (even-odd rule).
void fill_slice(const std::vector<Polygon>& polygons, Image& mask, int z) {
  std::vector<double> crossings;
  for (int row = 0; row < mask.height; ++row) {
    crossings.clear();
    for (const auto& polygon : polygons) {
      for (std::size_t k = 0; k < polygon.size(); ++k) {
        const auto& p = polygon[k];
        const auto& q = polygon[(k + 1) % polygon.size()];
        if ((p[1] <= row) == (q[1] <= row)) continue;
        crossings.push_back(p[0] + (row - p[1]) * (q[0] - p[0]) / (q[1] - p[1]));
      }
    }
    std::sort(crossings.begin(), crossings.end());
    for (std::size_t k = 0; k + 1 < crossings.size(); k += 2) {
      // clamped to the row before the conversion: a contour far off the image stays in range
      const double width = mask.width;
      int first = static_cast<int>(std::ceil(std::clamp(crossings[k], 0.0, width)));
      int last = static_cast<int>(std::ceil(std::clamp(crossings[k + 1], 0.0, width))) - 1;
      for (int col = first; col <= last; ++col) {
        float& v = mask.at(z, row, col, 0);
        v = 1.0f - v;  // even-odd across overlapping runs
      }
    }
  }
}

std::string join(const std::vector<Roi>& rois) {
  std::string out;
  for (const auto& r : rois) out += (out.empty() ? "'" : ", '") + r.name + "'";
  return out;
}

// One contour's points as (column, row) voxel coordinates of `reference`, and its slice index:
// index = D^T (p - origin) / spacing, with D's columns the image axes.
Polygon contour_in_voxels(DcmItem* contour, const Image& reference, double& slice_index) {
  Polygon polygon;
  DcmElement* data = nullptr;
  if (contour->findAndGetElement(DCM_ContourData, data).bad()) return polygon;
  const unsigned long values = data->getVM();
  for (unsigned long v = 0; v + 2 < values; v += 3) {
    double p[3];
    for (int a = 0; a < 3; ++a) contour->findAndGetFloat64(DCM_ContourData, p[a], v + a);
    double ijk[3];
    for (int axis = 0; axis < 3; ++axis) {
      double dot = 0;
      for (int a = 0; a < 3; ++a) {
        dot += reference.direction[axis * 3 + a] * (p[a] - reference.origin_mm[a]);
      }
      ijk[axis] = dot / reference.spacing_mm[axis];
    }
    if (!std::isfinite(ijk[0]) || !std::isfinite(ijk[1]) || !std::isfinite(ijk[2]))
      return {};  // a point that is not a number: the contour is not used
    polygon.push_back({ijk[0], ijk[1]});
    slice_index = ijk[2];
  }
  return polygon;
}

// The chosen ROI's contours in voxel coordinates, grouped by slice; contours off the slice
// planes (or beyond the image) are counted in `off_plane`.
std::map<int, std::vector<Polygon>> contours_by_slice(DcmDataset* ds, long roi_number,
                                                      const Image& reference, int& off_plane) {
  std::map<int, std::vector<Polygon>> by_slice;
  DcmSequenceOfItems* contours_by_roi = nullptr;
  ds->findAndGetSequence(DCM_ROIContourSequence, contours_by_roi);
  for (unsigned long k = 0; contours_by_roi && k < contours_by_roi->card(); ++k) {
    DcmItem* item = contours_by_roi->getItem(k);
    Sint32 number = -1;
    item->findAndGetSint32(DCM_ReferencedROINumber, number);
    DcmSequenceOfItems* contours = nullptr;
    if (number != roi_number || item->findAndGetSequence(DCM_ContourSequence, contours).bad() ||
        !contours) {
      continue;
    }
    for (unsigned long c = 0; c < contours->card(); ++c) {
      double slice_index = 0;
      Polygon polygon = contour_in_voxels(contours->getItem(c), reference, slice_index);
      const bool on_image = polygon.empty() || (slice_index > -1 && slice_index < reference.depth);
      const int slice = on_image ? static_cast<int>(std::lround(slice_index)) : -1;
      if (!on_image || std::abs(slice_index - slice) > 0.25 || slice < 0 ||
          slice >= reference.depth) {
        ++off_plane;
      } else if (polygon.size() >= 3) {
        by_slice[slice].push_back(std::move(polygon));
      }
    }
  }
  return by_slice;
}

}  // namespace

bool is_rtstruct(const fs::path& path) {
  if (fs::is_directory(path) || guess_image_format(path) != ImageFormat::kDicom) return false;
  DcmFileFormat file;
  if (!load(path, file)) return false;
  OFString modality;
  file.getDataset()->findAndGetOFString(DCM_Modality, modality);
  return modality == "RTSTRUCT";
}

Result<Image> rasterise_rtstruct(const fs::path& path, const Image& reference,
                                 const std::string& roi_name) {
  using R = Result<Image>;
  DcmFileFormat file;
  if (!load(path, file)) return R::failure("not a readable DICOM file");
  DcmDataset* ds = file.getDataset();
  std::vector<Roi> rois = list_rois(ds);
  if (rois.empty()) return R::failure("the structure set lists no ROI");
  const Roi* chosen = nullptr;
  for (const auto& r : rois) {
    if (r.name == roi_name || (roi_name.empty() && rois.size() == 1)) chosen = &r;
  }
  if (!chosen) {
    return R::failure(
        (roi_name.empty() ? std::string("the structure set has several ROIs")
                          : "no ROI named '" + roi_name + "'") +
        "; choose one (features: the roi_name setting; convert: --roi): " + join(rois));
  }
  int off_plane = 0;
  auto by_slice = contours_by_slice(ds, chosen->number, reference, off_plane);
  if (by_slice.empty()) {
    return R::failure("ROI '" + chosen->name + "' has no contour on the image's slices" +
                      (off_plane ? " (" + std::to_string(off_plane) +
                                       " contours lie between or beyond them: is this the image "
                                       "the structure set was drawn on?)"
                                 : ""));
  }
  Image mask;
  mask.width = reference.width;
  mask.height = reference.height;
  mask.depth = reference.depth;
  mask.spacing_mm = reference.spacing_mm;
  mask.spacing_known = reference.spacing_known;
  mask.origin_mm = reference.origin_mm;
  mask.direction = reference.direction;
  mask.source_format = "rtstruct";
  mask.pixels.assign(mask.voxel_count(), 0.0f);
  for (const auto& [slice, polygons] : by_slice) fill_slice(polygons, mask, slice);
  return mask;
}

}  // namespace medpipe
