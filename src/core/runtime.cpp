#include "core/runtime.h"

#include <cstdlib>  // defines __GLIBC__

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace medpipe {

void keep_freed_memory_in_process() {
#if defined(__GLIBC__)
  constexpr int kMmapThresholdBytes = 32 << 20;  // glibc refuses more (HEAP_MAX_SIZE / 2)
  constexpr int kTrimThresholdBytes = 1 << 30;
  mallopt(M_MMAP_THRESHOLD, kMmapThresholdBytes);
  mallopt(M_TRIM_THRESHOLD, kTrimThresholdBytes);
#endif
}

}  // namespace medpipe
