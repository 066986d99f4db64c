#include "preprocess/segmentation_set.h"

#include <gtest/gtest.h>

#include <variant>

#include "io/image_io.h"

namespace medpipe {
namespace {

// A 2-channel 5x6 slice whose pixel values encode their position; labels likewise.
SegmentationVolume coded_volume() {
  SegmentationVolume v;
  v.height = 5, v.width = 6;
  v.pixels.resize(2 * 30);
  v.labels.resize(30);
  for (int i = 0; i < 30; ++i) {
    v.pixels[i] = static_cast<float>(i);
    v.pixels[30 + i] = static_cast<float>(100 + i);
    v.labels[i] = static_cast<std::uint8_t>(i);
  }
  return v;
}

TEST(SegmentationSet, PatchesMoveImageAndMaskAlike) {
  SegmentationVolume v = coded_volume();
  for (unsigned seed = 0; seed < 50; ++seed) {
    std::mt19937 rng(seed);
    const int p = 4;
    std::vector<float> image(2 * p * p);
    std::vector<std::uint8_t> labels(p * p);
    sample_patch(v, 0, 2, p, true, rng, image.data(), labels.data());
    for (int i = 0; i < p * p; ++i) {
      // every pixel still carries its own label, in both channels
      EXPECT_EQ(image[i], static_cast<float>(labels[i])) << seed;
      EXPECT_EQ(image[p * p + i], 100.0f + labels[i]) << seed;
    }
  }
}

TEST(SegmentationSet, SmallSlicesArePaddedWithIgnoredLabels) {
  SegmentationVolume v = coded_volume();
  std::mt19937 rng(1);
  const int p = 8;
  std::vector<float> image(2 * p * p);
  std::vector<std::uint8_t> labels(p * p);
  sample_patch(v, 0, 2, p, false, rng, image.data(), labels.data());
  int ignored = 0;
  for (auto l : labels) ignored += l == kIgnoreLabel;
  EXPECT_EQ(ignored, p * p - 30);
}

TEST(SegmentationSet, VolumeNormalisedAsAWhole) {
  Image im;
  im.depth = 2, im.height = 1, im.width = 2;
  im.pixels = {0, 2, 4, 6};  // mean 3, std sqrt(5)
  auto out = normalize_volume(im, SegmentationSpec{});
  ASSERT_TRUE(out.ok());
  EXPECT_NEAR(out.value()[0], -3 / std::sqrt(5.0), 1e-6);
  EXPECT_NEAR(out.value()[3], 3 / std::sqrt(5.0), 1e-6);
}

// An exception in one of the reader threads reaches the caller (the run's error path), instead
// of ending the process with std::terminate.
TEST(SegmentationSet, ReaderThreadExceptionReachesTheCaller) {
  fs::path dir = fs::temp_directory_path() / "medpipe_segset_throw";
  fs::create_directories(dir);
  Image im;
  im.height = im.width = 4;
  im.pixels.assign(16, 1.0f);
  write_image(dir / "a.png", im);
  std::vector<Sample> samples;
  for (int i = 0; i < 6; ++i) samples.push_back({"a" + std::to_string(i), dir / "a.png", {}});
  // no MaskTarget: asking for the mask throws inside a worker
  EXPECT_THROW(SegmentationSet::build(samples, SegmentationSpec{}, 2, 3, "test"),
               std::bad_variant_access);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace medpipe
