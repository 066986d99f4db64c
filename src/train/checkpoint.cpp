#include "train/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <mutex>
#include <sstream>

#include "core/error.h"
#include "core/json_value.h"
#include "core/log.h"
#include "core/runtime.h"
#include "core/world.h"

namespace medpipe {

Checkpointer::Checkpointer(fs::path path, std::string fingerprint, int every_steps)
    : path_(std::move(path)), fingerprint_(std::move(fingerprint)), every_steps_(every_steps) {}

void Checkpointer::save(torch::jit::Module& module, torch::optim::Optimizer& optimizer,
                        const std::vector<at::Tensor>& extra,
                        const TrainingPosition& position) const {
  if (path_.empty() || !is_lead_rank()) return;
  torch::serialize::OutputArchive archive;
  for (const auto& p : module.named_parameters(true))
    archive.write("p." + p.name, p.value.detach());
  for (const auto& b : module.named_buffers(true)) archive.write("b." + b.name, b.value.detach());
  torch::serialize::OutputArchive optimizer_archive;
  optimizer.save(optimizer_archive);
  archive.write("optimizer", optimizer_archive);
  for (std::size_t i = 0; i < extra.size(); ++i) archive.write("x." + std::to_string(i), extra[i]);
  at::Generator generator = at::detail::getDefaultCPUGenerator();
  {
    std::lock_guard<std::mutex> lock(generator.mutex());
    archive.write("rng", generator.get_state());
  }
  nlohmann::json meta = {{"fingerprint", fingerprint_},   {"epoch", position.epoch},
                         {"batch", position.batch},       {"step", position.step},
                         {"loss_sum", position.loss_sum}, {"seen", position.seen},
                         {"loop", position.loop},         {"extra", extra.size()}};
  archive.write("meta", c10::IValue(json_text(meta)));
  atomic_write_stream(path_, [&](std::ostream& out) { archive.save_to(out); });
  log_event("checkpoint", {{"epoch", position.epoch + 1}, {"step", position.step}});
}

bool Checkpointer::resume(torch::jit::Module& module, torch::optim::Optimizer& optimizer,
                          std::vector<at::Tensor>& extra, TrainingPosition& position) const {
  std::error_code ec;
  if (path_.empty() || !fs::exists(path_, ec)) return false;
  torch::serialize::InputArchive archive;
  nlohmann::json meta;
  try {
    archive.load_from(path_.string());
    c10::IValue text;
    archive.read("meta", text);
    meta = nlohmann::json::parse(text.toStringRef());
  } catch (const std::exception&) {
    log_warn("ignoring an unreadable training state " + path_.string());
    return false;
  }
  if (meta.value("fingerprint", "") != fingerprint_) {
    log_info("the training state in " + path_.string() +
             " belongs to another run (other settings or data); starting afresh");
    return false;
  }
  torch::NoGradGuard no_grad;
  auto read = [&](const std::string& key) {
    at::Tensor t;  // a fresh tensor each time: read() aliases the archive's storage
    archive.read(key, t);
    return t;
  };
  for (const auto& p : module.named_parameters(true)) p.value.copy_(read("p." + p.name));
  for (const auto& b : module.named_buffers(true)) b.value.copy_(read("b." + b.name));
  torch::serialize::InputArchive optimizer_archive;
  archive.read("optimizer", optimizer_archive);
  optimizer.load(optimizer_archive);
  extra.resize(meta["extra"].get<std::size_t>());
  for (std::size_t i = 0; i < extra.size(); ++i) extra[i] = read("x." + std::to_string(i)).clone();
  at::Generator generator = at::detail::getDefaultCPUGenerator();
  {
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(read("rng"));
  }
  position = {meta["epoch"].get<int>(),        meta["batch"].get<std::size_t>(),
              meta["step"].get<std::size_t>(), meta["loss_sum"].get<double>(),
              meta["seen"].get<std::size_t>(), meta["loop"]};
  log_info("resuming from " + path_.string() + ": epoch " + std::to_string(position.epoch + 1) +
           ", step " + std::to_string(position.step));
  log_event("resume", {{"epoch", position.epoch + 1}, {"step", position.step}});
  return true;
}

void Checkpointer::after_step(torch::jit::Module& module, torch::optim::Optimizer& optimizer,
                              const std::vector<at::Tensor>& extra,
                              const TrainingPosition& position, bool stop) const {
  bool due = every_steps_ > 0 && position.step % every_steps_ == 0;
  if (due || stop) save(module, optimizer, extra, position);
  if (stop) {
    throw RunError("stopped by a signal at epoch " + std::to_string(position.epoch + 1) +
                   ", step " + std::to_string(position.step) +
                   (path_.empty() ? "" : "; the state is saved: re-run the same event to resume"));
  }
}

void Checkpointer::finish() const {
  std::error_code ec;
  if (!path_.empty() && is_lead_rank()) fs::remove(path_, ec);
}

}  // namespace medpipe
