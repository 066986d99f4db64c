// medpipe features --image IMG --mask MASK --out FEATURES.csv [--config SETTINGS.json]
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "cli/commands.h"
#include "core/error.h"
#include "core/log.h"
#include "features/extract.h"
#include "io/csv.h"

namespace medpipe::cli {

namespace {

struct FeaturesOptions {
  std::vector<std::string> images, masks;
  std::string out, settings_path;
  int workers = 0;
  std::string log_level = "info";
};

void write_skipped(const fs::path& path, const FeatureTable& table) {
  std::ostringstream text;
  text << "image,reason\n";
  for (const auto& [image, reason] : table.skipped) {
    text << csv_quote(image) << "," << csv_quote(reason) << "\n";
  }
  atomic_write_text(path, text.str());
}

int run_features(const FeaturesOptions& o) {
  init_logging(o.log_level);
  FeatureSettings settings = load_feature_settings(o.settings_path);
  std::vector<FeatureJob> jobs = feature_jobs(o.images, o.masks);
  int workers = o.workers > 0 ? o.workers : std::max(1u, std::thread::hardware_concurrency());
  log_info("features: " + std::to_string(jobs.size()) + " image(s), " + std::to_string(workers) +
           " worker(s)");
  FeatureTable table = extract_features(jobs, settings, workers);
  for (const auto& [image, warning] : table.warnings) log_warn(image + ": " + warning);
  for (const auto& [image, reason] : table.skipped) log_warn("skipped " + reason);
  fs::path out(o.out);
  fs::path skipped = out.parent_path() / "skipped.csv";
  if (table.rows.empty()) {
    throw UsageError(jobs.size() == 1 ? table.skipped.front().second
                                      : "no image could be used; the reasons are above");
  }
  write_feature_table(out, table);
  fs::path settings_out = out.parent_path() / (stem_name(out) + ".settings.json");
  atomic_write_text(settings_out, feature_settings_to_json(settings).dump(2) + "\n");
  if (!table.skipped.empty()) write_skipped(skipped, table);
  log_info("wrote " + out.string() + " (" + std::to_string(table.rows.size()) + " image(s) x " +
           std::to_string(table.columns.size()) + " features)" +
           (table.skipped.empty() ? ""
                                  : "; skipped " + std::to_string(table.skipped.size()) +
                                        ", listed in " + skipped.string()));
  return 0;
}

}  // namespace

Action add_features_command(CLI::App& app) {
  auto* command = app.add_subcommand(
      "features",
      "radiomics features (IBSI) of images and their regions, one row per image in a CSV");
  auto o = std::make_shared<FeaturesOptions>();
  command
      ->add_option("--image", o->images,
                   "image file, DICOM series folder, or folder of images (repeatable)")
      ->required();
  command->add_option("--mask", o->masks,
                      "the region: one mask per --image, or a folder of masks named like the "
                      "images (default: the whole image)");
  command->add_option("--out", o->out, "the features CSV to write")->required();
  command->add_option("--config", o->settings_path,
                      "feature settings JSON (keys below; configs/ibsi/ has IBSI's)");
  command->add_option("--workers", o->workers, "images computed at once (0: number of cores)")
      ->capture_default_str();
  command->add_option("--log-level", o->log_level, "debug, info, warn or error")
      ->capture_default_str();
  command->footer("Feature settings (--config JSON keys):\n" + feature_settings_help());
  return [o] { return run_features(*o); };
}

}  // namespace medpipe::cli
