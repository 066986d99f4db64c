#include "core/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/fs.h"
#include "core/text.h"

namespace medpipe {

namespace {
std::mutex event_mutex;
std::FILE* event_file = nullptr;
bool event_problems_only = false;
std::vector<std::string> warnings_so_far;
constexpr std::size_t kMaxKeptWarnings = 1000;

std::shared_ptr<spdlog::logger> logger() {
  static std::shared_ptr<spdlog::logger> instance = [] {
    auto l = spdlog::stderr_color_mt("medpipe");
    l->set_pattern("%^[%H:%M:%S %l]%$ %v");
    return l;
  }();
  return instance;
}

std::string iso_time_now() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  char buffer[32];
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buffer, static_cast<int>(ms.count()));
  return out;
}
}  // namespace

void init_logging(const std::string& level) {
  logger()->set_level(spdlog::level::from_str(level == "warn" ? "warning" : level));
}

// Every line, human or event, passes redact_secrets: a URL's password never reaches a log.
void log_debug(const std::string& text) {
  logger()->debug(redact_secrets(text));
}
void log_info(const std::string& text) {
  logger()->info(redact_secrets(text));
}
void log_warn(const std::string& text) {
  const std::string message = redact_secrets(text);
  logger()->warn(message);
  {
    std::lock_guard<std::mutex> lock(event_mutex);
    if (warnings_so_far.size() < kMaxKeptWarnings) warnings_so_far.push_back(message);
  }
  log_event("warning", {{"message", message}});
}

std::vector<std::string> logged_warnings() {
  std::lock_guard<std::mutex> lock(event_mutex);
  return warnings_so_far;
}

void open_event_log(const std::string& path, bool problems_only) {
  std::lock_guard<std::mutex> lock(event_mutex);
  event_problems_only = problems_only;
  if (event_file) std::fclose(event_file);
  fs::path p(path);
  if (p.has_parent_path()) ensure_writable_dir(p.parent_path(), "run folder");
  event_file = std::fopen(path.c_str(), "a");
  if (!event_file) throw UsageError("cannot open the event log " + path + " for appending");
  ::chmod(path.c_str(), 0600);
}

void log_event(const std::string& name, const nlohmann::json& fields) {
  std::lock_guard<std::mutex> lock(event_mutex);
  if (!event_file) return;
  if (event_problems_only && name != "run_start" && name != "warning" && name != "error" &&
      name != "run_end")
    return;
  nlohmann::json line = {{"time", iso_time_now()}, {"event", name}};
  if (fields.is_object()) {
    for (const auto& [k, v] : fields.items()) line[k] = v;
  }
  // One write per line: an appended line is whole or absent.
  std::string text =
      redact_secrets(line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)) + "\n";
  std::fwrite(text.data(), 1, text.size(), event_file);
  std::fflush(event_file);
}

}  // namespace medpipe
