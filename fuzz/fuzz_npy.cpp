// fuzz/fuzz_npy.cpp: a .npy array as an image and as a mask (label volume).
#include "data/masks.h"
#include "harness.h"
#include "io/image_io.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace medpipe;
  fuzz::set_fuzz_limits();
  fs::path path = fuzz::input_file(data, size, "input.npy");
  fuzz::within_contract([&] { (void)read_image(path); });
  fuzz::within_contract([&] { (void)read_label_volume(path); });
  return 0;
}
