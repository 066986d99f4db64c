#include "io/npy.h"

#include <gtest/gtest.h>

#include <fstream>

namespace medpipe {
namespace {

TEST(Npy, Float32RoundTrip) {
  fs::path path = fs::temp_directory_path() / "medpipe_npy_test.npy";
  std::vector<float> data = {1.5f, -2.0f, 3.25f, 0.0f, 7.0f, 8.0f};
  write_npy_f32(path, {2, 3}, data.data());
  auto back = read_npy(path);
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_EQ(back.value().shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(back.value().dtype, "<f4");
  for (std::size_t i = 0; i < data.size(); ++i) EXPECT_EQ(back.value().values[i], data[i]);
  // header padded to a multiple of 64 bytes, as numpy writes it
  std::ifstream in(path, std::ios::binary);
  in.seekg(8);
  unsigned char len[2];
  in.read(reinterpret_cast<char*>(len), 2);
  EXPECT_EQ((10 + len[0] + 256 * len[1]) % 64, 0);
  fs::remove(path);
}

TEST(Npy, RejectsNonNpy) {
  fs::path path = fs::temp_directory_path() / "medpipe_not_npy.npy";
  std::ofstream(path) << "hello";
  EXPECT_FALSE(read_npy(path).ok());
  fs::remove(path);
}

}  // namespace
}  // namespace medpipe
