// Loading pretrained weights and saving modules.
#include <torch/serialize.h>

#include <algorithm>
#include <fstream>
#include <iterator>

#include "core/error.h"
#include "core/fs.h"
#include "core/log.h"
#include "models/models.h"

namespace medpipe {

namespace {

std::string to_attribute_name(std::string name) {
  std::replace(name.begin(), name.end(), '.', '_');
  return name;
}

// name -> tensor from a TorchScript archive, else from a pickled state dict.
std::vector<std::pair<std::string, at::Tensor>> read_named_tensors(const std::string& path) {
  std::vector<std::pair<std::string, at::Tensor>> out;
  try {
    torch::jit::Module loaded = torch::jit::load(path);
    for (const auto& p : loaded.named_parameters(true)) out.emplace_back(p.name, p.value);
    for (const auto& b : loaded.named_buffers(true)) out.emplace_back(b.name, b.value);
    return out;
  } catch (const std::exception&) {
    // not TorchScript: try a state dict
  }
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  c10::IValue value;
  try {
    value = torch::pickle_load(bytes);
  } catch (const std::exception& e) {
    throw UsageError("event key 'pretrained': " + path +
                     " is neither TorchScript nor a state dict saved by torch.save(model.state_dict()); "
                     "save it with torch.jit.save(torch.jit.script(model), PATH) or torch.save(model.state_dict(), PATH)");
  }
  if (!value.isGenericDict()) {
    throw UsageError("event key 'pretrained': " + path + " holds no dictionary of tensors");
  }
  for (const auto& item : value.toGenericDict()) {
    if (item.key().isString() && item.value().isTensor()) {
      out.emplace_back(item.key().toStringRef(), item.value().toTensor());
    }
  }
  return out;
}

}  // namespace

std::vector<std::string> load_pretrained(torch::jit::Module& module, const std::string& path) {
  if (!fs::is_regular_file(path)) {
    throw UsageError("event key 'pretrained': " + path + " does not exist; give a weights file");
  }
  torch::NoGradGuard no_grad;
  std::vector<std::string> not_loaded;
  int loaded = 0;
  for (const auto& [name, tensor] : read_named_tensors(path)) {
    std::string attr = to_attribute_name(name);
    if (!module.hasattr(attr)) continue;
    at::Tensor target = module.attr(attr).toTensor();
    if (target.sizes() != tensor.sizes()) {
      not_loaded.push_back(attr);
      continue;
    }
    target.copy_(tensor);
    ++loaded;
  }
  if (loaded == 0) {
    throw UsageError("event key 'pretrained': no tensor in " + path +
                     " matches the network's parameters; check the arch");
  }
  log_info("pretrained: loaded " + std::to_string(loaded) + " tensors" +
           (not_loaded.empty() ? "" : ", " + std::to_string(not_loaded.size()) + " of another shape kept new"));
  return not_loaded;
}

void save_module(torch::jit::Module& module, const std::string& path) {
  atomic_write(path, [&](const fs::path& temp) { module.save(temp.string()); });
}

}  // namespace medpipe
