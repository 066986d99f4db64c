#include "train/data_parallel.h"

#include <ATen/Parallel.h>
#include <torch/optim/adam.h>
#include <torch/optim/sgd.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "core/clock.h"
#include "core/error.h"
#include "core/runtime.h"
#include "core/world.h"
#include "models/sync_batch_norm.h"

namespace medpipe {

namespace {

std::vector<at::Tensor> float_buffers(torch::jit::Module& module) {
  std::vector<at::Tensor> buffers;
  for (const auto& b : module.named_buffers(true)) {
    if (b.value.is_floating_point()) buffers.push_back(b.value);
  }
  return buffers;
}

// The optimizer's per-parameter state tensors, in parameter order (momentum for SGD; first and
// second moments for Adam).
std::vector<at::Tensor> optimizer_state(torch::optim::Optimizer& optimizer) {
  std::vector<at::Tensor> state;
  for (auto& group : optimizer.param_groups()) {
    for (auto& p : group.params()) {
      auto it = optimizer.state().find(c10::guts::to_string(p.unsafeGetTensorImpl()));
      if (it == optimizer.state().end()) continue;
      if (auto* sgd = dynamic_cast<torch::optim::SGDParamState*>(it->second.get())) {
        if (sgd->momentum_buffer().defined()) state.push_back(sgd->momentum_buffer());
      } else if (auto* adam = dynamic_cast<torch::optim::AdamParamState*>(it->second.get())) {
        state.push_back(adam->exp_avg());
        state.push_back(adam->exp_avg_sq());
        if (adam->max_exp_avg_sq().defined()) state.push_back(adam->max_exp_avg_sq());
      }
    }
  }
  return state;
}

void copy_optimizer_state(torch::optim::Optimizer& from, torch::optim::Optimizer& to) {
  torch::serialize::OutputArchive out;
  from.save(out);
  std::ostringstream bytes;
  out.save_to(bytes);
  torch::serialize::InputArchive in;
  std::istringstream source(bytes.str());
  in.load_from(source);
  to.load(in);
}

// Lays `tensors` end to end in `flat` from `offset` (as `weight` x each), or adds them there.
std::size_t pack(at::Tensor& flat, std::size_t offset, const std::vector<at::Tensor>& tensors,
                 bool add, double weight = 1.0) {
  for (const auto& t : tensors) {
    at::Tensor view = flat.narrow(0, static_cast<long>(offset), t.numel());
    if (add) {
      view.add_(t.reshape({-1}), weight);
    } else {
      view.copy_(t.reshape({-1}));
      if (weight != 1.0) view.mul_(weight);
    }
    offset += static_cast<std::size_t>(t.numel());
  }
  return offset;
}

std::size_t unpack(const at::Tensor& flat, std::size_t offset, std::vector<at::Tensor>& tensors) {
  for (auto& t : tensors) {
    t.copy_(flat.narrow(0, static_cast<long>(offset), t.numel()).view_as(t));
    offset += static_cast<std::size_t>(t.numel());
  }
  return offset;
}

std::size_t total_numel(const std::vector<at::Tensor>& tensors) {
  std::size_t n = 0;
  for (const auto& t : tensors) n += static_cast<std::size_t>(t.numel());
  return n;
}

}  // namespace

Slice worker_slice(std::size_t batch, int worker, int workers) {
  auto n = static_cast<std::size_t>(workers);
  auto w = static_cast<std::size_t>(worker);
  return {batch * w / n, batch * (w + 1) / n};
}

struct WorkerGroup::Worker {
  std::optional<torch::jit::Module> copy;  // workers other than the master
  torch::jit::Module* module = nullptr;
  std::vector<at::Tensor> params;  // trainable
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  LossPart last;
};

// Persistent worker threads, each with its own OpenMP team of `threads_per_worker`.
class WorkerGroup::Threads {
 public:
  Threads(int count, int threads_per_worker) : errors_(count) {
    const int caller_threads = at::get_num_threads();
    for (int i = 0; i < count; ++i) {
      pool_.emplace_back([this, i, threads_per_worker] { loop(i, threads_per_worker); });
    }
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return ready_ == static_cast<int>(pool_.size()); });
    lock.unlock();
    at::set_num_threads(caller_threads);  // the caller keeps all cores for validation
  }
  ~Threads() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (auto& t : pool_) t.join();
  }
  void run(const std::function<void(int)>& job) {
    std::unique_lock<std::mutex> lock(mutex_);
    job_ = &job;
    pending_ = static_cast<int>(pool_.size());
    ++generation_;
    wake_.notify_all();
    done_.wait(lock, [&] { return pending_ == 0; });
    for (auto& e : errors_) {
      if (e) std::rethrow_exception(std::exchange(e, nullptr));
    }
  }

 private:
  void loop(int index, int threads_per_worker) {
    at::get_num_threads();  // LibTorch's per-thread set-up first, then this worker's team
    at::set_num_threads(threads_per_worker);
    std::uint64_t seen = 0;
    std::unique_lock<std::mutex> lock(mutex_);
    ++ready_;
    done_.notify_all();
    for (;;) {
      wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
      const auto* job = job_;
      lock.unlock();
      try {
        (*job)(index);
      } catch (...) {
        errors_[index] = std::current_exception();
      }
      lock.lock();
      if (--pending_ == 0) done_.notify_all();
    }
  }

  std::vector<std::thread> pool_;
  std::vector<std::exception_ptr> errors_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(int)>* job_ = nullptr;
  std::uint64_t generation_ = 0;
  int pending_ = 0, ready_ = 0;
  bool stopping_ = false;
};

