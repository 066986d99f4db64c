// medpipe status RUN_DIR [--watch [--interval S]] [--json]: the progress of a run, live or
// finished, read from its event log (and the other MPI ranks' logs beside it).
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/commands.h"
#include "core/error.h"
#include "core/fs.h"
#include "report/run_status.h"

namespace medpipe::cli {

namespace {

struct StatusOptions {
  std::string dir;
  bool watch = false;
  double interval_s = 2;
  bool json = false;
};

RunStatus read_status(const fs::path& dir) {
  fs::path lead = dir / "events.jsonl";
  if (!fs::exists(lead))
    throw UsageError(
        "no event log at " + lead.string() +
        "; give the model folder (models_bucket/<name>) or the results_bucket of a run");
  std::vector<std::vector<nlohmann::json>> others;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    if (name.rfind("events.rank", 0) == 0) others.push_back(read_event_log(entry.path()));
  }
  RunStatus status = summarise_run(read_event_log(lead), others);
  // A run that never logged its end is running only while its process lives (on this host).
  char host[256] = "";
  ::gethostname(host, sizeof host - 1);
  if (status.state == "running" && status.host == host && status.pid > 0 &&
      ::kill(static_cast<pid_t>(status.pid), 0) != 0 && errno == ESRCH)
    status.state = "stopped";
  return status;
}

void print(const RunStatus& status, const StatusOptions& options, bool redraw) {
  if (options.json) {
    std::printf("%s\n", status_to_json(status).dump().c_str());
  } else {
    if (redraw) std::fputs("\033[H\033[2J", stdout);  // a terminal: clear, then draw
    std::fputs(format_status(status).c_str(), stdout);
    fs::path report = fs::path(options.dir) / "report.html";
    if (status.state != "running" && fs::exists(report))
      std::printf("report: %s\n", report.string().c_str());
    if (options.watch && !redraw) std::fputs("\n", stdout);
  }
  std::fflush(stdout);
}

}  // namespace

Action add_status_command(CLI::App& app) {
  auto* command = app.add_subcommand(
      "status", "show the progress of a run, live or finished (a model or results folder)");
  auto options = std::make_shared<StatusOptions>();
  command->add_option("run_dir", options->dir, "the run's folder (holds events.jsonl)")->required();
  command->add_flag("--watch", options->watch,
                    "refresh until the run ends (redrawn on a terminal, appended otherwise)");
  command->add_option("--interval", options->interval_s, "seconds between refreshes of --watch (0.1 to 3600)")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 3600.0));
  command->add_flag("--json", options->json, "one JSON object per refresh instead of text");
  return [options] {
    const bool tty = ::isatty(STDOUT_FILENO) != 0;
    const fs::path log = fs::path(options->dir) / "events.jsonl";
    for (bool said = false; options->watch && !fs::exists(log); said = true) {
      if (!said) std::printf("waiting for %s to appear\n", log.string().c_str());
      std::fflush(stdout);
      std::this_thread::sleep_for(std::chrono::duration<double>(options->interval_s));
    }
    while (true) {
      RunStatus status = read_status(options->dir);
      print(status, *options, tty && options->watch && !options->json);
      bool over = status.state != "running";
      if (!options->watch || over) return status.state == "failed" ? 1 : 0;
      std::this_thread::sleep_for(std::chrono::duration<double>(options->interval_s));
    }
  };
}

}  // namespace medpipe::cli
