#include "core/blas_kernel.h"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <vector>

namespace medpipe {

namespace {

// Set by medpipe before it re-executes itself: "forced:<core>:<openblas's choice>" or
// "rejected:<core>:<openblas's choice>". Cleared once read, so child processes (a Slurm job on
// another node, say) detect their own CPU.
constexpr const char* kChoiceVariable = "MEDPIPE_BLAS_CHOICE";

BlasKernel& state() {
  static BlasKernel kernel{"", "", "", "not run", ""};
  return kernel;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string trimmed(const char* text) {
  std::string s = text ? text : "";
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

template <typename Function>
Function* openblas_symbol(const char* name) {
  return reinterpret_cast<Function*>(::dlsym(RTLD_DEFAULT, name));
}

std::string openblas_core() {
  auto* corename = openblas_symbol<char*()>("openblas_get_corename");
  return corename ? trimmed(corename()) : "";
}

// C = op(A) B with the kernels in use, against a double-precision sum, on sizes that reach the
// kernels' edge cases. Small enough for OpenBLAS to stay on one thread (no pool started).
bool sgemm_matches_reference() {
  using Sgemm = void(int, int, int, int, int, int, float, const float*, int, const float*, int,
                     float, float*, int);
  auto* sgemm = openblas_symbol<Sgemm>("cblas_sgemm");
  if (!sgemm) return false;
  constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;
  const int m = 45, n = 37, k = 97;
  std::vector<float> a(static_cast<std::size_t>(m) * k), b(static_cast<std::size_t>(k) * n);
  unsigned seed = 12345;
  auto next = [&seed] {
    seed = seed * 1664525u + 1013904223u;
    return static_cast<float>(seed >> 8) / 8388608.0f - 1.0f;  // [-1, 1)
  };
  for (auto& v : a) v = next();
  for (auto& v : b) v = next();
  for (int transposed = 0; transposed < 2; ++transposed) {
    // A is m x k (row-major) or, transposed, stored k x m
    auto a_at = [&](int i, int p) {
      return transposed ? a[static_cast<std::size_t>(p) * m + i]
                        : a[static_cast<std::size_t>(i) * k + p];
    };
    std::vector<float> c(static_cast<std::size_t>(m) * n, 0.0f);
    sgemm(kRowMajor, transposed ? kTrans : kNoTrans, kNoTrans, m, n, k, 1.0f, a.data(),
          transposed ? m : k, b.data(), n, 0.0f, c.data(), n);
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j) {
        double reference = 0;
        for (int p = 0; p < k; ++p)
          reference += double(a_at(i, p)) * b[static_cast<std::size_t>(p) * n + j];
        if (!(std::fabs(c[static_cast<std::size_t>(i) * n + j] - reference) <= 1e-3)) return false;
      }
  }
  return true;
}

void reexecute(char** argv, const std::string& choice) {
  ::setenv(kChoiceVariable, choice.c_str(), 1);
  ::execv("/proc/self/exe", argv);  // returns only on failure: go on with what is loaded
  ::unsetenv(kChoiceVariable);
}

}  // namespace

CpuVectorFeatures detect_cpu_vector_features() {
  CpuVectorFeatures cpu;
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();  // the checks below include the OS's saving of the AVX registers
  cpu.avx = __builtin_cpu_supports("avx");
  cpu.avx2 = __builtin_cpu_supports("avx2");
  cpu.fma = __builtin_cpu_supports("fma");
  cpu.avx512f = __builtin_cpu_supports("avx512f");
  cpu.avx512bw = __builtin_cpu_supports("avx512bw");
  cpu.avx512dq = __builtin_cpu_supports("avx512dq");
  cpu.avx512vl = __builtin_cpu_supports("avx512vl");
#endif
  return cpu;
}

std::string best_blas_core(const CpuVectorFeatures& cpu) {
  if (cpu.avx512f && cpu.avx512bw && cpu.avx512dq && cpu.avx512vl) return "SkylakeX";
  if (cpu.avx2 && cpu.fma) return "Haswell";
  if (cpu.avx) return "Sandybridge";
  return "";
}

int blas_core_rank(const std::string& core_name) {
  const std::string name = lower(core_name);
  for (const char* avx512 : {"skylakex", "cooperlake", "sapphirerapids"})
    if (name == avx512) return 3;
  for (const char* avx2 : {"haswell", "zen", "skylake"})
    if (name == avx2) return 2;
  for (const char* avx : {"sandybridge", "bulldozer", "piledriver", "steamroller", "excavator"})
    if (name == avx) return 1;
  return 0;
}

std::string blas_core_to_force(const std::string& openblas_choice, const CpuVectorFeatures& cpu) {
  const std::string best = best_blas_core(cpu);
  if (best.empty() || blas_core_rank(best) <= blas_core_rank(openblas_choice)) return "";
  return best;
}

void choose_blas_kernel(char** argv) {
  BlasKernel& k = state();
  k.core = openblas_core();
  if (k.core.empty()) return;  // another BLAS: nothing to choose
  const std::string marker = trimmed(std::getenv(kChoiceVariable));
  ::unsetenv(kChoiceVariable);
  const bool passed = sgemm_matches_reference();
  k.check = passed ? "passed" : "failed";
  if (marker.rfind("forced:", 0) == 0 || marker.rfind("rejected:", 0) == 0) {
    const auto first = marker.find(':'), second = marker.find(':', first + 1);
    const std::string forced = marker.substr(first + 1, second - first - 1);
    k.detected = second == std::string::npos ? "" : marker.substr(second + 1);
    if (marker[0] == 'f' && !passed) {
      ::unsetenv("OPENBLAS_CORETYPE");
      reexecute(argv, "rejected:" + forced + ":" + k.detected);
    }
    if (marker[0] == 'f') {
      k.source = "medpipe";
      ::unsetenv("OPENBLAS_CORETYPE");  // read at load; children choose for their own CPU
      return;
    }
    k.source = "openblas";
    k.warning =
        "the BLAS kernel " + forced + " failed its numerical check; using OpenBLAS's own " + k.core;
    return;
  }
  const char* user = std::getenv("OPENBLAS_CORETYPE");
  if (user && *user) {
    k.source = "OPENBLAS_CORETYPE";
    if (!passed)
      k.warning =
          "the BLAS kernels set by OPENBLAS_CORETYPE (" + k.core + ") failed their numerical check";
    return;
  }
  k.source = "openblas";
  const std::string force = blas_core_to_force(k.core, detect_cpu_vector_features());
  if (force.empty()) return;
  ::setenv("OPENBLAS_CORETYPE", force.c_str(), 1);
  reexecute(argv, "forced:" + force + ":" + k.core);
  ::unsetenv("OPENBLAS_CORETYPE");
  k.warning = "could not restart with the faster BLAS kernel " + force + "; using " + k.core;
}

const BlasKernel& blas_kernel() {
  return state();
}

nlohmann::json blas_kernel_json() {
  const BlasKernel& k = state();
  nlohmann::json j = {{"library", k.core.empty() ? "other" : "OpenBLAS"},
                      {"core", k.core},
                      {"source", k.source},
                      {"check", k.check}};
  if (!k.detected.empty()) j["openblas_detected"] = k.detected;
  return j;
}

std::string blas_kernel_line() {
  const BlasKernel& k = state();
  if (k.core.empty()) return "BLAS: not OpenBLAS";
  std::string line = "BLAS: OpenBLAS, " + k.core + " kernels (";
  if (k.source == "medpipe")
    line += "chosen by medpipe from the CPU's features; OpenBLAS detected " + k.detected;
  else if (k.source == "OPENBLAS_CORETYPE")
    line += "set by OPENBLAS_CORETYPE";
  else
    line += "OpenBLAS's own detection";
  return line + "), numerical check " + k.check;
}

}  // namespace medpipe
