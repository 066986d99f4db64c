// train/checkpoint.h: the whole state of a training run at a step boundary, written atomically
// (temp + rename) so that a killed run resumes bit-identically: weights and buffers, optimizer
// state, LibTorch's random generator, extra tensors of the loop (EMA, best epoch's weights), the
// position (epoch, next batch, step) and the loop's bookkeeping as JSON.
#pragma once
#include <torch/optim/optimizer.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/fs.h"
#include "models/models.h"

namespace medpipe {

struct TrainingPosition {
  int epoch = 0;          // the epoch in progress
  std::size_t batch = 0;  // the next batch of that epoch
  std::size_t step = 0;   // optimizer steps done
  double loss_sum = 0;    // of the epoch so far
  std::size_t seen = 0;   // samples of the epoch so far
  nlohmann::json loop;    // the loop's own bookkeeping (history, best epoch, ...)
};

class Checkpointer {
 public:
  // `path` empty: no checkpoints. `fingerprint` identifies the run (config and data): a state
  // written by another run is ignored. every_steps 0: at epoch ends (and on a stop signal) only.
  Checkpointer(fs::path path, std::string fingerprint, int every_steps);

  // Loads a matching state into module, optimizer, extra (resized as saved) and position.
  // False when there is none (or it belongs to another run).
  bool resume(torch::jit::Module& module, torch::optim::Optimizer& optimizer,
              std::vector<at::Tensor>& extra, TrainingPosition& position) const;

  // After a step: saves when every_steps is due or `stop` (a stop signal came, on any rank);
  // after a stop, throws RunError saying how to resume.
  void after_step(torch::jit::Module& module, torch::optim::Optimizer& optimizer,
                  const std::vector<at::Tensor>& extra, const TrainingPosition& position,
                  bool stop) const;
  // Under MPI rank 0 writes (every rank holds the same state) and every rank resumes.
  void save(torch::jit::Module& module, torch::optim::Optimizer& optimizer,
            const std::vector<at::Tensor>& extra, const TrainingPosition& position) const;
  // Removes the state once the run is complete.
  void finish() const;

 private:
  fs::path path_;
  std::string fingerprint_;
  int every_steps_;
};

}  // namespace medpipe
