// fuzz/fuzz_nifti.cpp: a NIfTI-1 or NIfTI-2 file (gzipped when the bytes say so) through the
// image reader (niftilib, the header-against-size checks).
#include "harness.h"
#include "io/image_io.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace medpipe;
  fuzz::set_fuzz_limits();
  const bool gzipped = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
  fs::path path = fuzz::input_file(data, size, gzipped ? "input.nii.gz" : "input.nii");
  fuzz::within_contract([&] {
    Result<Image> image = read_image(path);
    if (image.ok()) (void)image_info(image.value());
  });
  return 0;
}
