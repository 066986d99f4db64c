// core/progress.h: progress of long work. A bar with rate and ETA on a terminal, plain lines
// (every 10% or 10 s) otherwise; each update is also an event-log line at the same cadence.
#pragma once
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>

namespace medpipe {

// "MM:SS", or "H:MM:SS" from an hour; "--:--" when unknown (negative, NaN or absurd).
std::string format_duration(double seconds);

class Progress {
 public:
  Progress(std::string stage, std::size_t total, std::string unit);
  ~Progress();
  void advance(std::size_t n = 1);
  void set_suffix(const std::string& suffix);  // e.g. "loss 0.41"
  void finish();

 private:
  void draw(bool final);
  std::string stage_;
  std::string unit_;
  std::string suffix_;
  std::size_t total_;
  std::size_t done_ = 0;
  std::size_t last_reported_ = 0;
  bool tty_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  std::chrono::steady_clock::time_point last_report_;
  std::mutex mutex_;
};

}  // namespace medpipe
