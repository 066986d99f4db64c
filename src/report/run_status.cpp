#include "report/run_status.h"

#include <cmath>
#include <cstdio>
#include <fstream>

#include "core/json_value.h"
#include "core/progress.h"

namespace medpipe {

namespace {

std::string value_text(const nlohmann::json& v, int digits = 4) {
  if (!v.is_number()) return v.is_null() ? "n/a" : json_text(v);
  if (v.is_number_integer() || v.is_number_unsigned()) return v.dump();
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.*f", digits, v.get<double>());
  return buffer;
}

// Where the last run of a log starts.
std::size_t last_run_start(const std::vector<nlohmann::json>& events) {
  for (std::size_t i = events.size(); i-- > 0;)
    if (events[i].value("event", "") == "run_start") return i;
  return 0;
}

void take_event(RunStatus& s, const nlohmann::json& e) {
  const std::string name = e.value("event", "");
  s.last_event = e.value("time", s.last_event);
  if (name == "run_start") {
    s.state = "running";
    s.command = e.value("stage", "");
    s.stage = s.command;
    s.started = e.value("time", "");
    s.pid = e.value("pid", 0L);
    s.host = e.value("host", "");
    s.ranks = e.value("ranks", 1);
    if (e.contains("config") && s.command == "train") s.epochs = e["config"].value("epochs", 0);
  } else if (name == "stage_start") {
    s.stage = e.value("stage", s.stage);
  } else if (name == "progress") {
    s.stage = e.value("stage", s.stage);
    s.progress = e;
  } else if (name == "epoch_end") {
    s.last_epoch = e;
  } else if (name == "metrics") {
    s.metrics = e;
    s.metrics.erase("time");
    s.metrics.erase("event");
  } else if (name == "skipped") {
    ++s.skipped;
  } else if (name == "warning") {
    ++s.warnings;
    s.last_warning = e.value("message", "");
  } else if (name == "error") {
    s.errors.push_back(e.value("message", ""));
  } else if (name == "run_end") {
    s.state = e.value("status", "done");
    s.seconds = e.value("seconds", -1.0);
    s.exit_code = e.value("exit_code", -1);
  }
}

std::string progress_line(const RunStatus& s) {
  const nlohmann::json& p = s.progress;
  double done = p.value("done", 0.0), total = p.value("total", 0.0);
  double fraction = total > 0 ? std::min(1.0, done / total) : 0.0;
  const int width = 30;
  std::string bar(static_cast<std::size_t>(fraction * width), '#');
  bar.resize(width, '.');
  char line[256];
  std::snprintf(line, sizeof line, "progress: %s [%s] %.0f/%.0f (%.0f%%), %.1f/s, ETA %s\n",
                p.value("stage", "?").c_str(), bar.c_str(), done, total, 100 * fraction,
                p.value("rate_per_s", 0.0), format_duration(p.value("eta_s", -1.0)).c_str());
  return line;
}

std::string epoch_line(const RunStatus& s) {
  const nlohmann::json& e = s.last_epoch;
  std::string line = "last epoch: " + value_text(e["epoch"]);
  if (s.epochs > 0) line += "/" + std::to_string(s.epochs);
  for (auto [key, name] : {std::pair{"train_loss", "train loss"},
                           {"val_loss", "val loss"},
                           {"val_accuracy", "val accuracy"},
                           {"val_auc", "val AUC"},
                           {"val_dice", "val Dice"},
                           {"samples_per_s", "samples/s"}}) {
    if (e.contains(key) && !e[key].is_null())
      line += std::string(", ") + name + " " + value_text(e[key], key[0] == 's' ? 1 : 4);
  }
  return line + "\n";
}

std::string metrics_line(const nlohmann::json& m) {
  std::string line = m.value("of", "") == "validation"
                         ? "validation metrics (best epoch " +
                               value_text(m.value("best_epoch", nlohmann::json())) + "): n "
                         : "metrics: n ";
  line += value_text(m.value("n", nlohmann::json()));
  for (const char* key : {"accuracy", "balanced_accuracy", "roc_auc", "average_precision",
                          "macro_f1", "dice", "jaccard", "hausdorff95", "assd"}) {
    if (m.contains(key)) line += std::string(", ") + key + " " + value_text(m[key]);
  }
  if (m.contains("distance_units")) line += " (" + m["distance_units"].get<std::string>() + ")";
  return line + "\n";
}

}  // namespace

std::vector<nlohmann::json> read_event_log(const fs::path& path) {
  std::vector<nlohmann::json> events;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    auto event = nlohmann::json::parse(line, nullptr, false);
    if (!event.is_discarded() && event.is_object()) events.push_back(std::move(event));
  }
  return events;
}

