#include "core/blas_kernel.h"

#include <gtest/gtest.h>

namespace medpipe {
namespace {

CpuVectorFeatures avx512_cpu() {
  CpuVectorFeatures cpu;
  cpu.avx = cpu.avx2 = cpu.fma = true;
  cpu.avx512f = cpu.avx512bw = cpu.avx512dq = cpu.avx512vl = true;
  return cpu;
}

TEST(BlasKernel, BestCoreFollowsTheInstructionSets) {
  EXPECT_EQ(best_blas_core(avx512_cpu()), "SkylakeX");
  CpuVectorFeatures no_vl = avx512_cpu();
  no_vl.avx512vl = false;  // Knights Landing has F without VL/BW/DQ: OpenBLAS's SkylakeX needs all
  EXPECT_EQ(best_blas_core(no_vl), "Haswell");
  CpuVectorFeatures avx_only;
  avx_only.avx = true;
  EXPECT_EQ(best_blas_core(avx_only), "Sandybridge");
  CpuVectorFeatures avx2_without_fma = avx_only;
  avx2_without_fma.avx2 = true;
  EXPECT_EQ(best_blas_core(avx2_without_fma), "Sandybridge");
  EXPECT_EQ(best_blas_core(CpuVectorFeatures{}), "");
}

TEST(BlasKernel, RanksOpenBlasCoreNamesByInstructionSet) {
  EXPECT_EQ(blas_core_rank("Prescott"), 0);
  EXPECT_EQ(blas_core_rank("Core2"), 0);
  EXPECT_EQ(blas_core_rank("Sandybridge"), 1);
  EXPECT_EQ(blas_core_rank("Haswell"), 2);
  EXPECT_EQ(blas_core_rank("ZEN"), 2);
  EXPECT_EQ(blas_core_rank("SkylakeX"), 3);
  EXPECT_EQ(blas_core_rank("cooperlake"), 3);
  EXPECT_EQ(blas_core_rank(""), 0);
}

TEST(BlasKernel, ForcesOnlyABetterCoreThanOpenBlasChose) {
  // the Xeon (family 6 model 207) Debian's OpenBLAS 0.3.21 does not know: generic SSE3 kernels
  EXPECT_EQ(blas_core_to_force("Prescott", avx512_cpu()), "SkylakeX");
  EXPECT_EQ(blas_core_to_force("Haswell", avx512_cpu()), "SkylakeX");
  // a correct or better detection is kept, Cooperlake's bf16 kernels included
  EXPECT_EQ(blas_core_to_force("Cooperlake", avx512_cpu()), "");
  EXPECT_EQ(blas_core_to_force("SkylakeX", avx512_cpu()), "");
  CpuVectorFeatures avx2;
  avx2.avx = avx2.avx2 = avx2.fma = true;
  EXPECT_EQ(blas_core_to_force("Zen", avx2), "");
  EXPECT_EQ(blas_core_to_force("Nehalem", avx2), "Haswell");
  EXPECT_EQ(blas_core_to_force("Prescott", CpuVectorFeatures{}), "");
}

}  // namespace
}  // namespace medpipe
