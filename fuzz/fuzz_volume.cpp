// fuzz/fuzz_volume.cpp: a NRRD (bytes starting "NRRD") or MetaImage file through the image reader
// (teem's nrrd, medpipe's MetaImage parser, the header-against-size checks). A detached data file
// may be named: the harness's folder holds only the input, so what it names is refused or absent.
#include <cstring>

#include "harness.h"
#include "io/image_io.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace medpipe;
  fuzz::set_fuzz_limits();
  const bool nrrd = size >= 4 && std::memcmp(data, "NRRD", 4) == 0;
  fs::path path = fuzz::input_file(data, size, nrrd ? "input.nrrd" : "input.mha");
  fuzz::within_contract([&] {
    Result<Image> image = read_image(path);
    if (image.ok()) (void)image_info(image.value());
  });
  return 0;
}
