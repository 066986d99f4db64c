// medpipe run EVENT.json [--set key=value ...]
#include "cli/commands.h"
#include "pipeline/pipeline.h"

namespace medpipe::cli {

Action add_run_command(CLI::App& app) {
  auto* command = app.add_subcommand("run",
                                     "run the pipeline an event describes: training when is_train, "
                                     "else inference, then evaluation when labels exist");
  auto event = std::make_shared<std::string>();
  auto overrides = std::make_shared<std::vector<std::string>>();
  command->add_option("event", *event, "the event JSON file (the original pipeline's keys)")
      ->required()
      ->check(CLI::ExistingFile);
  command->add_option("--set", *overrides, "override an event key: --set epochs=5 (repeatable)");
  return [event, overrides] { return run_pipeline(resolve_config(*event, nullptr, *overrides)); };
}

}  // namespace medpipe::cli
