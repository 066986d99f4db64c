// core/blas_kernel.h: which OpenBLAS kernels the process runs, chosen from the CPU's features.
//
// OpenBLAS (DYNAMIC_ARCH) picks its kernels once, when it loads, from its own table of CPU
// models; a CPU newer than its table gets generic SSE3 kernels ("Prescott"), a fifth of the
// machine for the fully-connected layers and the MLP. Where the user has not set
// OPENBLAS_CORETYPE, choose_blas_kernel() compares OpenBLAS's choice with what cpuid offers
// (AVX-512 F/BW/DQ/VL, AVX2 + FMA, AVX) and, when OpenBLAS chose worse, sets OPENBLAS_CORETYPE
// and re-executes the process before anything else has started. The kernels then in use are
// checked once against a double-precision reference; a failed check falls back to OpenBLAS's
// own choice (again by re-executing), with a warning. A user's OPENBLAS_CORETYPE always wins.
#pragma once
#include <nlohmann/json_fwd.hpp>
#include <string>

namespace medpipe {

struct CpuVectorFeatures {
  bool avx = false, avx2 = false, fma = false;
  bool avx512f = false, avx512bw = false, avx512dq = false, avx512vl = false;
};
CpuVectorFeatures detect_cpu_vector_features();

// The OpenBLAS core name the CPU's features allow ("SkylakeX", "Haswell", "Sandybridge"), or
// "" where OpenBLAS's generic kernels are all there is.
std::string best_blas_core(const CpuVectorFeatures& cpu);
// 0 generic (SSE*), 1 AVX, 2 AVX2 + FMA, 3 AVX-512: the instruction set of an OpenBLAS core.
int blas_core_rank(const std::string& core_name);
// The core to force, or "" to keep OpenBLAS's choice: only a better one than it made.
std::string blas_core_to_force(const std::string& openblas_choice, const CpuVectorFeatures& cpu);

// Call first in main(), before MPI or threads start: may replace the process (execv).
void choose_blas_kernel(char** argv);

struct BlasKernel {
  std::string core;      // what OpenBLAS runs, as it names it; "" without OpenBLAS
  std::string source;    // "openblas" (its own detection), "medpipe" (cpuid), "OPENBLAS_CORETYPE"
  std::string detected;  // OpenBLAS's own choice, where medpipe overrode it
  std::string check;     // "passed", "failed", "not run"
  std::string warning;   // why medpipe fell back, for the run's log
};
const BlasKernel& blas_kernel();
nlohmann::json blas_kernel_json();  // for model.json and the event log
std::string blas_kernel_line();     // for --version

}  // namespace medpipe
