// core/clock.h: wall-clock durations of stages and steps (a monotonic clock).
#pragma once
#include <chrono>

namespace medpipe {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace medpipe