// The batch-norm statistics of a step summed over the local workers (in worker order, by the
// last to arrive) and then over the ranks. A worker that fails releases the others (and the run
// stops: a failed exchange is not reused).
class WorkerGroup::BatchNormExchange final : public StatisticsExchange {
 public:
  explicit BatchNormExchange(int local_workers) : slots_(static_cast<std::size_t>(local_workers)) {}

  void sum(int worker, double* values, std::size_t count) override {
    std::unique_lock<std::mutex> lock(mutex_);
    if (failed_) throw RunError("stopped: another worker of this step failed");
    slots_[static_cast<std::size_t>(worker)] = values;
    const std::uint64_t generation = generation_;
    if (++arrived_ < slots_.size()) {
      released_.wait(lock, [&] { return generation_ != generation || failed_; });
      if (generation_ == generation) throw RunError("stopped: another worker of this step failed");
      return;
    }
    total_.assign(slots_[0], slots_[0] + count);
    for (std::size_t w = 1; w < slots_.size(); ++w) {
      for (std::size_t i = 0; i < count; ++i) total_[i] += slots_[w][i];
    }
    try {
      world().allreduce_sum(total_.data(), count);
    } catch (...) {
      failed_ = true;
      released_.notify_all();
      throw;
    }
    for (double* slot : slots_) std::copy(total_.begin(), total_.end(), slot);
    arrived_ = 0;
    ++generation_;
    released_.notify_all();
  }
  void fail() {
    std::lock_guard<std::mutex> lock(mutex_);
    failed_ = true;
    released_.notify_all();
  }

 private:
  std::vector<double*> slots_;
  std::vector<double> total_;
  std::mutex mutex_;
  std::condition_variable released_;
  std::size_t arrived_ = 0;
  std::uint64_t generation_ = 0;
  bool failed_ = false;
};

WorkerGroup::WorkerGroup(torch::jit::Module& master, const std::vector<std::string>& trainable,
                         const OptimizerSettings& optimizer, const ParallelSettings& settings)
    : settings_(settings) {
  if (settings_.local_workers < 1) settings_.local_workers = 1;
  if (settings_.local_steps < 1) settings_.local_steps = 1;
  for (int w = 0; w < settings_.local_workers; ++w) {
    auto worker = std::make_unique<Worker>();
    if (w == 0) {
      worker->module = &master;
    } else {
      torch::NoGradGuard no_grad;  // else the copies' parameters hang off the master's in autograd
      worker->copy = master.clone();
      worker->module = &*worker->copy;
    }
    worker->params = trainable_parameters(*worker->module, trainable);
    if (w == 0 || !averages_gradients())
      worker->optimizer = make_optimizer(worker->params, optimizer);
    workers_.push_back(std::move(worker));
  }
  since_sync_.assign(workers_.size(), 0.0);
  if (synchronises_batch_norm(master) && averages_gradients() && workers() > 1)
    exchange_ = std::make_unique<BatchNormExchange>(settings_.local_workers);
  if (workers_.size() > 1)
    threads_ = std::make_unique<Threads>(settings_.local_workers, settings_.threads_per_worker);
}

