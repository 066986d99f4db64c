// fuzz/fuzz_dicom.cpp: a DICOM file through the image reader (DCMTK, the GDCM fallback for
// compressed syntaxes, the nesting guard, the pixel limits).
#include "harness.h"
#include "io/image_io.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace medpipe;
  fuzz::set_fuzz_limits();
  fs::path path = fuzz::input_file(data, size, "input.dcm");
  fuzz::within_contract([&] {
    Result<Image> image = read_image(path);
    if (image.ok()) (void)image_info(image.value());
  });
  return 0;
}
