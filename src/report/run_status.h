// report/run_status.h: what a run is doing or did, from its event log (events.jsonl and, under
// MPI, the other ranks' events.rank<k>.jsonl). Pure functions; `medpipe status` prints them.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/fs.h"

namespace medpipe {

// The events of a log file, one JSON object a line; a line being written (not yet whole) and
// any other unreadable line are left out. Empty when the file does not exist.
std::vector<nlohmann::json> read_event_log(const fs::path& path);

struct RunStatus {
  std::string state = "unknown";    // running, done, failed, stopped (ended without a word)
  std::string command;              // the run's stage: train, predict, evaluate
  std::string started, last_event;  // ISO-8601 UTC times
  long pid = 0;
  std::string host;
  int ranks = 1;
  int epochs = 0;                   // planned, from the config; 0 when not training
  std::string stage;                // the work under way: preprocess, train, predict, ...
  nlohmann::json progress;          // the last progress event (done, total, rate_per_s, eta_s)
  nlohmann::json last_epoch;        // the last epoch_end record
  nlohmann::json metrics;           // the evaluation's metrics, once written
  std::vector<std::string> errors;  // "rank k: " in front of another rank's
  std::size_t warnings = 0, skipped = 0;
  std::string last_warning;
  double seconds = -1;  // of the whole run, once it ended
  int exit_code = -1;
};

// The status of the last run in `lead` (the events from its last run_start on); `others` are
// the other ranks' logs, whose errors and warnings of the same run count too.
RunStatus summarise_run(const std::vector<nlohmann::json>& lead,
                        const std::vector<std::vector<nlohmann::json>>& others = {});

// The metrics for a "metrics" event: the numbers and small tables, without the curves and the
// per-image list (those are in metrics.json). `of`: "evaluation" or "validation".
nlohmann::json metrics_event(const nlohmann::json& metrics, const std::string& of);

// Human lines: state, stage and progress bar with rate and ETA, last epoch, metrics, problems.
std::string format_status(const RunStatus& status);
nlohmann::json status_to_json(const RunStatus& status);

}  // namespace medpipe
