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

// A 1-channel 20 x 24 x 28 volume whose voxels encode their position, one foreground voxel.
SegmentationVolume coded_3d_volume(std::size_t foreground_at) {
  SegmentationVolume v;
  v.depth = 20, v.height = 24, v.width = 28;
  const std::size_t n = 20 * 24 * 28;
  v.pixels.resize(n);
  v.labels.assign(n, 0);
  for (std::size_t i = 0; i < n; ++i) v.pixels[i] = static_cast<float>(i);
  v.labels[foreground_at] = 1;
  v.foreground = {static_cast<std::uint32_t>(foreground_at)};
  return v;
}

// 3D patches: augmented or not, each voxel's value names the voxel its label came from; a patch
// asked for foreground holds the volume's one foreground voxel, a random one seldom does.
TEST(SegmentationSet, ThreeDimensionalPatchesOversampleForeground) {
  const std::size_t at = (5 * 24 + 17) * 28 + 3;  // z 5, y 17, x 3: near an edge
  const SegmentationVolume v = coded_3d_volume(at);
  const int p = 8, pd = 6, n = pd * p * p;
  int random_hits = 0;
  for (unsigned seed = 0; seed < 200; ++seed) {
    for (bool foreground : {true, false}) {
      std::mt19937 rng(seed);
      std::vector<float> image(n);
      std::vector<std::uint8_t> labels(n);
      sample_patch_3d(v, 1, p, pd, foreground, true, rng, image.data(), labels.data());
      int hits = 0;
      for (int i = 0; i < n; ++i) {
        ASSERT_EQ(labels[i], image[i] == static_cast<float>(at) ? 1 : 0) << seed;
        hits += labels[i];
      }
      if (foreground) EXPECT_EQ(hits, 1) << seed;
      if (!foreground) random_hits += hits;
    }
  }
  EXPECT_LT(random_hits, 40);  // a patch covers 384 of 13,440 voxels: ~6 of 200
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
