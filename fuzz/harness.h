// fuzz/harness.h: what every libFuzzer harness shares. A harness feeds one reader of untrusted
// bytes; the contract allows it to answer with a failure (a Result's reason), a UsageError or a
// RunError. Anything else (a signal, a sanitizer report, another exception, a hang, memory
// beyond the limits) is a finding.
#pragma once
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>  // what the readers answer is JSON in places
#include <string>

#include "core/error.h"
#include "core/fs.h"

namespace medpipe::fuzz {

// The input's bytes as the file `name` in this process's scratch folder (under /dev/shm where
// there is one), for the readers that take a path.
fs::path input_file(const std::uint8_t* data, std::size_t size, const std::string& name);

// Set once per process: an image budget (2^22 values) small enough that a header the readers
// believe cannot exhaust the fuzzer's memory limit, and logging quiet.
void set_fuzz_limits();

// Runs `read`, letting the contract's answers pass.
template <class F>
void within_contract(F&& read) {
  try {
    read();
  } catch (const UsageError&) {
  } catch (const RunError&) {
  }
}

}  // namespace medpipe::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
