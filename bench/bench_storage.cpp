// Fetching many small objects from an S3 endpoint into the local mirror (what an s3://
// images_bucket costs before a run), at the concurrency of MEDPIPE_BENCH_CONCURRENCY (8).
// bench/storage.sh starts moto, fills a bucket and runs this next to boto3 with as many threads.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>

#include "core/fs.h"
#include "storage/storage.h"

namespace {

void fetch_bucket(benchmark::State& state) {
  const char* uri = std::getenv("MEDPIPE_BENCH_URI");
  const char* concurrency = std::getenv("MEDPIPE_BENCH_CONCURRENCY");
  if (!uri) {
    state.SkipWithError("set MEDPIPE_BENCH_URI (bench/storage.sh does)");
    return;
  }
  medpipe::StorageSettings settings;
  settings.concurrency = concurrency ? std::atoi(concurrency) : 8;
  medpipe::configure_storage(settings);
  std::size_t objects = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::filesystem::remove_all(medpipe::medpipe_cache_root());  // a cold cache every time
    state.ResumeTiming();
    medpipe::fs::path local = medpipe::resolve_location(uri, "images_bucket");
    objects = 0;
    for (auto& e : std::filesystem::recursive_directory_iterator(local)) objects += e.is_regular_file();
  }
  state.counters["objects"] = static_cast<double>(objects);
  state.counters["objects_per_s"] =
      benchmark::Counter(static_cast<double>(objects), benchmark::Counter::kIsIterationInvariantRate);
}

BENCHMARK(fetch_bucket)->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();

}  // namespace

#include "bench_main.h"