WorkerGroup::~WorkerGroup() = default;

int WorkerGroup::workers() const {
  return settings_.local_workers * world().size();
}

int WorkerGroup::first_worker() const {
  return settings_.local_workers * world().rank();
}

torch::optim::Optimizer& WorkerGroup::optimizer() {
  return *workers_[0]->optimizer;
}

void WorkerGroup::set_learning_rate(const OptimizerSettings& s, std::size_t step,
                                    std::size_t total_steps) {
  for (auto& w : workers_) {
    if (w->optimizer) schedule_learning_rate(*w->optimizer, s, step, total_steps);
  }
}

void WorkerGroup::set_training(bool training) {
  for (auto& w : workers_) {
    if (training)
      w->module->train();
    else
      w->module->eval();
  }
}

void WorkerGroup::run_workers(const std::function<void(Worker&, int)>& work) {
  if (!threads_) return work(*workers_[0], first_worker());
  threads_->run([&](int w) { work(*workers_[w], first_worker() + w); });
}

std::size_t WorkerGroup::smallest_step() const {
  return exchange_ ? static_cast<std::size_t>(workers()) : 1;
}

StepResult WorkerGroup::step(const LossFunction& loss_of, std::size_t samples) {
  if (samples < smallest_step()) {
    throw RunError("a training step of " + std::to_string(samples) + " samples for " +
                   std::to_string(workers()) +
                   " workers with synchronised batch norm: every worker needs a sample; lower "
                   "num_machines or set sync_batch_norm false");
  }
  auto start = Clock::now();
  const bool local_optimizers = !averages_gradients();
  run_workers([&](Worker& w, int global_index) {
    ExchangeScope scope(exchange_.get(), global_index - first_worker());
    try {
      for (auto& p : w.params) p.mutable_grad() = at::Tensor();
      w.last = loss_of(*w.module, global_index);
      if (w.last.loss.defined()) w.last.loss.backward();
      if (local_optimizers && w.last.samples > 0) w.optimizer->step();
    } catch (...) {
      if (exchange_) exchange_->fail();
      throw;
    }
  });
  compute_s_ += seconds_since(start);
  // loss sum, denominator, stop flag: summed over every worker of every rank
  std::vector<double> totals = {0, 0, stop_requested() ? 1.0 : 0.0};
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    totals[0] += workers_[i]->last.loss_sum;
    totals[1] += workers_[i]->last.denominator;
    since_sync_[i] += workers_[i]->last.samples;
  }
  StepResult result;
  if (averages_gradients()) {
    average_gradients(totals);
    auto step_start = Clock::now();
    optimizer().step();
    compute_s_ += seconds_since(step_start);
    if (workers_.size() > 1) {
      auto copy_start = Clock::now();
      copy_master_to_workers();
      sync_s_ += seconds_since(copy_start);
    }
  } else if (++steps_since_sync_ >= settings_.local_steps) {
    average_weights(totals);
  } else {
    world().allreduce_sum(totals.data(), totals.size());
    result.synchronized = false;
  }
  result.mean_loss = totals[1] > 0 ? totals[0] / totals[1] : 0.0;
  result.stop_requested = totals[2] > 0;
  return result;
}

