// Allreduce bandwidth between MPI ranks through medpipe's communicator (core/world.h), the
// number the scaling model in docs/benchmarks.md starts from. Run under mpirun:
//   mpirun -np 2 bench_allreduce [repeats]    -> one JSON line per size on rank 0
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "core/runtime.h"
#include "core/world.h"

int main(int argc, char** argv) {
  medpipe::start_world(&argc, &argv, 120);
  medpipe::keep_freed_memory_in_process();  // as medpipe run does
  medpipe::Communicator& world = medpipe::world();
  const int repeats = argc > 1 ? std::atoi(argv[1]) : 5;
  // the small CNN's gradient (~2.8 MB) up to AlexNet's last three layers (58.6 M floats)
  for (std::size_t floats : {std::size_t{1} << 16, std::size_t{700000}, std::size_t{1} << 22,
                             std::size_t{1} << 24, std::size_t{58631144}}) {
    std::vector<float> data(floats, 1.0f);
    std::vector<double> seconds;
    for (int r = 0; r < repeats + 1; ++r) {
      world.barrier();
      auto start = std::chrono::steady_clock::now();
      world.allreduce_sum(data.data(), data.size());
      double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (r > 0) seconds.push_back(s);  // the first call sets up buffers
    }
    std::sort(seconds.begin(), seconds.end());
    if (world.rank() == 0) {
      std::printf("{\"ranks\": %d, \"bytes\": %zu, \"median_s\": %.6f, \"min_s\": %.6f}\n",
                  world.size(), floats * sizeof(float), seconds[seconds.size() / 2], seconds[0]);
      std::fflush(stdout);
    }
  }
  medpipe::stop_world();
  return 0;
}
