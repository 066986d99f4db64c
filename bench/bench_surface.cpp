// HD95 + ASSD (both directions' surface distances) of two masks, medpipe next to scipy:
// bench/surface_peer.py computes the same on the same .npy files (written by it first).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>

#include "data/masks.h"
#include "metrics/segmentation.h"

namespace {

void surface_distances(benchmark::State& state, const std::string& stem) {
  const char* dir = std::getenv("MEDPIPE_BENCH_DIR");
  std::string base = std::string(dir ? dir : ".") + "/" + stem;
  auto truth = medpipe::read_label_volume(base + "_a.npy");
  auto pred = medpipe::read_label_volume(base + "_b.npy");
  if (!truth || !pred) {
    state.SkipWithError("masks missing: run bench/surface_peer.py --write first");
    return;
  }
  for (auto _ : state) {
    medpipe::RegionScores s = medpipe::region_scores(truth.value(), pred.value(), 1);
    benchmark::DoNotOptimize(s);
    state.counters["hd95"] = s.hausdorff95;
    state.counters["assd"] = s.assd;
  }
}

BENCHMARK_CAPTURE(surface_distances, disk_512x512, std::string("disk512"))
    ->Unit(benchmark::kMillisecond)
    ->MinTime(1.0);
BENCHMARK_CAPTURE(surface_distances, sphere_128x128x128, std::string("sphere128"))
    ->Unit(benchmark::kMillisecond)
    ->MinTime(1.0);

}  // namespace

#include "bench_main.h"
