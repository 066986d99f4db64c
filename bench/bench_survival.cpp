// The Cox fit (Efron) and Harrell's C alone, on the cohort bench/survival.sh writes, read once
// outside the timing: what R's own timings of coxph and concordance measure (survival_peer.R).
//   bench_survival --benchmark_format=json   (MEDPIPE_BENCH_DIR: the folder of cohort_*.csv)
#include <benchmark/benchmark.h>

#include <cstdlib>

#include "data/survival_table.h"
#include "metrics/survival.h"
#include "models/cox.h"

namespace {

const medpipe::SurvivalTable& cohort() {
  static const medpipe::SurvivalTable table = [] {
    const char* dir = std::getenv("MEDPIPE_BENCH_DIR");
    const std::string folder = dir ? dir : "/tmp/medpipe-bench/survival";
    const medpipe::CovariateTable covariates =
        medpipe::read_covariate_table(folder + "/cohort_cov.csv");
    const auto labels = medpipe::read_survival_labels(folder + "/cohort_labels.csv");
    std::vector<std::pair<std::string, std::string>> skipped;
    return medpipe::survival_table(covariates, medpipe::fit_encoding(covariates), &labels, skipped);
  }();
  return table;
}

void cox_fit(benchmark::State& state) {
  const medpipe::SurvivalTable& table = cohort();
  for (auto _ : state) benchmark::DoNotOptimize(medpipe::fit_cox(table).loglik);
  state.counters["subjects"] = static_cast<double>(table.rows());
}

void harrell_c(benchmark::State& state) {
  const medpipe::SurvivalTable& table = cohort();
  const medpipe::CoxModel model = medpipe::fit_cox(table);
  std::vector<double> risk;
  for (std::size_t i = 0; i < table.rows(); ++i)
    risk.push_back(model.linear_predictor(&table.x[i * table.columns.size()]));
  for (auto _ : state)
    benchmark::DoNotOptimize(medpipe::harrell_c(table.time, table.event, risk).c);
}

BENCHMARK(cox_fit)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(harrell_c)->Unit(benchmark::kMillisecond)->MinTime(2.0);

}  // namespace

#include "bench_main.h"
