// NRRD and MetaImage: round trips with geometry, hand-written headers (raw and compressed data,
// both byte orders, detached data files) and hostile headers.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <cstring>
#include <fstream>

#include "io/image_io.h"

namespace medpipe {
namespace {

struct TempDir {
  fs::path dir = fs::temp_directory_path() / ("medpipe_vol_" + std::to_string(::getpid()));
  TempDir() { fs::create_directories(dir); }
  ~TempDir() { fs::remove_all(dir); }
  fs::path operator/(const std::string& name) const { return dir / name; }
};

Image oblique_volume() {
  Image image;
  image.depth = 2;
  image.height = 3;
  image.width = 4;
  image.pixels.resize(24);
  for (std::size_t i = 0; i < 24; ++i) image.pixels[i] = static_cast<float>(i) * 1.5f - 7.0f;
  image.spacing_mm = {0.5, 0.75, 2.0};
  image.spacing_known = true;
  image.origin_mm = {-10.25, 20.5, 30.0};
  const double c = std::cos(0.3), s = std::sin(0.3);  // a rotation about z
  image.direction = {c, s, 0, -s, c, 0, 0, 0, 1};
  return image;
}

void expect_same_geometry(const Image& a, const Image& b) {
  EXPECT_EQ(a.width, b.width);
  EXPECT_EQ(a.height, b.height);
  EXPECT_EQ(a.depth, b.depth);
  EXPECT_EQ(a.channels, b.channels);
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(a.spacing_mm[i], b.spacing_mm[i], 1e-9);
    EXPECT_NEAR(a.origin_mm[i], b.origin_mm[i], 1e-9);
  }
  for (int i = 0; i < 9; ++i) EXPECT_NEAR(a.direction[i], b.direction[i], 1e-9) << i;
}

void write_bytes(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// int16 values 0..n-1 (minus 3), in the given byte order
std::string shorts(int n, bool big_endian) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    const auto v = static_cast<std::uint16_t>(static_cast<std::int16_t>(i - 3));
    const char lo = static_cast<char>(v & 0xff), hi = static_cast<char>(v >> 8);
    out += big_endian ? std::string{hi, lo} : std::string{lo, hi};
  }
  return out;
}

std::string zlib_packed(const std::string& data) {
  uLongf size = compressBound(data.size());
  std::string out(size, '\0');
  compress2(reinterpret_cast<Bytef*>(out.data()), &size,
            reinterpret_cast<const Bytef*>(data.data()), data.size(), 6);
  out.resize(size);
  return out;
}

void expect_shorts(const Result<Image>& image, int n) {
  ASSERT_TRUE(image.ok()) << image.error();
  ASSERT_EQ(image.value().pixels.size(), static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) EXPECT_EQ(image.value().pixels[i], static_cast<float>(i - 3));
}

TEST(VolumeFormats, NrrdAndMetaImageRoundTripKeepValuesAndGeometry) {
  TempDir tmp;
  const Image image = oblique_volume();
  for (const char* name : {"v.nrrd", "v.nhdr", "v.mha", "v.mhd"}) {
    write_image(tmp / name, image);
    const Result<Image> back = read_image(tmp / name);
    ASSERT_TRUE(back.ok()) << name << ": " << back.error();
    EXPECT_EQ(back.value().pixels, image.pixels) << name;
    expect_same_geometry(back.value(), image);
  }
  EXPECT_TRUE(fs::exists(tmp / "v.raw.gz"));  // the .nhdr's data file
  EXPECT_TRUE(fs::exists(tmp / "v.raw"));     // the .mhd's
  for (const auto& entry : fs::directory_iterator(tmp.dir))
    EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos);
}

TEST(VolumeFormats, NrrdInRasSpaceIsReadAsLps) {
  TempDir tmp;
  write_bytes(tmp / "ras.nhdr",
              "NRRD0004\ntype: short\ndimension: 3\nspace: right-anterior-superior\n"
              "sizes: 2 2 2\nspace directions: (-0.5,0,0) (0,-0.5,0) (0,0,3)\n"
              "space origin: (10,20,30)\nendian: big\nencoding: raw\ndata file: ras.raw\n");
  write_bytes(tmp / "ras.raw", shorts(8, true));
  const Result<Image> image = read_image(tmp / "ras.nhdr");
  expect_shorts(image, 8);
  const Image& v = image.value();
  EXPECT_DOUBLE_EQ(v.spacing_mm[0], 0.5);
  EXPECT_DOUBLE_EQ(v.spacing_mm[2], 3.0);
  EXPECT_DOUBLE_EQ(v.origin_mm[0], -10.0);  // R 10 is L -10
  EXPECT_DOUBLE_EQ(v.origin_mm[1], -20.0);
  EXPECT_DOUBLE_EQ(v.origin_mm[2], 30.0);
  EXPECT_DOUBLE_EQ(v.direction[0], 1.0);  // -R is +L
  EXPECT_DOUBLE_EQ(v.direction[4], 1.0);
}

