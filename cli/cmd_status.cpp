// medpipe status RUN_DIR: the progress of a run, read from its events.jsonl.
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "core/fs.h"

namespace medpipe::cli {

Action add_status_command(CLI::App& app) {
  auto* command =
      app.add_subcommand("status", "show the progress of a run (a model or results folder)");
  auto dir = std::make_shared<std::string>();
  command->add_option("run_dir", *dir, "the run's folder (holds events.jsonl)")->required();
  return [dir] {
    fs::path log = fs::path(*dir) / "events.jsonl";
    std::ifstream in(log);
    if (!in)
      throw UsageError("no event log at " + log.string() +
                       "; give a model or results folder of a run");
    nlohmann::json stage, progress, epoch, metrics, error, end;
    std::string line;
    while (std::getline(in, line)) {
      auto event = nlohmann::json::parse(line, nullptr, false);
      if (event.is_discarded()) continue;  // a line being written
      std::string name = event.value("event", "");
      if (name == "run_start" || name == "stage_start")
        stage = event;
      else if (name == "progress")
        progress = event;
      else if (name == "epoch_end")
        epoch = event;
      else if (name == "metrics")
        metrics = event;
      else if (name == "error")
        error = event;
      else if (name == "stage_end")
        end = event;
    }
    if (!stage.is_null())
      std::printf("stage: %s (started %s)\n", stage.value("stage", "?").c_str(),
                  stage.value("time", "?").c_str());
    if (!progress.is_null()) {
      std::printf("progress: %s %s/%s, %.1f/s, ETA %.0f s\n", progress.value("stage", "?").c_str(),
                  progress["done"].dump().c_str(), progress["total"].dump().c_str(),
                  progress.value("rate_per_s", 0.0), progress.value("eta_s", 0.0));
    }
    if (!epoch.is_null()) std::printf("last epoch: %s\n", epoch.dump().c_str());
    if (!end.is_null()) std::printf("finished: %s\n", end.dump().c_str());
    if (!metrics.is_null() && metrics.contains("dice")) {
      std::printf("metrics: dice %s, hausdorff95 %s %s, n %s\n", metrics["dice"].dump().c_str(),
                  metrics["hausdorff95"].dump().c_str(),
                  metrics.value("distance_units", "").c_str(), metrics["n"].dump().c_str());
    } else if (!metrics.is_null()) {
      std::printf("metrics: accuracy %s, roc_auc %s, n %s\n", metrics["accuracy"].dump().c_str(),
                  metrics["roc_auc"].dump().c_str(), metrics["n"].dump().c_str());
    }
    if (!error.is_null()) std::printf("error: %s\n", error.value("message", "").c_str());
    return 0;
  };
}

}  // namespace medpipe::cli