void WorkerGroup::average_gradients(std::vector<double>& totals) {
  if (workers_.size() == 1 && world().size() == 1) return;
  auto start = Clock::now();
  Worker& master = *workers_[0];
  std::vector<at::Tensor> master_buffers = float_buffers(*master.module);
  const std::size_t grads = total_numel(master.params);
  const std::size_t size = grads + total_numel(master_buffers);
  if (!flat_.defined() || static_cast<std::size_t>(flat_.numel()) != size)
    flat_ = at::empty({static_cast<long>(size)}, at::kFloat);
  flat_.zero_();
  for (auto& w : workers_) {  // fixed order: local worker 0, 1, ...
    std::vector<at::Tensor> g;
    // a parameter the loss did not use has no gradient: zeros of its size, so that every
    // later tensor keeps its place in flat_ (an undefined tensor has no size)
    for (auto& p : w->params) g.push_back(p.grad().defined() ? p.grad() : at::zeros_like(p));
    std::size_t offset = pack(flat_, 0, g, true);
    pack(flat_, offset, float_buffers(*w->module), true);
  }
  wait_for_ranks(start);
  world().allreduce_sum(flat_.data_ptr<float>(), size);
  world().allreduce_sum(totals.data(), totals.size());
  std::size_t offset = 0;
  for (auto& p : master.params) {
    p.mutable_grad() = flat_.narrow(0, static_cast<long>(offset), p.numel()).view_as(p);
    offset += static_cast<std::size_t>(p.numel());
  }
  flat_.narrow(0, static_cast<long>(grads), static_cast<long>(size - grads)).div_(workers());
  unpack(flat_, grads, master_buffers);
  sync_s_ += seconds_since(start);
  // the optimizer steps (by the caller), then the other local workers take the new weights
}

// Under MPI: waits at a barrier until every rank has finished its compute, so that the time a
// fast rank waits for a slow one (imbalance) is told apart from the exchange itself. `start`
// moves past the wait.
void WorkerGroup::wait_for_ranks(Clock::time_point& start) {
  if (world().size() == 1) return;
  auto wait_start = Clock::now();
  world().barrier();
  wait_s_ += seconds_since(wait_start);
  sync_s_ += std::chrono::duration<double>(wait_start - start).count();
  start = Clock::now();
}

void WorkerGroup::average_weights(std::vector<double>& totals) {
  auto start = Clock::now();
  torch::NoGradGuard no_grad;
  Worker& master = *workers_[0];
  auto tensors_of = [](Worker& w) {
    std::vector<at::Tensor> all = w.params;
    for (auto& b : float_buffers(*w.module)) all.push_back(b);
    for (auto& s : optimizer_state(*w.optimizer)) all.push_back(s);
    return all;
  };
  std::vector<at::Tensor> master_tensors = tensors_of(master);
  const std::size_t size = total_numel(master_tensors);
  if (!flat_.defined() || static_cast<std::size_t>(flat_.numel()) != size)
    flat_ = at::empty({static_cast<long>(size)}, at::kFloat);
  flat_.zero_();
  std::vector<double> counts = {0};
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    pack(flat_, 0, tensors_of(*workers_[i]), true, since_sync_[i]);
    counts[0] += since_sync_[i];
  }
  totals.push_back(counts[0]);
  wait_for_ranks(start);
  world().allreduce_sum(flat_.data_ptr<float>(), size);
  world().allreduce_sum(totals.data(), totals.size());
  const double samples = totals.back();
  totals.pop_back();
  if (samples > 0) {
    flat_.div_(samples);
    for (auto& w : workers_) {
      std::vector<at::Tensor> all = tensors_of(*w);
      unpack(flat_, 0, all);
    }
  }
  since_sync_.assign(workers_.size(), 0.0);
  steps_since_sync_ = 0;
  sync_s_ += seconds_since(start);
}

void WorkerGroup::synchronize() {
  if (averages_gradients()) {
    copy_master_to_workers();
  } else if (steps_since_sync_ > 0) {
    std::vector<double> totals = {0, 0, 0};
    average_weights(totals);
  }
}

void WorkerGroup::copy_master_to_workers() {
  torch::NoGradGuard no_grad;
  Worker& master = *workers_[0];
  std::vector<at::Tensor> buffers;
  for (const auto& b : master.module->named_buffers(true)) buffers.push_back(b.value);
  for (std::size_t i = 1; i < workers_.size(); ++i) {
    Worker& w = *workers_[i];
    for (std::size_t k = 0; k < w.params.size(); ++k) w.params[k].copy_(master.params[k]);
    std::size_t k = 0;
    for (const auto& b : w.module->named_buffers(true)) b.value.copy_(buffers[k++]);
    if (w.optimizer) copy_optimizer_state(*master.optimizer, *w.optimizer);
  }
}

}  // namespace medpipe
