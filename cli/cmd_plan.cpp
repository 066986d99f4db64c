// medpipe plan EVENT.json [--set key=value ...] [--json]: the training recipe the planner
// chooses from the data, with its reasons, before any training.
#include <cstdio>

#include "cli/commands.h"
#include "pipeline/plan.h"

namespace medpipe::cli {

Action add_plan_command(CLI::App& app) {
  auto* command = app.add_subcommand(
      "plan",
      "show the recipe a training event would get (chosen from the data's fingerprint "
      "and time_budget_min; keys the event gives are kept) without training");
  auto event = std::make_shared<std::string>();
  auto overrides = std::make_shared<std::vector<std::string>>();
  auto as_json = std::make_shared<bool>(false);
  command->add_option("event", *event, "the training event JSON file")
      ->required()
      ->check(CLI::ExistingFile);
  command->add_option("--set", *overrides, "override an event key: --set epochs=5 (repeatable)");
  command->add_flag("--json", *as_json, "the plan as one JSON object");
  return [event, overrides, as_json] {
    Config config = resolve_config(*event, nullptr, *overrides);
    validate_config(config);
    const Plan plan = plan_training(config);
    const std::string text = *as_json ? plan.to_json().dump(2) + "\n" : plan.text();
    std::fputs(text.c_str(), stdout);
    return 0;
  };
}

}  // namespace medpipe::cli
