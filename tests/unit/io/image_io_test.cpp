#include "io/image_io.h"

#include <gtest/gtest.h>

#include <fstream>

namespace medpipe {
namespace {

fs::path temp(const std::string& name) {
  return fs::temp_directory_path() / ("medpipe_io_" + name);
}

TEST(ImageIo, Png16BitGrayRoundTrip) {
  Image image;
  image.height = 3;
  image.width = 4;
  image.pixels = {0, 1, 2, 3, 1000, 2000, 3000, 4000, 65535, 5, 6, 7};
  write_image(temp("a.png"), image);
  auto back = read_image(temp("a.png"));
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_EQ(back.value().bits_stored, 16);
  EXPECT_EQ(back.value().pixels, image.pixels);
  fs::remove(temp("a.png"));
}

TEST(ImageIo, RgbPngKeepsChannelOrder) {
  Image image;
  image.height = 1;
  image.width = 2;
  image.channels = 3;
  image.pixels = {255, 0, 0, 0, 0, 255};  // red, blue
  write_image(temp("rgb.png"), image);
  auto back = read_image(temp("rgb.png"));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back.value().pixels, image.pixels);
  fs::remove(temp("rgb.png"));
}

TEST(ImageIo, BrokenFilesAreFailuresNotExceptions) {
  std::ofstream(temp("text.png")) << "not an image";
  std::ofstream(temp("empty.png"));
  std::ofstream(temp("text.dcm")) << "not dicom";
  for (const char* name : {"text.png", "empty.png", "text.dcm", "missing.png"}) {
    auto r = read_image(temp(name));
    EXPECT_FALSE(r.ok()) << name;
    EXPECT_FALSE(r.error().empty()) << name;
    fs::remove(temp(name));
  }
}

// OpenCV is given only the four raster formats medpipe reads, known by their first bytes: a GIF
// (or a DICOM, or anything its other decoders would try) named .png is refused before it.
TEST(ImageIo, OnlyTheFourRasterFormatsReachOpenCv) {
  std::ofstream(temp("gif.png"), std::ios::binary) << "GIF89a\x01\x00\x01\x00";
  std::ofstream(temp("cut.png"), std::ios::binary) << "\x89PNG\r\n\x1a\n";
  auto gif = read_image(temp("gif.png"));
  ASSERT_FALSE(gif.ok());
  EXPECT_NE(gif.error().find("not a PNG, JPEG, TIFF or BMP"), std::string::npos) << gif.error();
  std::string jpeg_dicom = "\xFF\xD8" + std::string(126, '\0') + "DICM" + std::string(64, '\0');
  std::ofstream(temp("dicom.jpg"), std::ios::binary) << jpeg_dicom;  // OpenCV would give it GDCM
  auto dicom = read_image(temp("dicom.jpg"));
  ASSERT_FALSE(dicom.ok());
  EXPECT_NE(dicom.error().find("DICOM"), std::string::npos) << dicom.error();
  fs::remove(temp("dicom.jpg"));
  auto cut = read_image(temp("cut.png"));
  ASSERT_FALSE(cut.ok());
  EXPECT_NE(cut.error().find("damaged PNG"), std::string::npos) << cut.error();
  fs::remove(temp("gif.png"));
  fs::remove(temp("cut.png"));
}

TEST(ImageIo, NiftiRoundTripKeepsGeometry) {
  Image image;
  image.depth = 2;
  image.height = 3;
  image.width = 4;
  image.pixels.resize(24);
  for (std::size_t i = 0; i < 24; ++i) image.pixels[i] = static_cast<float>(i) - 5.5f;
  image.spacing_mm = {0.5, 0.75, 2.0};
  image.origin_mm = {-10, 20, 30};
  write_image(temp("v.nii.gz"), image);
  auto back = read_image(temp("v.nii.gz"));
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_EQ(back.value().pixels, image.pixels);
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(back.value().spacing_mm[i], image.spacing_mm[i], 1e-6);
    EXPECT_NEAR(back.value().origin_mm[i], image.origin_mm[i], 1e-4);
  }
  fs::remove(temp("v.nii.gz"));
}

TEST(ImageIo, FormatByExtension) {
  EXPECT_EQ(guess_image_format("a/b.DCM"), ImageFormat::kDicom);
  EXPECT_EQ(guess_image_format("a/IM0001"), ImageFormat::kDicom);
  EXPECT_EQ(guess_image_format("a/b.nii.gz"), ImageFormat::kNifti);
  EXPECT_EQ(guess_image_format("a/b.jpeg"), ImageFormat::kRaster);
  EXPECT_FALSE(looks_like_image_file("a/labels.csv"));
  EXPECT_FALSE(looks_like_image_file("a/.hidden.png"));
}

}  // namespace
}  // namespace medpipe
