// Preprocessing throughput: decode (DICOM with rescale, or PNG), convert channels, resize,
// normalise, for every file of a folder, with N worker threads. The Python peer
// (bench/preprocess_peer.py) does the same steps on the same files. read_and_touch is the limit
// on the same files: each read whole into memory and every 16-bit word of it converted to float
// once (into a reused buffer), which any decoder of an uncompressed file has to do at least.
//   bench_preprocess --benchmark_format=json   (MEDPIPE_BENCH_DIR: the folder; SIZE: output px)
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "data/pairing.h"
#include "io/image_io.h"
#include "preprocess/preprocess.h"

namespace {

std::vector<medpipe::Sample> files() {
  const char* dir = std::getenv("MEDPIPE_BENCH_DIR");
  return medpipe::list_images(dir ? dir : "bench-data/dicom", "MEDPIPE_BENCH_DIR");
}

// Every file of the folder through `per_thread(files, next)` on N threads (N = the benchmark's
// argument), each thread taking the next index until none is left; each returns a checksum.
template <class PerThread>
void over_files(benchmark::State& state, PerThread per_thread) {
  static const std::vector<medpipe::Sample> samples = files();
  const int threads = static_cast<int>(state.range(0));
  for (auto _ : state) {
    std::atomic<std::size_t> next{0};
    std::atomic<double> checksum{0};
    auto work = [&] {
      const double sum = per_thread(samples, next);
      double c = checksum.load();
      while (!checksum.compare_exchange_weak(c, c + sum)) {
      }
    };
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) pool.emplace_back(work);
    for (auto& t : pool) t.join();
    benchmark::DoNotOptimize(checksum.load());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * samples.size()));
  state.counters["threads"] = threads;
}

void preprocess_folder(benchmark::State& state) {
  const char* size = std::getenv("SIZE");
  const medpipe::PreprocessSpec spec{1, size ? std::atoi(size) : 224, "stretch", "zscore"};
  over_files(state,
             [&spec](const std::vector<medpipe::Sample>& samples, std::atomic<std::size_t>& next) {
               double sum = 0;
               for (std::size_t i = next++; i < samples.size(); i = next++) {
                 sum += medpipe::preprocess_file(samples[i].path, spec).value().chw[0];
               }
               return sum;
             });
}

void read_and_touch(benchmark::State& state) {
  over_files(state,
             [](const std::vector<medpipe::Sample>& samples, std::atomic<std::size_t>& next) {
               std::vector<std::uint16_t> words;
               std::vector<float> values;
               double sum = 0;
               for (std::size_t i = next++; i < samples.size(); i = next++) {
                 std::FILE* f = std::fopen(samples[i].path.c_str(), "rb");
                 if (!f) continue;
                 std::fseek(f, 0, SEEK_END);
                 const std::size_t size = static_cast<std::size_t>(std::ftell(f));
                 std::fseek(f, 0, SEEK_SET);
                 words.resize(size / 2);
                 values.resize(size / 2);
                 const std::size_t got = std::fread(words.data(), 2, words.size(), f);
                 std::fclose(f);
                 for (std::size_t w = 0; w < got; ++w) values[w] = static_cast<float>(words[w]);
                 sum += got ? values[got / 2] : 0;
               }
               return sum;
             });
}

BENCHMARK(read_and_touch)
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(2.0);

BENCHMARK(preprocess_folder)
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(2.0);

}  // namespace

#include "bench_main.h"
