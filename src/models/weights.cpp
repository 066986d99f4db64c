// Loading pretrained weights and saving modules.
#include <torch/serialize.h>
#include <zlib.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <sstream>

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

std::uint32_t read_u32(const std::vector<char>& b, std::size_t at) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[at + i]);
  return v;
}

void write_u32(std::vector<char>& b, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

// LibTorch 1.13's unpickler turns Python's collections.OrderedDict (what state_dict() returns)
// into None, and has no POP. In the archive's data.pkl, `PROTO 2, OrderedDict()` (GLOBAL,
// BINPUT 0, EMPTY_TUPLE, REDUCE) becomes `PROTO 2, MARK, GLOBAL, BINPUT 0, EMPTY_DICT` (the
// same length; the memoised OrderedDict functor keeps the nested _metadata ones working) and
// the _metadata state that follows the items becomes TUPLE + STOP, so the result is
// (functor, dict): the dict is element 1.
// The entry is stored uncompressed: only its CRC-32 changes, in the central directory and the
// local header or data descriptor.
std::size_t read_u16(const std::vector<char>& b, std::size_t at) {
  return static_cast<unsigned char>(b[at]) |
         (static_cast<std::size_t>(static_cast<unsigned char>(b[at + 1])) << 8);
}

void make_ordered_dict_plain(std::vector<char>& zip) {
  const std::string call(
      "\x80\x02"
      "ccollections\nOrderedDict\nq\x00)R",
      31);
  const std::string patched(
      "\x80\x02("
      "ccollections\nOrderedDict\nq\x00}",
      31);
  for (std::size_t c = 0; c + 46 < zip.size(); ++c) {
    if (read_u32(zip, c) != 0x02014b50) continue;  // central directory entry
    std::size_t name_len = read_u16(zip, c + 28);
    std::string name(zip.data() + c + 46, name_len);
    if (name.size() < 8 || name.compare(name.size() - 8, 8, "data.pkl") != 0) continue;
    std::size_t size = read_u32(zip, c + 24), local = read_u32(zip, c + 42);
    if (local + 30 > zip.size()) return;
    std::size_t data = local + 30 + read_u16(zip, local + 26) + read_u16(zip, local + 28);
    if (data + size > zip.size() || size < call.size()) return;
    std::string pickle(zip.data() + data, size);
    const std::string metadata("X\x09\x00\x00\x00_metadata", 14);
    std::size_t meta = pickle.rfind(metadata);
    if (pickle.compare(0, call.size(), call) != 0 || meta == std::string::npos || meta < 4) return;
    std::size_t state = pickle[meta - 3] == '}' && pickle[meta - 2] == 'q'                ? meta - 3
                        : meta >= 6 && pickle[meta - 6] == '}' && pickle[meta - 5] == 'r' ? meta - 6
                                                                                          : 0;
    if (state == 0) return;
    std::copy(patched.begin(), patched.end(), zip.begin() + static_cast<long>(data));
    zip[data + state] = 't';      // TUPLE from our MARK where the _metadata state began ...
    zip[data + state + 1] = '.';  // ... and STOP: the rest is never read
    auto crc = static_cast<std::uint32_t>(
        ::crc32(0L, reinterpret_cast<const Bytef*>(zip.data() + data), static_cast<uInt>(size)));
    write_u32(zip, c + 16, crc);
    if (read_u32(zip, local + 14) != 0) write_u32(zip, local + 14, crc);
    std::size_t descriptor = data + size;  // present when bit 3 of the flags is set
    if ((read_u16(zip, local + 6) & 8) && descriptor + 8 <= zip.size()) {
      write_u32(zip, read_u32(zip, descriptor) == 0x08074b50 ? descriptor + 4 : descriptor, crc);
    }
    return;
  }
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
  make_ordered_dict_plain(bytes);
  c10::IValue value;
  try {
    value = torch::pickle_load(bytes);
  } catch (const std::exception& e) {
    std::string cause = e.what();
    cause = cause.substr(0, cause.find('\n'));
    throw UsageError("event key 'pretrained': " + path +
                     " is neither TorchScript nor a state dict saved by "
                     "torch.save(model.state_dict()) (" +
                     cause +
                     "); "
                     "save it with torch.jit.save(torch.jit.script(model), PATH) or "
                     "torch.save(model.state_dict(), PATH)");
  }
  if (value.isTuple() && value.toTupleRef().elements().size() >= 2)
    value = value.toTupleRef().elements()[1];
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
      if (target.dim() >= 4 && target.dim() == tensor.dim() && target.size(0) == tensor.size(0) &&
          target.sizes().slice(2) == tensor.sizes().slice(2))
        throw UsageError("event key 'pretrained': the convolution " + name + " of " + path +
                         " takes " + std::to_string(tensor.size(1)) +
                         " input channels, the network here " + std::to_string(target.size(1)) +
                         (attr == "stem_weight" || attr == "features_0_weight"
                              ? ": set num_channels to " + std::to_string(tensor.size(1)) +
                                    " (1 gray, 3 RGB), or use weights for these images"
                              : ": the weights are of another network; check the arch and widths"));
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
           (not_loaded.empty()
                ? ""
                : ", " + std::to_string(not_loaded.size()) + " of another shape kept new"));
  return not_loaded;
}

void save_module(torch::jit::Module& module, const std::string& path) {
  // through the checked writer: a full disk is a RunError with the old file intact, never an
  // abort from LibTorch's file writer
  torch::jit::Module portable = portable_module(module);
  atomic_write_stream(path, [&](std::ostream& out) { portable.save(out); });
}

}  // namespace medpipe
