// fuzz/fuzz_rtstruct.cpp: an RT Structure Set rasterised onto a small CT-like grid.
#include "harness.h"
#include "io/rtstruct.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace medpipe;
  fuzz::set_fuzz_limits();
  fs::path path = fuzz::input_file(data, size, "rtstruct.dcm");
  static const Image reference = [] {
    Image grid;
    grid.depth = 4;
    grid.height = grid.width = 16;
    grid.pixels.assign(grid.value_count(), 0.0f);
    grid.spacing_mm = {2.0, 2.0, 3.0};
    grid.spacing_known = true;
    grid.origin_mm = {-16.0, -16.0, 0.0};
    return grid;
  }();
  fuzz::within_contract([&] {
    if (is_rtstruct(path)) (void)rasterise_rtstruct(path, reference, "");
  });
  return 0;
}
