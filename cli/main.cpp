// medpipe: images and labels in; a trained model, predictions and an evaluation out.
#include "cli/commands.h"
#include "core/blas_kernel.h"
#include "core/world.h"

int main(int argc, char** argv) {
  medpipe::choose_blas_kernel(argv);  // may restart the process: before MPI and threads
  medpipe::start_world(&argc, &argv, 600);
  int code = medpipe::cli::run_cli(argc, argv);
  // under MPI a failed rank ends the whole job rather than leave the others waiting
  if (code != 0 && medpipe::world().size() > 1) medpipe::world().abort(code);
  medpipe::stop_world();
  return code;
}
