// medpipe synth --task classify --out DIR [--count N] [--size PX] [--format png|dicom] [--seed S]
#include "cli/commands.h"
#include "core/log.h"
#include "data/synth.h"

namespace medpipe::cli {

Action add_synth_command(CLI::App& app) {
  auto* command =
      app.add_subcommand("synth",
                         "write a synthetic labelled data set (CT-like slices; class 1 / "
                         "label 1: a lung nodule)");
  auto options = std::make_shared<SynthOptions>();
  auto out = std::make_shared<std::string>();
  command
      ->add_option("--task", options->task,
                   "classify (labels.csv), segment (masks/*.npy) or survival (labels.csv "
                   "image,time,event; truth/hazards.csv)")
      ->capture_default_str();
  command->add_option("--out", *out, "output folder: images/ and labels.csv")->required();
  command->add_option("--count", options->count, "number of images")->capture_default_str();
  command->add_option("--size", options->size_px, "image size in pixels")->capture_default_str();
  command
      ->add_option("--format", options->format, "png (16-bit, HU+1024) or dicom (HU via rescale)")
      ->capture_default_str();
  command->add_option("--seed", options->seed, "random seed")->capture_default_str();
  return [options, out] {
    init_logging("info");
    options->out_dir = *out;
    int n = write_synthetic(*options);
    log_info("synth: " + std::to_string(n) + " images in " +
             (options->out_dir / "images").string() + ", labels in " +
             (options->out_dir / (options->task == "segment" ? "masks" : "labels.csv")).string());
    return 0;
  };
}

}  // namespace medpipe::cli
