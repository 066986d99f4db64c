#include "core/parallel.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace medpipe {
namespace {

TEST(ParallelFor, RunsEveryItemOnce) {
  std::vector<int> hits(100, 0);
  parallel_for(hits.size(), 4, "test", "item", [&](std::size_t i) { ++hits[i]; });
  for (int h : hits) EXPECT_EQ(h, 1);
}

TEST(ParallelFor, AWorkersExceptionIsRethrownAfterTheOthersStop) {
  std::atomic<int> done{0};
  EXPECT_THROW(parallel_for(1000, 3, "test", "item",
                            [&](std::size_t i) {
                              if (i == 7) throw std::runtime_error("item 7");
                              ++done;
                            }),
               std::runtime_error);
  EXPECT_LT(done.load(), 1000);  // the others stopped early
}

}  // namespace
}  // namespace medpipe
