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

// The header's dict as numpy writes it, and headers that lie: a length beyond numpy's 10000
// bytes is refused before anything is allocated for it, shapes are read without a regex.
TEST(Npy, HeaderFieldsAndLyingHeaders) {
  fs::path path = fs::temp_directory_path() / "medpipe_npy_header.npy";
  auto write = [&](const std::string& magic_and_len, const std::string& dict, std::size_t data) {
    std::ofstream(path, std::ios::binary) << magic_and_len << dict << std::string(data, '\0');
  };
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n";
  write(std::string("\x93NUMPY\x01\x00", 8) + char(dict.size()) + '\0', dict, 24);
  auto ok = read_npy(path);
  ASSERT_TRUE(ok.ok()) << ok.error();
  EXPECT_EQ(ok.value().shape, (std::vector<std::int64_t>{2, 3}));
  write(std::string("\x93NUMPY\x02\x00\xff\xff\xff\x7f", 12), "{}", 0);
  auto huge = read_npy(path);
  ASSERT_FALSE(huge.ok());
  EXPECT_NE(huge.error().find("10000"), std::string::npos) << huge.error();
  const std::string fortran = "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }\n";
  write(std::string("\x93NUMPY\x01\x00", 8) + char(fortran.size()) + '\0', fortran, 24);
  EXPECT_FALSE(read_npy(path).ok());
  const std::string negative = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }\n";
  write(std::string("\x93NUMPY\x01\x00", 8) + char(negative.size()) + '\0', negative, 24);
  EXPECT_FALSE(read_npy(path).ok());
  fs::remove(path);
}

}  // namespace
}  // namespace medpipe
