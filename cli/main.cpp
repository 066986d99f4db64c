// medpipe: images and labels in; a trained model, predictions and an evaluation out.
#include "cli/commands.h"

int main(int argc, char** argv) {
  return medpipe::cli::run_cli(argc, argv);
}
