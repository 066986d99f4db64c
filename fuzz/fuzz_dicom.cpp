// fuzz/fuzz_dicom.cpp: a DICOM file through the image reader (DCMTK, the GDCM fallback for
// compressed syntaxes, the nesting guard, the pixel limits), and through the row reader the
// preprocessing streams (open_image_rows), whose rows must equal the whole image's.
#include <cstdlib>
#include <vector>

#include "harness.h"
#include "io/image_io.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace medpipe;
  fuzz::set_fuzz_limits();
  fs::path path = fuzz::input_file(data, size, "input.dcm");
  fuzz::within_contract([&] {
    Result<Image> image = read_image(path);
    if (image.ok()) (void)image_info(image.value());
    if (std::unique_ptr<ImageRows> rows = open_image_rows(path)) {
      const Image& header = rows->header();
      std::vector<float> values(static_cast<std::size_t>(header.width) * header.height);
      if (rows->read(0, header.height, values.data()) && image.ok() &&
          values != image.value().pixels)
        std::abort();  // the two routes disagree
    }
  });
  return 0;
}
