// core/parallel.h: many independent items (images, objects) on `workers` threads, with a progress
// bar; the first failure (or a stop signal) is rethrown once the workers have stopped.
#pragma once
#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/progress.h"
#include "core/runtime.h"

namespace medpipe {

template <class Job>
void parallel_for(std::size_t n, int workers, const std::string& stage, const std::string& unit,
                  Job job) {
  std::atomic<std::size_t> next{0};
  std::exception_ptr failure;
  std::mutex mutex;
  Progress progress(stage, n, unit);
  auto work = [&] {
    for (std::size_t i = next++; i < n; i = next++) {
      try {
        throw_if_stopped();
        job(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex);
        if (!failure) failure = std::current_exception();
        next = n;
      }
      progress.advance();
    }
  };
  std::vector<std::thread> pool;
  for (int w = 1; w < std::max(1, std::min<int>(workers, static_cast<int>(n))); ++w) {
    pool.emplace_back(work);
  }
  work();
  for (auto& t : pool) t.join();
  progress.finish();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace medpipe
