// cli/commands.h: each subcommand registers itself on the app and returns its action.
#pragma once
#include <CLI/CLI.hpp>
#include <functional>

#include "core/config.h"

namespace medpipe::cli {

using Action = std::function<int()>;

Action add_run_command(CLI::App& app);
Action add_train_command(CLI::App& app);
Action add_predict_command(CLI::App& app);
Action add_evaluate_command(CLI::App& app);
Action add_synth_command(CLI::App& app);
Action add_convert_command(CLI::App& app);
Action add_status_command(CLI::App& app);
Action add_features_command(CLI::App& app);
Action add_plan_command(CLI::App& app);

// Adds --images-bucket style flags for every config key; call apply() after parsing.
class ConfigFlags {
 public:
  explicit ConfigFlags(CLI::App& command);
  void apply(Config& config) const;

 private:
  std::vector<std::pair<std::string, CLI::Option*>> options_;
  std::shared_ptr<std::map<std::string, std::string>> values_;
};

// The event file (if any), then flags, then `--set key=value` overrides; logging set up.
Config resolve_config(const std::string& event_path, const ConfigFlags* flags,
                      const std::vector<std::string>& overrides);

int run_cli(int argc, char** argv);

}  // namespace medpipe::cli
