// core/log.h: human log lines on stderr (spdlog) and the run's machine-readable event log.
#pragma once
#include <nlohmann/json_fwd.hpp>
#include <string>

namespace medpipe {

void init_logging(const std::string& level);  // "debug", "info", "warn", "error"

// Human log lines. Never pass patient identifiers: only file names, counts and numbers.
void log_debug(const std::string& message);
void log_info(const std::string& message);
void log_warn(const std::string& message);
void log_error(const std::string& message);

// events.jsonl: one JSON object a line, appended and flushed line by line so `medpipe status`
// can read a live run. Process-wide; a no-op until opened.
void open_event_log(const std::string& path);
void close_event_log();
// Writes {"time": ISO-8601, "event": name, ...fields}.
void log_event(const std::string& name, const nlohmann::json& fields);

}  // namespace medpipe
