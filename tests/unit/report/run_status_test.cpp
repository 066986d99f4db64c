#include "report/run_status.h"

#include <gtest/gtest.h>

#include <fstream>

namespace medpipe {
namespace {

using json = nlohmann::json;

json event(const std::string& time, const std::string& name, json fields = json::object()) {
  fields["time"] = time;
  fields["event"] = name;
  return fields;
}

TEST(RunStatus, LiveTrainingShowsStageProgressAndLastEpoch) {
  std::vector<json> log = {
      event("T1", "run_start",
            {{"stage", "train"},
             {"pid", 42},
             {"host", "h"},
             {"ranks", 2},
             {"config", {{"epochs", 12}}}}),
      event("T2", "progress", {{"stage", "preprocess"}, {"done", 10}, {"total", 10}}),
      event("T3", "skipped", {{"image", "a"}, {"reason", "corrupt"}}),
      event("T3", "warning", {{"message", "skipped a: corrupt"}}),
      event("T4", "stage_start", {{"stage", "train"}}),
      event("T5", "epoch_end", {{"epoch", 3}, {"train_loss", 0.5}, {"val_auc", 0.8}}),
      event("T6", "progress",
            {{"stage", "train"},
             {"done", 30},
             {"total", 120},
             {"rate_per_s", 2.0},
             {"eta_s", 45.0}})};
  RunStatus s = summarise_run(log);
  EXPECT_EQ(s.state, "running");
  EXPECT_EQ(s.stage, "train");
  EXPECT_EQ(s.epochs, 12);
  EXPECT_EQ(s.ranks, 2);
  EXPECT_EQ(s.skipped, 1u);
  EXPECT_EQ(s.warnings, 1u);
  std::string text = format_status(s);
  EXPECT_NE(text.find("30/120 (25%)"), std::string::npos) << text;
  EXPECT_NE(text.find("ETA 00:45"), std::string::npos) << text;
  EXPECT_NE(text.find("last epoch: 3/12, train loss 0.5000, val AUC 0.8000"), std::string::npos)
      << text;
  EXPECT_NE(text.find("2 MPI ranks"), std::string::npos);
}

TEST(RunStatus, OnlyTheLastRunCountsAndItsEndIsShown) {
  std::vector<json> log = {
      event("T1", "run_start", {{"stage", "predict"}}),
      event("T2", "error", {{"message", "old failure"}}),
      event("T3", "run_end", {{"status", "failed"}, {"exit_code", 1}, {"seconds", 3.0}}),
      event("T4", "run_start", {{"stage", "predict"}}),
      event("T5", "metrics", {{"n", 200}, {"accuracy", 0.9}, {"roc_auc", 0.95}}),
      event("T6", "run_end", {{"status", "done"}, {"exit_code", 0}, {"seconds", 65.0}})};
  RunStatus s = summarise_run(log);
  EXPECT_EQ(s.state, "done");
  EXPECT_TRUE(s.errors.empty());
  EXPECT_EQ(s.metrics["n"], 200);
  EXPECT_FALSE(s.metrics.contains("event"));
  std::string text = format_status(s);
  EXPECT_NE(text.find("state: done after 01:05"), std::string::npos) << text;
  EXPECT_NE(text.find("metrics: n 200, accuracy 0.9000, roc_auc 0.9500"), std::string::npos)
      << text;
}

TEST(RunStatus, OtherRanksErrorsOfThisRunAreShown) {
  std::vector<json> lead = {event("T5", "run_start", {{"stage", "train"}, {"ranks", 2}})};
  std::vector<json> old_rank = {event("T1", "run_start", {{"rank", 1}}),
                                event("T2", "error", {{"message", "an earlier run's"}})};
  std::vector<json> rank = {event("T5", "run_start", {{"rank", 1}}),
                            event("T6", "error", {{"message", "out of memory"}})};
  RunStatus s = summarise_run(lead, {old_rank, rank});
  ASSERT_EQ(s.errors.size(), 1u);
  EXPECT_EQ(s.errors[0], "rank 1: out of memory");
}

TEST(RunStatus, ReadEventLogSkipsAPartialLastLine) {
  std::string path = ::testing::TempDir() + "/events_partial.jsonl";
  std::ofstream(path) << R"({"time":"T1","event":"run_start"})"
                      << "\n"
                      << R"({"time":"T2","ev)";
  auto events = read_event_log(path);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["event"], "run_start");
  EXPECT_TRUE(read_event_log(::testing::TempDir() + "/no_such_log.jsonl").empty());
}

}  // namespace
}  // namespace medpipe
