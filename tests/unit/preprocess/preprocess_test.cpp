#include "preprocess/preprocess.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <opencv2/imgproc.hpp>
#include <random>

#include "io/dicom_writer.h"
#include "io/image_io.h"
#include "preprocess/augment.h"

namespace medpipe {
namespace {

Image gray(int h, int w, std::vector<float> pixels) {
  Image image;
  image.height = h;
  image.width = w;
  image.pixels = std::move(pixels);
  return image;
}

TEST(Preprocess, RgbToGrayIsLuma) {
  Image rgb;
  rgb.height = rgb.width = 1;
  rgb.channels = 3;
  rgb.pixels = {100, 200, 50};
  Image g = convert_channels(rgb, 1);
  EXPECT_NEAR(g.pixels[0], 0.299 * 100 + 0.587 * 200 + 0.114 * 50, 1e-3);
  Image back = convert_channels(g, 3);
  EXPECT_EQ(back.pixels[0], back.pixels[2]);
}

TEST(Preprocess, ZscoreHasZeroMeanUnitStd) {
  PreprocessSpec spec{1, 4, "stretch", "zscore"};
  std::vector<float> px(16);
  std::iota(px.begin(), px.end(), 0.0f);
  auto out = preprocess_image(gray(4, 4, px), spec);
  ASSERT_TRUE(out.ok());
  double mean = std::accumulate(out.value().begin(), out.value().end(), 0.0) / 16;
  double var = 0;
  for (float v : out.value()) var += (v - mean) * (v - mean);
  EXPECT_NEAR(mean, 0.0, 1e-6);
  EXPECT_NEAR(var / 16, 1.0, 1e-5);
}

TEST(Preprocess, CtWindowClipsToZeroOne) {
  PreprocessSpec spec{1, 2, "stretch", "ct", 40, 400};
  auto out = preprocess_image(gray(2, 2, {-1000, -160, 240, 3000}), spec);
  ASSERT_TRUE(out.ok());
  EXPECT_FLOAT_EQ(out.value()[0], 0.0f);
  EXPECT_FLOAT_EQ(out.value()[1], 0.0f);
  EXPECT_FLOAT_EQ(out.value()[2], 1.0f);
  EXPECT_FLOAT_EQ(out.value()[3], 1.0f);
}

TEST(Preprocess, PadKeepsAspectAndCentres) {
  Image wide = gray(2, 4, {1, 1, 1, 1, 1, 1, 1, 1});
  Image out = resize_image(wide, 4, "pad");
  EXPECT_EQ(out.height, 4);
  // rows 0 and 3 are padding (the minimum, 1 here), rows 1-2 the image
  for (float v : out.pixels) EXPECT_FLOAT_EQ(v, 1.0f);
  Image stretched = resize_image(wide, 4, "stretch");
  EXPECT_EQ(stretched.width, 4);
  EXPECT_EQ(stretched.height, 4);
}

// The separable area resize against OpenCV's INTER_AREA (what it replaced) on random images:
// non-integer and integer factors, one and three channels, unequal axes.
TEST(Preprocess, AreaResizeMatchesOpenCvInterArea) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> value(-1000.0f, 3000.0f);
  struct Case {
    int h, w, c, size;
  };
  for (const Case& k : {Case{512, 512, 1, 224}, Case{300, 200, 1, 64}, Case{100, 100, 3, 37},
                        Case{64, 64, 1, 32}, Case{229, 401, 3, 224}, Case{97, 97, 1, 96}}) {
    Image image;
    image.height = k.h;
    image.width = k.w;
    image.channels = k.c;
    image.pixels.resize(image.value_count());
    for (float& v : image.pixels) v = value(rng);
    Image ours = resize_image(image, k.size, "stretch");
    cv::Mat src(k.h, k.w, CV_MAKETYPE(CV_32F, k.c), image.pixels.data()), ref;
    cv::resize(src, ref, cv::Size(k.size, k.size), 0, 0, cv::INTER_AREA);
    ASSERT_EQ(ours.pixels.size(), ref.total() * k.c);
    double worst = 0;
    for (std::size_t i = 0; i < ours.pixels.size(); ++i)
      worst = std::max(worst, std::fabs(double(ours.pixels[i]) - ref.ptr<float>()[i]));
    EXPECT_LT(worst, 2e-3) << k.h << "x" << k.w << "x" << k.c << " -> " << k.size;  // of 4000
  }
}

TEST(Preprocess, VolumesAreRefusedWithAReason) {
  Image volume = gray(2, 2, std::vector<float>(8, 0));
  volume.depth = 2;
  auto out = preprocess_image(volume, PreprocessSpec{});
  EXPECT_FALSE(out.ok());
  EXPECT_NE(out.error().find("volume"), std::string::npos);
}

// A gray DICOM slice streamed through the resize a strip of rows at a time gives exactly what
// the whole image read and then preprocessed gives, for every size and mode, a whole and a
// fractional rescale; a cut file fails as read_image fails.
TEST(Preprocess, StreamedDicomRowsEqualTheWholeImage) {
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> hu(-1000, 3000);
  const fs::path dir = fs::temp_directory_path() / "medpipe_preprocess_rows";
  fs::create_directories(dir);
  struct Case {
    int h, w;
    double slope, intercept;
  };
  for (const Case& k :
       {Case{300, 260, 1.0, -1024.0}, Case{128, 128, 0.5, -1000.0}, Case{97, 411, 1.0, 0.0}}) {
    Image image = gray(k.h, k.w, std::vector<float>(static_cast<std::size_t>(k.h) * k.w));
    for (float& v : image.pixels) v = static_cast<float>(hu(rng) * k.slope);
    const fs::path file = dir / "slice.dcm";
    DicomWriteOptions options;
    options.rescale_slope = k.slope;
    options.rescale_intercept = k.intercept;
    write_dicom(file, image, options);
    ASSERT_NE(open_image_rows(file), nullptr) << "the streamed route is the one under test";
    Result<Image> whole = read_image(file);
    ASSERT_TRUE(whole.ok()) << whole.error();
    for (const PreprocessSpec& spec :
         {PreprocessSpec{1, 64, "stretch", "zscore"}, PreprocessSpec{1, 128, "stretch", "none"},
          PreprocessSpec{1, 50, "pad", "minmax"}, PreprocessSpec{3, 32, "stretch", "zscore"}}) {
      Result<PreprocessedFile> streamed = preprocess_file(file, spec);
      Result<std::vector<float>> reference = preprocess_image(whole.value(), spec);
      ASSERT_TRUE(streamed.ok() && reference.ok());
      EXPECT_EQ(streamed.value().source_channels, 1);
      EXPECT_EQ(streamed.value().chw, reference.value())
          << k.h << "x" << k.w << " -> " << spec.size_px << " " << spec.resize;
    }
    fs::resize_file(file, fs::file_size(file) - 1000);
    Result<PreprocessedFile> cut = preprocess_file(file, PreprocessSpec{1, 64});
    ASSERT_FALSE(cut.ok());
    EXPECT_EQ(cut.error(), read_image(file).error());
  }
  fs::remove_all(dir);
}

TEST(Augment, DisabledIsIdentityAndEnabledIsSeeded) {
  std::vector<float> a(64), b(64);
  std::iota(a.begin(), a.end(), 0.0f);
  b = a;
  AugmentSpec off;
  off.enabled = false;
  std::mt19937 rng(1);
  augment_sample(a.data(), 1, 8, off, rng);
  EXPECT_EQ(a, b);
  AugmentSpec on;
  std::mt19937 r1(5), r2(5);
  std::vector<float> c = b, d = b;
  augment_sample(c.data(), 1, 8, on, r1);
  augment_sample(d.data(), 1, 8, on, r2);
  EXPECT_EQ(c, d);
  EXPECT_NE(c, b);
}

}  // namespace
}  // namespace medpipe