TEST(VolumeFormats, HandWrittenMetaImageHeadersInEveryLayout) {
  TempDir tmp;
  const std::string common =
      "ObjectType = Image\nNDims = 3\nDimSize = 2 3 2\nElementSpacing = 0.5 0.5 2\n"
      "Offset = 1 2 3\nTransformMatrix = 1 0 0 0 1 0 0 0 1\nElementType = MET_SHORT\n";
  for (bool big : {false, true}) {
    const std::string order = std::string("BinaryDataByteOrderMSB = ") + (big ? "True" : "False");
    write_bytes(tmp / "local.mha",
                common + order + "\nElementDataFile = LOCAL\n" + shorts(12, big));
    expect_shorts(read_image(tmp / "local.mha"), 12);
    const std::string packed = zlib_packed(shorts(12, big));
    write_bytes(tmp / "packed.mha",
                common + order + "\nCompressedData = True\nCompressedDataSize = " +
                    std::to_string(packed.size()) + "\nElementDataFile = LOCAL\n" + packed);
    expect_shorts(read_image(tmp / "packed.mha"), 12);
    write_bytes(tmp / "d.raw", shorts(12, big));
    write_bytes(tmp / "detached.mhd", common + order + "\nElementDataFile = d.raw\n");
    expect_shorts(read_image(tmp / "detached.mhd"), 12);
  }
  const Result<Image> image = read_image(tmp / "detached.mhd");
  EXPECT_DOUBLE_EQ(image.value().origin_mm[2], 3.0);
  EXPECT_DOUBLE_EQ(image.value().spacing_mm[2], 2.0);
}

TEST(VolumeFormats, HostileHeadersAreRefusedWithReasons) {
  TempDir tmp;
  fs::create_directories(tmp / "in");
  write_bytes(tmp / "secret.raw", shorts(8, false));
  // a data file outside the header's folder
  write_bytes(tmp / "in" / "escape.mhd",
              "NDims = 3\nDimSize = 2 2 2\nElementType = MET_SHORT\nElementDataFile = "
              "../secret.raw\n");
  Result<Image> escape = read_image(tmp / "in" / "escape.mhd");
  ASSERT_FALSE(escape.ok());
  EXPECT_NE(escape.error().find("ElementDataFile"), std::string::npos) << escape.error();
  write_bytes(tmp / "in" / "escape.nhdr",
              "NRRD0004\ntype: short\ndimension: 3\nsizes: 2 2 2\nencoding: raw\n"
              "data file: ../secret.raw\n");
  escape = read_image(tmp / "in" / "escape.nhdr");
  ASSERT_FALSE(escape.ok());
  EXPECT_NE(escape.error().find("data file"), std::string::npos) << escape.error();
  // sizes far beyond the data, and beyond max_image_pixels
  write_bytes(tmp / "cut.mha",
              "NDims = 3\nDimSize = 100 100 100\nElementType = MET_FLOAT\nElementDataFile = "
              "LOCAL\n" +
                  std::string(64, '\0'));
  EXPECT_NE(read_image(tmp / "cut.mha").error().find("shorter"), std::string::npos);
  write_bytes(tmp / "cut.nrrd",
              "NRRD0004\ntype: float\ndimension: 3\nsizes: 100 100 100\n"
              "endian: little\nencoding: raw\n\n" +
                  std::string(64, '\0'));
  EXPECT_NE(read_image(tmp / "cut.nrrd").error().find("shorter"), std::string::npos);
  write_bytes(tmp / "huge.nrrd",
              "NRRD0004\ntype: float\ndimension: 3\n"
              "sizes: 100000 100000 100000\nendian: little\nencoding: gzip\n\nxx");
  EXPECT_NE(read_image(tmp / "huge.nrrd").error().find("max_image_pixels"), std::string::npos);
  write_bytes(tmp / "huge.mha",
              "NDims = 3\nDimSize = 100000 100000 100000\n"
              "ElementType = MET_FLOAT\nElementDataFile = LOCAL\nxx");
  EXPECT_NE(read_image(tmp / "huge.mha").error().find("max_image_pixels"), std::string::npos);
  write_bytes(tmp / "garbage.nrrd", "NRRD0004\nthis is not a header\n\n");
  EXPECT_FALSE(read_image(tmp / "garbage.nrrd").ok());
}

}  // namespace
}  // namespace medpipe
