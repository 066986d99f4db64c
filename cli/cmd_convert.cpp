// medpipe convert INPUT OUTPUT | medpipe convert --info INPUT
// medpipe convert RTSTRUCT OUTPUT --reference IMAGE [--roi NAME]
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "io/image_io.h"
#include "io/rtstruct.h"

namespace medpipe::cli {

Action add_convert_command(CLI::App& app) {
  auto* command = app.add_subcommand("convert",
                                     "convert an image (DICOM, NIfTI, NRRD, MetaImage, PNG, JPEG, "
                                     "TIFF) to .npy (float32 after DICOM rescale), .nii.gz, "
                                     ".nrrd, .nhdr, .mha, .mhd or .png");
  auto input = std::make_shared<std::string>();
  auto output = std::make_shared<std::string>();
  auto info = std::make_shared<bool>(false);
  auto reference = std::make_shared<std::string>();
  auto roi = std::make_shared<std::string>();
  command->add_option("input", *input, "the image to read")->required();
  command->add_option("output", *output,
                      "the file to write (.npy, .nii.gz, .nii, .nrrd, .nhdr, .mha, .mhd, .png)");
  command->add_flag("--info", *info,
                    "print geometry and pixel facts as JSON instead (no patient identifiers)");
  command->add_option("--reference", *reference,
                      "INPUT is an RT Structure Set: rasterise it onto this image's grid (the "
                      "image the contours were drawn on) and write the mask");
  command->add_option("--roi", *roi,
                      "with --reference: the ROI to rasterise (default: the only one)");
  return [input, output, info, reference, roi] {
    if (!reference->empty()) {
      Result<Image> grid = read_image(*reference);
      if (!grid) throw UsageError("cannot read " + *reference + ": " + grid.error());
      Result<Image> mask = rasterise_rtstruct(*input, grid.value(), *roi);
      if (!mask) throw UsageError(*input + ": " + mask.error());
      if (output->empty()) throw UsageError("convert: give an OUTPUT file for the mask");
      write_image(*output, mask.value());
      return 0;
    }
    Result<Image> image = read_image(*input);
    if (!image) throw UsageError("cannot read " + *input + ": " + image.error());
    if (*info) {
      std::printf("%s\n", image_info(image.value()).dump(2).c_str());
      return 0;
    }
    if (output->empty()) throw UsageError("convert: give an OUTPUT file, or --info");
    write_image(*output, image.value());
    return 0;
  };
}

}  // namespace medpipe::cli
