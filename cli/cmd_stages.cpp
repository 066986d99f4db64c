// medpipe train | predict | evaluate [EVENT.json] [--event-key value ...]
#include "cli/commands.h"
#include "core/error.h"
#include "pipeline/pipeline.h"

namespace medpipe::cli {

namespace {
Action add_stage(CLI::App& app, const std::string& name, const std::string& help,
                 int (*stage)(const Config&), bool is_train) {
  auto* command = app.add_subcommand(name, help);
  auto event = std::make_shared<std::string>();
  auto overrides = std::make_shared<std::vector<std::string>>();
  command->add_option("event", *event, "an event JSON file to start from (optional)")
      ->check(CLI::ExistingFile);
  command->add_option("--set", *overrides, "override an event key: --set epochs=5 (repeatable)");
  auto flags = std::make_shared<ConfigFlags>(*command);
  return [=] {
    std::vector<std::string> all = {std::string("is_train=") + (is_train ? "true" : "false")};
    all.insert(all.end(), overrides->begin(), overrides->end());
    return stage(resolve_config(*event, flags.get(), all));
  };
}
}  // namespace

Action add_train_command(CLI::App& app) {
  return add_stage(app, "train", "train a model on labelled images (the event's keys as flags)",
                   train_stage, true);
}

Action add_predict_command(CLI::App& app) {
  return add_stage(app, "predict", "predict with a trained model; evaluates too when has_labels",
                   predict_stage, false);
}

Action add_evaluate_command(CLI::App& app) {
  return add_stage(app, "evaluate", "evaluate results_bucket/predictions.csv against the labels",
                   evaluate_stage, false);
}

}  // namespace medpipe::cli
