// core/log.h: human log lines on stderr (spdlog) and the run's machine-readable event log.
#pragma once
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace medpipe {

void init_logging(const std::string& level);  // "debug", "info", "warn", "error"

// Human log lines. Never pass patient identifiers: only file names, counts and numbers.
void log_debug(const std::string& message);
void log_info(const std::string& message);
void log_warn(const std::string& message);  // also a "warning" event, kept for the report

// events.jsonl: one JSON object a line, appended and flushed line by line so `medpipe status`
// can read a live run. Process-wide; a no-op until opened. `problems_only` (the other MPI
// ranks' own logs) keeps only run_start, warning, error and run_end events.
void open_event_log(const std::string& path, bool problems_only = false);
// Writes {"time": ISO-8601, "event": name, ...fields}.
void log_event(const std::string& name, const nlohmann::json& fields);

// The warnings logged so far by this process (at most the first 1000), for the report.
std::vector<std::string> logged_warnings();

}  // namespace medpipe
