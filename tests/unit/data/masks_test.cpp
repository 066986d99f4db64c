#include "data/masks.h"

#include <gtest/gtest.h>

#include "io/npy.h"

namespace medpipe {
namespace {

fs::path temp(const std::string& name) {
  return fs::temp_directory_path() / name;
}

Image image_of(int depth, int height, int width) {
  Image im;
  im.depth = depth, im.height = height, im.width = width;
  im.pixels.assign(im.voxel_count(), 0.0f);
  return im;
}

TEST(Masks, ReadsIntegerAndBoolArrays) {
  std::vector<std::uint8_t> v = {0, 1, 2, 1, 0, 0};
  write_npy_u8(temp("mp_mask.npy"), {2, 3}, v.data());
  auto mask = read_label_volume(temp("mp_mask.npy"));
  ASSERT_TRUE(mask.ok()) << mask.error();
  EXPECT_EQ(mask.value().height, 2);
  EXPECT_EQ(mask.value().width, 3);
  EXPECT_EQ(mask.value().labels, v);
  write_npy_u8(temp("mp_mask3d.npy"), {3, 1, 2}, v.data());
  EXPECT_EQ(read_label_volume(temp("mp_mask3d.npy")).value().depth, 3);
}

TEST(Masks, RefusesFloatsAndFractions) {
  std::vector<float> v = {0.0f, 0.5f};
  write_npy_f32(temp("mp_maskf.npy"), {1, 2}, v.data());
  auto mask = read_label_volume(temp("mp_maskf.npy"));
  ASSERT_FALSE(mask.ok());
  EXPECT_NE(mask.error().find("floating-point"), std::string::npos);
}

TEST(Masks, ChecksShapeAndClasses) {
  LabelVolume mask{1, 2, 3, {0, 1, 2, 1, 0, 0}};
  EXPECT_EQ(check_mask_against_image(mask, "m.npy", image_of(1, 2, 3), 3), "");
  std::string classes = check_mask_against_image(mask, "m.npy", image_of(1, 2, 3), 2);
  EXPECT_NE(classes.find("m.npy holds the label 2 but num_classes is 2"), std::string::npos)
      << classes;
  std::string shape = check_mask_against_image(mask, "m.npy", image_of(1, 3, 2), 3);
  EXPECT_NE(shape.find("m.npy is 2 x 3 but its image is 3 x 2"), std::string::npos) << shape;
  LabelVolume volume{2, 2, 3, std::vector<std::uint8_t>(12, 0)};
  EXPECT_NE(check_mask_against_image(volume, "v.npy", image_of(1, 2, 3), 2)
                .find("a 3D mask for a 2D image"),
            std::string::npos);
}

TEST(Masks, PairingListsEveryImageWithoutMask) {
  fs::path dir = temp("mp_masks_dir");
  fs::create_directories(dir);
  std::vector<std::uint8_t> v = {0, 1};
  write_npy_u8(dir / "a.npy", {1, 2}, v.data());
  std::vector<Sample> images = {{"a", "a.png", {}}, {"b", "b.png", {}}, {"c", "c.png", {}}};
  try {
    pair_with_masks(images, dir, "images_labels_bucket");
    FAIL() << "expected a UsageError";
  } catch (const UsageError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("2 image(s) have no label array"), std::string::npos) << m;
    EXPECT_NE(m.find("b, c"), std::string::npos) << m;
  }
  std::vector<Sample> set = pair_with_masks({{"a", "a.png", {}}}, dir, "k");
  EXPECT_EQ(set[0].mask(), dir / "a.npy");
}

}  // namespace
}  // namespace medpipe
