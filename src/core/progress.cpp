#include "core/progress.h"

#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/log.h"
#include "core/world.h"

namespace medpipe {

std::string format_duration(double seconds) {
  if (!(seconds >= 0) || seconds > 1e7) return "--:--";
  int s = static_cast<int>(seconds + 0.5);
  char buffer[32];
  if (s >= 3600) {
    std::snprintf(buffer, sizeof buffer, "%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60);
  } else {
    std::snprintf(buffer, sizeof buffer, "%02d:%02d", s / 60, s % 60);
  }
  return buffer;
}

Progress::Progress(std::string stage, std::size_t total, std::string unit)
    : stage_(std::move(stage)),
      unit_(std::move(unit)),
      total_(total),
      tty_(::isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_),
      last_report_(start_) {}

Progress::~Progress() {
  finish();
}

void Progress::advance(std::size_t n) {
  std::lock_guard<std::mutex> lock(mutex_);
  done_ += n;
  draw(false);
}

void Progress::set_suffix(const std::string& suffix) {
  std::lock_guard<std::mutex> lock(mutex_);
  suffix_ = suffix;
}

void Progress::finish() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (finished_) return;
  finished_ = true;
  bool already_shown = !tty_ && last_reported_ == done_ && done_ > 0;
  if (already_shown) return;  // the plain line for 100% is out already
  draw(true);
}

void Progress::draw(bool final) {
  if (!is_lead_rank()) return;  // one progress display per job
  auto now = std::chrono::steady_clock::now();
  double since_draw = std::chrono::duration<double>(now - last_draw_).count();
  double since_report = std::chrono::duration<double>(now - last_report_).count();
  double elapsed = std::chrono::duration<double>(now - start_).count();
  bool step_crossed = total_ > 0 && (done_ - last_reported_) * 10 >= total_;
  // Plain lines and event-log lines come every 10% or 10 s; a terminal bar redraws at 10 Hz.
  bool report = final || step_crossed || since_report >= 10.0;
  if (!final && (tty_ ? since_draw < 0.1 : !report)) return;
  last_draw_ = now;
  double rate = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0.0;
  double eta = rate > 0 && total_ >= done_ ? static_cast<double>(total_ - done_) / rate : -1;
  double fraction = total_ ? static_cast<double>(done_) / static_cast<double>(total_) : 1.0;
  char line[512];
  if (tty_) {
    const int width = 30;
    int filled = static_cast<int>(fraction * width);
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.resize(width, '.');
    std::snprintf(line, sizeof line, "\r%-12s [%s] %zu/%zu %.1f %s/s ETA %s %s\033[K",
                  stage_.c_str(), bar.c_str(), done_, total_, rate, unit_.c_str(),
                  format_duration(eta).c_str(), suffix_.c_str());
    std::fputs(line, stderr);
    if (final) std::fputs("\n", stderr);
  } else {
    std::snprintf(line, sizeof line, "%s: %zu/%zu (%3.0f%%) %.1f %s/s elapsed %s ETA %s %s\n",
                  stage_.c_str(), done_, total_, fraction * 100, rate, unit_.c_str(),
                  format_duration(elapsed).c_str(), format_duration(eta).c_str(), suffix_.c_str());
    std::fputs(line, stderr);
  }
  std::fflush(stderr);
  if (!report) return;
  last_reported_ = done_;
  last_report_ = now;
  log_event("progress", {{"stage", stage_},
                         {"done", done_},
                         {"total", total_},
                         {"rate_per_s", rate},
                         {"eta_s", eta}});
}

}  // namespace medpipe
