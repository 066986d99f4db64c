// fuzz/fuzz_raster.cpp: PNG, JPEG, TIFF and BMP through the image reader (OpenCV's codecs, the
// header checks). The file is named as its first bytes say, as a user's file would be.
#include <cstring>

#include "harness.h"
#include "io/image_io.h"

namespace {
const char* name_for(const std::uint8_t* data, std::size_t size) {
  auto starts = [&](const char* magic, std::size_t n) {
    return size >= n && std::memcmp(data, magic, n) == 0;
  };
  if (starts("\xFF\xD8", 2)) return "input.jpg";
  if (starts("II*\0", 4) || starts("MM\0*", 4)) return "input.tif";
  if (starts("BM", 2)) return "input.bmp";
  return "input.png";
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace medpipe;
  fuzz::set_fuzz_limits();
  fs::path path = fuzz::input_file(data, size, name_for(data, size));
  fuzz::within_contract([&] {
    Result<Image> image = read_image(path);
    if (image.ok()) (void)image_info(image.value());
  });
  return 0;
}
