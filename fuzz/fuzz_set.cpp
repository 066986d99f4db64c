// fuzz/fuzz_set.cpp: `--set key=value`: the first byte picks the key (every key is reached), the
// rest is the value's text, parsed by the key's type and checked against its allowed values.
#include "core/config.h"
#include "harness.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace medpipe;
  if (size == 0) return 0;
  fuzz::set_fuzz_limits();
  const auto& fields = config_fields();
  const std::string& key = fields[data[0] % fields.size()].key;
  std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  fuzz::within_contract([&] {
    Config config;
    set_config_text(config, key, text);
    validate_config(config);
    (void)config_to_json(config);
  });
  return 0;
}
