// fuzz/fuzz_event.cpp: an event's JSON: parsed (bounded nesting), applied, validated, and stored
// back as the run's config.json is.
#include "core/config.h"
#include "harness.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace medpipe;
  fuzz::set_fuzz_limits();
  std::string text(reinterpret_cast<const char*>(data), size);
  fuzz::within_contract([&] {
    Config config = parse_event_text(text, "event.json");
    validate_config(config);
    (void)config_to_json(config);
  });
  return 0;
}
