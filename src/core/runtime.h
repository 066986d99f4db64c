// Process-wide settings that make the training loop fast: see runtime.cpp.
#pragma once

namespace medpipe {

// Keeps freed tensor memory in the process instead of handing it back to the kernel.
// glibc serves blocks over its (adaptive) mmap threshold with fresh mmaps and trims the heap
// top eagerly; LibTorch frees and re-allocates the same activation buffers at every step, so
// each step paid for page faults on memory it had just released (17% of a training run's
// time in exc_page_fault, 2x wall time on BreastMNIST). Blocks above 32 MiB are still
// mmapped and returned. No-op off glibc, and under tcmalloc (the binaries' allocator where they
// are not built with sanitizers: it keeps freed spans itself, large ones included).
void keep_freed_memory_in_process();

// SIGTERM and SIGINT set a flag instead of killing the process, so a training loop can save its
// state at the next step and exit (exit 1, resumable). A second signal kills as usual.
void install_stop_signals();
bool stop_requested();
// Every stage's long loops call this between items: after a stop signal it throws RunError
// (exit 1; what finished is kept, so the same command resumes).
void throw_if_stopped();

}  // namespace medpipe
