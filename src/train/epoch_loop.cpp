#include "train/epoch_loop.h"

#include <cmath>
#include <cstdio>

#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/world.h"
#include "train/checkpoint.h"

namespace medpipe {

nlohmann::json EpochBook::to_json() const {
  return {{"history", outcome.history},
          {"best_metrics", outcome.best_metrics},
          {"best_epoch", outcome.best_epoch},
          {"best_score", best_score}};
}

void EpochBook::from_json(const nlohmann::json& j) {
  outcome.history = j["history"];
  outcome.best_metrics = j["best_metrics"];
  outcome.best_epoch = j["best_epoch"].get<int>();
  best_score = j["best_score"].get<double>();
}

void EpochBook::consider(torch::jit::Module& module, int epoch, const std::optional<double>& score,
                         const nlohmann::json& metrics) {
  bool improved = !score || *score > best_score;
  if (!improved) return;
  if (score) {
    best_score = *score;
    outcome.best_metrics = metrics;
  }
  best_state = snapshot(module);
  outcome.best_epoch = epoch + 1;
}

void EpochBook::close_epoch(torch::jit::Module& module, const nlohmann::json& record,
                            const std::string& checkpoint_path) {
  outcome.history.push_back(record);
  log_event("epoch_end", record);
  log_debug("epoch " + record["epoch"].dump() + ": " + record.dump());
  if (!checkpoint_path.empty() && is_lead_rank()) {
    module.eval();
    save_module(module, checkpoint_path);
  }
}

namespace {

// The loop's state shared by its pieces.
struct Loop {
  torch::jit::Module& module;
  TrainingTask& task;
  const LoopSettings& s;
  WorkerGroup group;
  Checkpointer checkpoints;
  EpochBook book;
  TrainingPosition position;
  std::size_t total_steps = 0;

  Loop(torch::jit::Module& m, TrainingTask& t, const LoopSettings& settings)
      : module(m),
        task(t),
        s(settings),
        group(m, settings.trainable, settings.optim, settings.parallel),
        checkpoints(settings.state_path, settings.fingerprint, settings.checkpoint_every) {}

  // The task's tensors, then the best epoch's weights.
  std::vector<at::Tensor> extra() {
    std::vector<at::Tensor> all = task.extra_state();
    all.insert(all.end(), book.best_state.begin(), book.best_state.end());
    return all;
  }

  void resume() {
    std::vector<at::Tensor> saved;
    if (!checkpoints.resume(module, group.optimizer(), saved, position)) return;
    group.copy_master_to_workers();
    book.from_json(position.loop);
    const std::size_t n = task.extra_state().size();
    task.restore_extra_state({saved.begin(), saved.begin() + n});
    book.best_state.assign(saved.begin() + n, saved.end());
  }

  void run_epoch(Progress& progress);
  void end_epoch(nlohmann::json record);
};

// The rest of an epoch from position.batch on; leaves the epoch's sums in `position`.
void Loop::run_epoch(Progress& progress) {
  group.set_training(true);
  const int epoch = position.epoch;
  const std::size_t steps = task.begin_epoch(group, epoch, position.batch);
  for (std::size_t b = position.batch; b < steps; ++b) {
    StepWork work = task.step(group, b, position.step);
    group.set_learning_rate(s.optim, position.step, total_steps);
    StepResult step = group.step(work.loss_of, work.samples);
    task.after_step(module);
    if (!std::isfinite(step.mean_loss)) {
      throw RunError("training diverged (loss " + std::to_string(step.mean_loss) + " at epoch " +
                     std::to_string(epoch + 1) + "); lower learning_rate");
    }
    position.loss_sum += step.mean_loss * static_cast<double>(work.samples);
    position.seen += work.samples;
    position.batch = b + 1;
    ++position.step;
    char suffix[64];
    std::snprintf(suffix, sizeof suffix, "epoch %d/%d loss %.4f", epoch + 1, s.epochs,
                  step.mean_loss);
    progress.set_suffix(suffix);
    progress.advance();
    if (step.synchronized)
      checkpoints.after_step(module, group.optimizer(), extra(), position, step.stop_requested);
  }
  group.synchronize();
}

// Validation at an epoch's end: keeps the weights when they improve. Rank 0 validates and
// writes; the other ranks only train.
void Loop::end_epoch(nlohmann::json record) {
  if (!is_lead_rank()) {
    book.outcome.history.push_back(record);
    return;
  }
  task.with_eval_weights(module, [&] {
    EpochValidation v = task.validate(module);
    record.update(v.record);
    book.consider(module, position.epoch, v.score, v.metrics);
  });
  book.close_epoch(module, record, s.checkpoint_path);
}

}  // namespace

TrainOutcome run_epoch_loop(torch::jit::Module& module, TrainingTask& task, const LoopSettings& s) {
  torch::manual_seed(s.seed);
  Loop loop(module, task, s);
  loop.total_steps = task.steps_per_epoch(loop.group) * s.epochs;
  loop.resume();
  Progress progress("train", loop.total_steps, "step");
  progress.advance(loop.position.step);
  const auto start = Clock::now();
  loop.position.loop = loop.book.to_json();
  TrainingPosition& position = loop.position;
  while (position.epoch < s.epochs) {
    const auto epoch_start = Clock::now();
    loop.run_epoch(progress);
    const double seconds = seconds_since(epoch_start);
    loop.end_epoch({{"epoch", position.epoch + 1},
                    {"train_loss", position.seen ? position.loss_sum / position.seen : 0.0},
                    {"seconds", seconds},
                    {"samples_per_s", task.samples_per_epoch() / std::max(1e-9, seconds)}});
    position = {position.epoch + 1, 0, position.step, 0.0, 0, loop.book.to_json()};
    loop.checkpoints.save(module, loop.group.optimizer(), loop.extra(), position);
  }
  progress.finish();
  TrainOutcome& outcome = loop.book.outcome;
  outcome.compute_seconds = loop.group.compute_seconds();
  outcome.sync_seconds = loop.group.sync_seconds();
  outcome.wait_seconds = loop.group.wait_seconds();
  outcome.steps = position.step;
  outcome.seconds = seconds_since(start);
  outcome.samples_per_second =
      static_cast<double>(task.samples_per_epoch()) * s.epochs / std::max(1e-9, outcome.seconds);
  if (is_lead_rank()) restore(module, loop.book.best_state);
  module.eval();
  return outcome;
}

}  // namespace medpipe
