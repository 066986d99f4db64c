#include "core/runtime.h"

#include <csignal>
#include <cstdlib>  // defines __GLIBC__

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "core/error.h"

namespace medpipe {

void keep_freed_memory_in_process() {
#if defined(__GLIBC__)
  constexpr int kMmapThresholdBytes = 32 << 20;  // glibc refuses more (HEAP_MAX_SIZE / 2)
  constexpr int kTrimThresholdBytes = 1 << 30;
  mallopt(M_MMAP_THRESHOLD, kMmapThresholdBytes);
  mallopt(M_TRIM_THRESHOLD, kTrimThresholdBytes);
#endif
}

namespace {
volatile std::sig_atomic_t stop_flag = 0;
extern "C" void on_stop_signal(int signal_number) {
  stop_flag = 1;
  std::signal(signal_number, SIG_DFL);  // a second signal stops at once
}
}  // namespace

void install_stop_signals() {
  std::signal(SIGTERM, on_stop_signal);
  std::signal(SIGINT, on_stop_signal);
}

void throw_if_stopped() {
  if (stop_flag != 0)
    throw RunError("stopped by a signal (SIGTERM or SIGINT); run the same command again to resume");
}

bool stop_requested() {
  return stop_flag != 0;
}

}  // namespace medpipe
