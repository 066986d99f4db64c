#include "infer/predictor.h"

#include <gtest/gtest.h>

#include "core/fs.h"
#include "models/models.h"

namespace medpipe {
namespace {

// A run that trains and then predicts in one process (examples/simple) loads the model after
// training turned the graph executor's optimisation off: the frozen network must still run
// every method its forward calls (forward -> embed -> cbn).
TEST(Predictor, FrozenNetworkRunsAfterTrainingTurnedOptimisationOff) {
  ModelSpec spec;
  spec.image_size = 32;
  torch::jit::Module m = build_model(spec, 1);
  m.eval();
  SavedModel saved;
  saved.task = "classify";
  saved.model = spec;
  PreprocessSpec input;
  input.channels = 1;
  input.size_px = 32;
  saved.preprocessing = input;
  const fs::path dir = fs::temp_directory_path() / "medpipe_predictor_test";
  fs::remove_all(dir);
  write_saved_model(dir, m, saved);
  configure_torch(1);
  LoadedModel loaded = load_model(dir);
  at::Tensor x = at::randn({3, 1, 32, 32});
  EXPECT_TRUE(
      m.forward({x}).toTensor().allclose(loaded.module.forward({x}).toTensor(), 1e-4, 1e-5));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace medpipe
