// report/thumbnails.h: small PNG pictures of segmentation cases for the report: the image, the
// ground truth over it and the prediction over it, side by side, as a data: URI.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "core/image.h"

namespace medpipe {

// RFC 4648 base64 of bytes.
std::string base64_encode(const std::vector<unsigned char>& bytes);

// Three panels of at most panel_px a side (never enlarged): image | truth over the image |
// prediction over the image, each class in its own colour. A volume shows three such strips, one
// under the other: the axial, coronal and sagittal planes where the truth has the most voxels
// (else the prediction, else the middle ones), in physical proportions. Gray values are scaled
// between each plane's 1st and 99th percentiles. Returns "data:image/png;base64,...".
std::string overlay_thumbnail(const Image& image, const LabelVolume& truth,
                              const LabelVolume& predicted, int panel_px = 144);

// The image alone (a volume: its middle axial slice), at most panel_px a side, gray values
// scaled as above: "data:image/png;base64,...".
std::string image_thumbnail(const Image& image, int panel_px = 96);

struct CaseThumbnail {
  std::string image;
  double dice = 0;
  std::string png_data_uri;
};

// The `per_end` best and worst cases by Dice, kept while images stream by, so that only the
// cases that may be shown get a thumbnail drawn.
class CaseGallery {
 public:
  explicit CaseGallery(std::size_t per_end = 3) : per_end_(per_end) {}
  bool wants(double dice) const;  // would a case with this Dice be kept now?
  void add(CaseThumbnail thumbnail);
  std::vector<CaseThumbnail> best() const;   // highest Dice first
  std::vector<CaseThumbnail> worst() const;  // lowest Dice first
  bool empty() const { return cases_.empty(); }

 private:
  std::size_t per_end_;
  std::vector<CaseThumbnail> cases_;  // by increasing Dice, at most 2 x per_end_
};

}  // namespace medpipe
