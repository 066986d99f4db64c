#include "report/thumbnails.h"

#include <gtest/gtest.h>

#include <utility>

namespace medpipe {
namespace {

TEST(Thumbnails, Base64MatchesRfc4648Vectors) {
  auto b64 = [](const std::string& s) {
    return base64_encode(std::vector<unsigned char>(s.begin(), s.end()));
  };
  EXPECT_EQ(b64(""), "");
  EXPECT_EQ(b64("f"), "Zg==");
  EXPECT_EQ(b64("fo"), "Zm8=");
  EXPECT_EQ(b64("foo"), "Zm9v");
  EXPECT_EQ(b64("foob"), "Zm9vYg==");
  EXPECT_EQ(b64("fooba"), "Zm9vYmE=");
  EXPECT_EQ(b64("foobar"), "Zm9vYmFy");
}

TEST(Thumbnails, GalleryKeepsTheBestAndWorst) {
  CaseGallery gallery(2);
  for (double dice : {0.5, 0.9, 0.1, 0.7, 0.3, 0.95, 0.05})
    gallery.add({std::to_string(dice), dice, ""});
  auto best = gallery.best(), worst = gallery.worst();
  ASSERT_EQ(best.size(), 2u);
  ASSERT_EQ(worst.size(), 2u);
  EXPECT_EQ(best[0].dice, 0.95);
  EXPECT_EQ(best[1].dice, 0.9);
  EXPECT_EQ(worst[0].dice, 0.05);
  EXPECT_EQ(worst[1].dice, 0.1);
  EXPECT_FALSE(gallery.wants(0.5));  // neither among the best nor the worst now
  EXPECT_TRUE(gallery.wants(0.01));
}

TEST(Thumbnails, FewCasesAreNotShownTwice) {
  CaseGallery gallery(3);
  for (double dice : {0.2, 0.8, 0.5}) gallery.add({"", dice, ""});
  EXPECT_EQ(gallery.best().size() + gallery.worst().size(), 3u);
}

TEST(Thumbnails, OverlayIsAPngDataUriOfThreePanels) {
  Image image;
  image.height = 32;
  image.width = 48;
  image.pixels.resize(32 * 48);
  for (std::size_t i = 0; i < image.pixels.size(); ++i)
    image.pixels[i] = static_cast<float>(i % 48);
  LabelVolume truth{1, 32, 48, std::vector<std::uint8_t>(32 * 48, 0)}, predicted = truth;
  truth.labels[10 * 48 + 10] = 1;
  predicted.labels[11 * 48 + 10] = 1;
  std::string uri = overlay_thumbnail(image, truth, predicted, 96);
  ASSERT_EQ(uri.rfind("data:image/png;base64,", 0), 0u);
  // the PNG signature, base64-encoded
  EXPECT_EQ(uri.substr(22, 8), "iVBORw0K");
}

// The width and height of a PNG data: URI, from its IHDR chunk (bytes 16-23).
std::pair<int, int> png_size(const std::string& uri) {
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::vector<unsigned char> bytes;
  const std::string b64 = uri.substr(22, 32);
  for (std::size_t i = 0; i < b64.size(); i += 4) {
    unsigned v = 0;
    for (int k = 0; k < 4; ++k) v = (v << 6) | static_cast<unsigned>(alphabet.find(b64[i + k]));
    for (int k = 2; k >= 0; --k) bytes.push_back(static_cast<unsigned char>(v >> (8 * k)));
  }
  auto be32 = [&](int at) {
    return (bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3];
  };
  return {be32(16), be32(20)};
}

// A volume of 20 slices of 30 x 40 at 1 x 1 x 3 mm: axial (30 x 40), coronal (60 x 40: a slice is
// drawn 3 pixels tall) and sagittal (60 x 30) strips of three panels, with 2-pixel gaps.
TEST(Thumbnails, AVolumeShowsThreeOrthogonalStripsInPhysicalProportions) {
  Image image;
  image.depth = 20;
  image.height = 30;
  image.width = 40;
  image.spacing_mm = {1, 1, 3};
  image.spacing_known = true;
  image.pixels.resize(image.voxel_count());
  for (std::size_t i = 0; i < image.pixels.size(); ++i)
    image.pixels[i] = static_cast<float>(i % 97);
  LabelVolume truth{20, 30, 40, std::vector<std::uint8_t>(image.voxel_count(), 0)};
  LabelVolume predicted = truth;
  truth.labels[(5 * 30 + 10) * 40 + 12] = 1;
  const auto [width, height] = png_size(overlay_thumbnail(image, truth, predicted, 96));
  EXPECT_EQ(width, 3 * 40 + 2 * 2);
  EXPECT_EQ(height, 30 + 2 + 60 + 2 + 60);
}

}  // namespace
}  // namespace medpipe
