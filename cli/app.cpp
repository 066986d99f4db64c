#include <sys/stat.h>

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/blas_kernel.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "core/text.h"
#include "core/version.h"
#include "io/image_io.h"
#include "storage/storage.h"

namespace medpipe::cli {

namespace {

// The first non-empty line: library messages carry a C++ trace after it.
std::string first_line(const char* text) {
  std::string s(text ? text : "");
  auto begin = s.find_first_not_of("\n ");
  if (begin == std::string::npos) return "unknown error";
  auto end = s.find('\n', begin);
  return s.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

std::string event_keys_help() {
  std::string text = "\nEvent keys (JSON), with defaults:\n";
  for (const auto& f : config_fields()) {
    const std::string allowed = f.rule.text();
    text += "  " + f.key + " (" + f.type + ", default " + f.default_text + "): " + f.help +
            (allowed.empty() ? "" : " [allowed: " + allowed + "]") + "\n";
  }
  return text;
}

}  // namespace

ConfigFlags::ConfigFlags(CLI::App& command)
    : values_(std::make_shared<std::map<std::string, std::string>>()) {
  for (const auto& field : config_fields()) {
    std::string flag = field.key;
    std::replace(flag.begin(), flag.end(), '_', '-');
    const std::string allowed = field.rule.text();
    CLI::Option* option =
        command.add_option("--" + flag, (*values_)[field.key],
                           field.help + " [default: " + field.default_text + "]" +
                               (allowed.empty() ? "" : " [allowed: " + allowed + "]"));
    option->group("Event keys");
    options_.emplace_back(field.key, option);
  }
}

void ConfigFlags::apply(Config& config) const {
  for (const auto& [key, option] : options_) {
    if (option->count() > 0) set_config_text(config, key, values_->at(key));
  }
}

Config resolve_config(const std::string& event_path, const ConfigFlags* flags,
                      const std::vector<std::string>& overrides) {
  Config config = event_path.empty() ? Config{} : load_event_file(event_path);
  if (flags) flags->apply(config);
  for (const auto& item : overrides) {
    auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw UsageError("--set " + item + ": use --set key=value, e.g. --set epochs=5");
    }
    set_config_text(config, item.substr(0, eq), item.substr(eq + 1));
  }
  init_logging(name_of(config.log_level));
  validate_config(config);
  StorageSettings storage;
  storage.s3 = {config.s3_endpoint,       config.s3_region,  config.s3_addressing,  config.s3_sse,
                config.s3_sse_kms_key_id, config.tls_verify, config.storage_retries};
  storage.s3.timeout_s = config.storage_timeout_s;
  storage.concurrency = config.storage_concurrency;
  configure_storage(storage);
  set_max_image_pixels(config.max_image_pixels);
  return config;
}

int run_cli(int argc, char** argv) {
  ::umask(077);  // outputs may hold patient images: not world-readable
  CLI::App app{
      "medpipe: a folder of medical images and labels in; a trained model, per-image\n"
      "predictions and an honest evaluation out.",
      "medpipe"};
  app.require_subcommand(1);
  app.set_version_flag("--version",
                       std::string("medpipe " MEDPIPE_VERSION "\n") + blas_kernel_line());
  std::vector<std::pair<CLI::App*, Action>> actions;
  auto add = [&](Action (*adder)(CLI::App&)) {
    Action action = adder(app);
    actions.emplace_back(app.get_subcommands({}).back(), std::move(action));
  };
  add(add_run_command);
  add(add_train_command);
  add(add_predict_command);
  add(add_evaluate_command);
  add(add_synth_command);
  add(add_convert_command);
  add(add_status_command);
  add(add_features_command);
  add(add_plan_command);
  app.get_subcommand("run")->footer(event_keys_help());
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : static_cast<int>(ExitCode::kUsage);
  }
  const auto start = Clock::now();
  // The event log's last line of a run: how it ended (a no-op where no run folder was opened).
  auto end_run = [&](int code) {
    log_event("run_end", {{"status", code == 0 ? "done" : "failed"},
                          {"exit_code", code},
                          {"seconds", seconds_since(start)}});
    return code;
  };
  try {
    for (auto& [command, action] : actions) {
      if (command->parsed()) return end_run(action());
    }
    return static_cast<int>(ExitCode::kUsage);
  } catch (const UsageError& e) {
    log_event("error", {{"kind", "usage"}, {"message", e.what()}});
    std::fprintf(stderr, "medpipe: error: %s\n", redact_secrets(e.what()).c_str());
    return end_run(static_cast<int>(ExitCode::kUsage));
  } catch (const RunError& e) {
    log_event("error", {{"kind", "run"}, {"message", e.what()}});
    std::fprintf(stderr,
                 "medpipe: failed: %s\nThe run can be resumed by running the same command again.\n",
                 redact_secrets(e.what()).c_str());
    return end_run(static_cast<int>(ExitCode::kFailed));
  } catch (const std::exception& e) {  // library errors: their first line, never a trace
    log_event("error", {{"kind", "internal"}, {"message", first_line(e.what())}});
    std::fprintf(stderr, "medpipe: failed: %s\n", redact_secrets(first_line(e.what())).c_str());
    return end_run(static_cast<int>(ExitCode::kFailed));
  }
}

}  // namespace medpipe::cli