nlohmann::json metrics_event(const nlohmann::json& metrics, const std::string& of) {
  nlohmann::json out = nlohmann::json::object();
  if (!metrics.is_object()) return out;
  for (const auto& [key, value] : metrics.items()) {
    bool large =
        key == "per_image" || key == "calibration" || key.find("_curve") != std::string::npos;
    if (!large) out[key] = value;
  }
  out["of"] = of;
  return out;
}

RunStatus summarise_run(const std::vector<nlohmann::json>& lead,
                        const std::vector<std::vector<nlohmann::json>>& others) {
  RunStatus s;
  for (std::size_t i = last_run_start(lead); i < lead.size(); ++i) take_event(s, lead[i]);
  for (const auto& log : others) {
    std::size_t first = last_run_start(log);
    if (log.empty() || log[first].value("time", "") < s.started) continue;  // an earlier run's
    std::string rank = "rank " + std::to_string(log[first].value("rank", 0)) + ": ";
    for (std::size_t i = first; i < log.size(); ++i) {
      std::string name = log[i].value("event", "");
      if (name == "error") s.errors.push_back(rank + log[i].value("message", ""));
      if (name == "warning") ++s.warnings;
    }
  }
  return s;
}

std::string format_status(const RunStatus& s) {
  if (s.started.empty()) return "no run has started here yet\n";
  std::string out = "run: " + s.command + ", started " + s.started;
  if (s.ranks > 1) out += ", " + std::to_string(s.ranks) + " MPI ranks";
  out += "\nstate: " + s.state;
  if (s.state == "running" || s.state == "stopped")
    out +=
        " (pid " + std::to_string(s.pid) + " on " + s.host + "; last event " + s.last_event + ")";
  if (s.seconds >= 0) out += " after " + format_duration(s.seconds);
  if (s.state == "stopped")
    out += "\n  the process ended without a word; run the same command again to resume";
  out += "\n";
  if (s.state == "running") out += "stage: " + s.stage + "\n";
  if (s.progress.is_object()) out += progress_line(s);
  if (s.last_epoch.is_object()) out += epoch_line(s);
  if (s.metrics.is_object()) out += metrics_line(s.metrics);
  if (s.skipped) out += "skipped: " + std::to_string(s.skipped) + " input(s), see skipped.csv\n";
  if (s.warnings)
    out += "warnings: " + std::to_string(s.warnings) +
           (s.last_warning.empty() ? "" : " (last: " + s.last_warning + ")") + "\n";
  for (const auto& e : s.errors) out += "error: " + e + "\n";
  return out;
}

nlohmann::json status_to_json(const RunStatus& s) {
  return {{"state", s.state},
          {"command", s.command},
          {"started", s.started},
          {"last_event", s.last_event},
          {"pid", s.pid},
          {"host", s.host},
          {"ranks", s.ranks},
          {"epochs", s.epochs},
          {"stage", s.stage},
          {"progress", s.progress},
          {"last_epoch", s.last_epoch},
          {"metrics", s.metrics},
          {"errors", s.errors},
          {"warnings", s.warnings},
          {"skipped", s.skipped},
          {"seconds", s.seconds < 0 ? nlohmann::json() : nlohmann::json(s.seconds)},
          {"exit_code", s.exit_code < 0 ? nlohmann::json() : nlohmann::json(s.exit_code)}};
}

}  // namespace medpipe
