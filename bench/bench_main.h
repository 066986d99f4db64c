// The main() of each benchmark binary: the process settings the medpipe binary uses at the
// start of every run (core/runtime.h), then Google Benchmark. Include once, in the binary's file.
#pragma once
#include <benchmark/benchmark.h>

#include "core/runtime.h"

int main(int argc, char** argv) {
  medpipe::keep_freed_memory_in_process();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
