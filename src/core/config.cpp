#include "core/config.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "core/error.h"
#include "core/field_rule_columns.h"  // last: the table's column words
#include "core/fs.h"
#include "core/json_value.h"
#include "core/location.h"
#include "core/text.h"
#include "core/world.h"

namespace medpipe {

using nlohmann::json;

namespace {

template <class T>
const char* type_name() {
  if constexpr (std::is_same_v<T, bool>) return "bool";
  if constexpr (std::is_same_v<T, int>) return "int";
  if constexpr (std::is_same_v<T, double>) return "number";
  return "string";  // strings and typed choices
}

// A typed choice is read from its name.
template <Choice E>
void parse_json_value(const std::string& key, const json& value, E& out) {
  std::string text;
  medpipe::parse_json_value(key, value, text);
  std::optional<E> choice = choice_from<E>(text);
  if (!choice) FieldRule::one_of(ChoiceNames<E>::names).check("event key '" + key + "'", text);
  out = *choice;
}

template <class T>
json json_of(const T& value) {
  if constexpr (Choice<T>)
    return name_of(value);
  else
    return value;
}

// The allowed values of a field: its rule, or for a typed choice its names.
template <class T>
FieldRule rule_of(const FieldRule& rule) {
  if constexpr (Choice<T>)
    return FieldRule::one_of(ChoiceNames<T>::names);
  else
    return rule;
}

std::string json_type_name(const json& value) {
  return value.is_null() ? "null" : value.type_name();
}

[[noreturn]] void wrong_type(const std::string& key, const char* want, const json& value) {
  // a secret is never echoed; any other value is shown short, its URLs' passwords redacted
  std::string shown = key == "auth_token" ? "(hidden)" : json_text(value);
  if (shown.size() > 80) shown = shown.substr(0, 77) + "...";
  throw UsageError("event key '" + key + "' must be a " + want + ", got " + json_type_name(value) +
                   " " + redact_secrets(shown) + "; fix the value");
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1] ? 1 : 0)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string closest_key(const std::string& key) {
  std::string best;
  std::size_t best_distance = 4;  // suggest only near misses
  for (const auto& field : config_fields()) {
    std::size_t d = edit_distance(key, field.key);
    if (d < best_distance) {
      best_distance = d;
      best = field.key;
    }
  }
  return best;
}

std::string default_text(const json& value) {
  if (value.is_null()) return "\"\"";
  if (value.is_string()) {
    return value.get<std::string>().empty() ? "\"\"" : value.get<std::string>();
  }
  return json_text(value);
}

}  // namespace

void parse_json_value(const std::string& key, const json& value, bool& out) {
  if (value.is_boolean()) {
    out = value.get<bool>();
  } else if (value.is_string()) {
    out = parse_bool_text(value.get<std::string>());
  } else if (value.is_number_integer()) {
    out = value.get<long long>() != 0;
  } else {
    wrong_type(key, "boolean (true/false)", value);
  }
}

void parse_json_value(const std::string& key, const json& value, int& out) {
  // the value is range-checked before it is converted: 4294967297 does not wrap to 1
  auto whole = [&](long double v) {
    if (!(v >= std::numeric_limits<int>::min() && v <= std::numeric_limits<int>::max()))
      throw UsageError("event key '" + key + "' is " + json_text(value) +
                       ", outside the whole numbers medpipe takes; use a smaller value");
    out = static_cast<int>(v);
  };
  if (value.is_number_unsigned()) {
    whole(static_cast<long double>(value.get<std::uint64_t>()));
  } else if (value.is_number_integer()) {
    whole(static_cast<long double>(value.get<std::int64_t>()));
  } else if (value.is_number_float() && std::floor(value.get<double>()) == value.get<double>()) {
    whole(value.get<double>());
  } else if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    long long parsed = 0;
    try {
      std::size_t used = 0;
      parsed = std::stoll(text, &used);
      if (used != text.size()) throw std::invalid_argument(text);
    } catch (const std::exception&) {
      wrong_type(key, "whole number", value);
    }
    whole(static_cast<long double>(parsed));
  } else {
    wrong_type(key, "whole number", value);
  }
}

void parse_json_value(const std::string& key, const json& value, double& out) {
  if (value.is_null()) {
    out = std::nan("");
  } else if (value.is_number()) {
    out = value.get<double>();
  } else if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    try {
      std::size_t used = 0;
      out = std::stod(text, &used);
      if (used != text.size()) throw std::invalid_argument(text);
    } catch (const std::exception&) {
      wrong_type(key, "number", value);
    }
  } else {
    wrong_type(key, "number", value);
  }
}

void parse_json_value(const std::string& key, const json& value, std::string& out) {
  if (value.is_string()) {
    out = value.get<std::string>();
  } else if (value.is_number() || value.is_boolean()) {
    out = value.dump();
  } else {
    wrong_type(key, "string", value);
  }
}

std::string json_text(const json& value, int indent) {
  return value.dump(indent, ' ', false, json::error_handler_t::replace);
}

json parse_json_bounded(const std::string& text, const std::string& what, int max_depth) {
  auto bounded = [&](int depth, json::parse_event_t, json&) {
    if (depth > max_depth)
      throw UsageError(what + ": a value nests more than " + std::to_string(max_depth) +
                       " levels deep; that is not a file medpipe writes or reads");
    return true;
  };
  return json::parse(text, bounded);
}

bool parse_bool_text(const std::string& text) {
  std::string lower = text;
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  return !(lower.empty() || lower == "0" || lower == "false" || lower == "no");
}

bool is_planned_key(const std::string& key) {
  static const std::set<std::string> keys = {
      "arch",          "image_size", "optimizer", "learning_rate", "epochs",   "ensemble",
      "select_metric", "augment",    "ema_decay", "tta",           "cnn_width"};
  return keys.count(key) > 0;
}

const std::vector<ConfigFieldInfo>& config_fields() {
  static const std::vector<ConfigFieldInfo> fields = [] {
    std::vector<ConfigFieldInfo> out;
    json defaults = config_to_json(Config{});
#define MEDPIPE_FIELD_INFO(type, key, def, rule, help)                                          \
  out.push_back({#key, type_name<type>(), help,                                                 \
                 (is_planned_key(#key) ? "planned, else " : "") + default_text(defaults[#key]), \
                 rule_of<type>(rule)});
    MEDPIPE_CONFIG_FIELDS(MEDPIPE_FIELD_INFO)
#undef MEDPIPE_FIELD_INFO
    return out;
  }();
  return fields;
}

void set_config_value(Config& config, const std::string& key, const json& value) {
  auto set = [&](auto& field) {
    if (value.is_null())
      throw UsageError("event key '" + key + "' is null; give it a value or leave the key out");
    parse_json_value(key, value, field);
  };
#define MEDPIPE_SET_FIELD(type, name, def, rule, help) \
  if (key == #name) {                                  \
    set(config.name);                                  \
    config.given_keys.insert(key);                     \
    return;                                            \
  }
  MEDPIPE_CONFIG_FIELDS(MEDPIPE_SET_FIELD)
#undef MEDPIPE_SET_FIELD
  std::string hint = closest_key(key);
  throw UsageError("unknown event key '" + key + "'" +
                   (hint.empty() ? "" : "; did you mean '" + hint + "'?") +
                   " (medpipe run --help lists every key)");
}

void set_config_text(Config& config, const std::string& key, const std::string& text) {
  set_config_value(config, key, json(text));
}

void apply_event(Config& config, const json& event, const std::string& source) {
  if (!event.is_object()) {
    throw UsageError(source + ": the event must be a JSON object {\"key\": value, ...}, got " +
                     json_type_name(event));
  }
  for (const auto& [key, value] : event.items()) {
    try {
      set_config_value(config, key, value);
    } catch (const UsageError& e) {
      throw UsageError(source + ": " + e.what());
    }
  }
}

Config parse_event_text(const std::string& text, const std::string& source) {
  json event;
  try {
    event = parse_json_bounded(text, source);
  } catch (const json::exception& e) {  // parse_error, or out_of_range for a number past double
    throw UsageError(source + " is not valid JSON (" + std::string(e.what()) +
                     "); fix the syntax, e.g. with `python3 -m json.tool " + source + "`");
  }
  Config config;
  apply_event(config, event, source);
  return config;
}

Config load_event_file(const std::string& path) {
  return parse_event_text(read_text_file(path), path);
}

namespace {
void validate_segmentation_keys(const Config& c) {
  const int multiple = 1 << c.unet_depth;
  if (c.patch_size % multiple != 0) {
    throw UsageError("event key 'patch_size' is " + std::to_string(c.patch_size) +
                     "; it must be a multiple of 2^unet_depth = " + std::to_string(multiple));
  }
  bool unet = c.arch == Arch::kUnet || c.arch == Arch::kUnet3d;
  if (c.is_segmentation() && c.arch != Arch::kAuto && !unet) {
    throw UsageError("event key 'arch' is '" + std::string(name_of(c.arch)) +
                     "' but label_style is 'array' (segmentation): use arch unet, unet3d or auto");
  }
  if (!c.is_segmentation() && unet) {
    throw UsageError("event key 'arch' is '" + std::string(name_of(c.arch)) +
                     "' but label_style is 'single': a U-Net needs per-pixel label arrays "
                     "(label_style array and images_labels_bucket)");
  }
  if (c.is_segmentation() &&
      (c.pretrained.size() || c.finetune != Finetune::kAll || c.ensemble != 1)) {
    throw UsageError(
        "event keys 'pretrained', 'finetune' and 'ensemble' are for classification; remove them "
        "for label_style array");
  }
}

void validate_feature_keys(const Config& c) {
  if (c.pipeline != PipelineKind::kFeatures) return;
  if (c.label_style == LabelStyle::kSurvival) {
    if (c.arch != Arch::kAuto && c.arch != Arch::kCox)
      throw UsageError(
          "pipeline 'features' with label_style survival fits a Cox model on the "
          "radiomics features; set arch to cox (or leave it auto)");
    return;
  }
  if (c.label_style != LabelStyle::kSingle) {
    throw UsageError(
        "event key 'pipeline' is 'features' with label_style 'array': the radiomics pipeline "
        "classifies images (one label each); use pipeline 'deep' for segmentation");
  }
  if (c.arch != Arch::kAuto && c.arch != Arch::kMlp) {
    throw UsageError("event key 'arch' is '" + std::string(name_of(c.arch)) +
                     "' but pipeline 'features' trains an mlp on feature vectors; set arch to "
                     "mlp (or leave it auto)");
  }
}

// A typed choice holds one of its values by construction.
template <class T>
void check_field(const FieldRule& rule, const std::string& what, const T& value) {
  if constexpr (!Choice<T>) rule.check(what, value);
}

// Each field against the allowed values of its row in the table.
void check_field_rules(const Config& c) {
  std::size_t i = 0;
  const std::vector<ConfigFieldInfo>& fields = config_fields();
#define MEDPIPE_CHECK_FIELD(type, key, def, allowed, help) \
  check_field(fields[i++].rule, "event key '" #key "'", c.key);
  MEDPIPE_CONFIG_FIELDS(MEDPIPE_CHECK_FIELD)
#undef MEDPIPE_CHECK_FIELD
}

void validate_storage_keys(const Config& c) {
  (void)c.model_dir();  // model_bucket_name is a folder name: UsageError when it is not one
  for (const auto& [key, value] :
       {std::pair<const char*, const std::string*>{"models_bucket", &c.models_bucket},
        {"labels", &c.labels},
        {"val_labels", &c.val_labels},
        {"images_labels_bucket", &c.images_labels_bucket}}) {
    if (parse_location(*value).is_dicomweb()) {
      throw UsageError(std::string("event key '") + key + "' is " + *value +
                       ": a PACS holds images and takes results, not models, label CSVs or label "
                       "arrays; use a folder or s3://bucket/prefix");
    }
  }
}

// label_style survival: a covariates table and the linear Cox model; images are not yet a
// survival input.
void validate_survival_keys(const Config& c) {
  const bool survival = c.label_style == LabelStyle::kSurvival;
  const bool table_use =
      survival || (c.label_style == LabelStyle::kSingle &&
                   (!c.is_train || (!c.has_labels && c.unsupervised == Unsupervised::kCluster)));
  if (!survival && (c.arch == Arch::kCox || (!c.features_table.empty() && !table_use)))
    throw UsageError(std::string("event key '") +
                     (c.arch == Arch::kCox ? "arch" : "features_table") +
                     "' is for survival (label_style 'survival') or clustering (has_labels false)");
  if (!survival && !c.treatment_column.empty())
    throw UsageError("event key 'treatment_column' is for label_style survival");
  if (!survival) return;
  const bool radiomics = c.pipeline == PipelineKind::kFeatures;
  if (!c.treatment_column.empty() &&
      (c.features_table.empty() || (!c.images_bucket.empty() && !radiomics) ||
       (c.arch != Arch::kAuto && c.arch != Arch::kCox && (c.arch != Arch::kMlp || radiomics))))
    throw UsageError(
        "treatment_column: a treatment recommendation is fitted by the Cox model (arch cox) "
        "or the neural Cox model (arch mlp) on a features_table of covariates that holds the "
        "column, or on images by their radiomics features (pipeline features, Cox only) with "
        "the column in features_table; a CNN on the pixels is not built for it");
  if (c.treatment_model == TreatmentModel::kPerArm &&
      (c.treatment_column.empty() || c.arch == Arch::kMlp))
    throw UsageError(
        "treatment_model per_arm fits one Cox model per arm: it needs treatment_column and arch "
        "cox (the neural model takes the arm as an input instead)");
  if (!c.images_bucket.empty()) {
    if (!c.features_table.empty() && c.pipeline != PipelineKind::kFeatures)
      throw UsageError(
          "label_style survival takes images_bucket (a CNN on the pixels) or features_table (a "
          "model on covariates), not both, except with pipeline features (radiomics joined with "
          "the "
          "covariates); covariates beside a CNN are not built yet");
    if (c.arch != Arch::kAuto && c.arch != Arch::kCnn && c.pipeline != PipelineKind::kFeatures)
      throw UsageError(
          "label_style survival on images trains arch 'cnn' (with the Cox loss); "
          "arch '" +
          std::string(name_of(c.arch)) + "' is for features_table");
    return;
  }
  if (c.arch != Arch::kAuto && c.arch != Arch::kCox && c.arch != Arch::kMlp)
    throw UsageError(
        "label_style survival on features_table fits arch 'cox' (the linear Cox model) or "
        "'mlp' (the neural Cox model); arch '" +
        std::string(name_of(c.arch)) + "' is for images");
}

// Training without labels: clustering (any image input or a features_table) or SimCLR (a cnn).
void validate_unsupervised_keys(const Config& c) {
  (void)cluster_count_range(c);
  if (c.has_labels || !c.is_train) return;
  if (c.label_style != LabelStyle::kSingle)
    throw UsageError(std::string("event key 'has_labels' is false with label_style '") +
                     name_of(c.label_style) +
                     "': training without labels clusters the images or pretrains a network on "
                     "them (unsupervised cluster or simclr, label_style single); segmentation and "
                     "survival models need their labels");
  if (c.unsupervised == Unsupervised::kCluster) return;
  if (!c.features_table.empty() || c.pipeline != PipelineKind::kDeep ||
      (c.arch != Arch::kAuto && c.arch != Arch::kCnn && c.arch != Arch::kCnn3d))
    throw UsageError(
        "unsupervised simclr pretrains a cnn (or cnn3d) on the pixels: use pipeline deep, arch "
        "auto, cnn or cnn3d, and no features_table");
  if (c.finetune != Finetune::kAll || c.ensemble != 1)
    throw UsageError("unsupervised simclr trains one network: remove finetune and ensemble");
}

}  // namespace

std::pair<int, int> cluster_count_range(const Config& c) {
  const std::string& text = c.num_clusters;
  auto fail = [&]() -> std::pair<int, int> {
    throw UsageError("event key 'num_clusters' is '" + text +
                     "': give a number of clusters (at least 2), a range such as 2-8, or auto");
  };
  if (text == "auto" || text.empty()) return {2, 10};
  const std::size_t dash = text.find('-');
  try {
    std::size_t used = 0;
    const int lo = std::stoi(text.substr(0, dash), &used);
    if (used != text.substr(0, dash).size()) return fail();
    int hi = lo;
    if (dash != std::string::npos) {
      const std::string rest = text.substr(dash + 1);
      hi = std::stoi(rest, &used);
      if (used != rest.size()) return fail();
    }
    if (lo < 2 || hi < lo || hi > 1000) return fail();
    return {lo, hi};
  } catch (const std::logic_error&) {
    return fail();
  }
}

// The rules of single fields are in the table (config.h); here the ones across fields.
void validate_config(const Config& c) {
  if (c.is_dropbox) {
    throw UsageError(
        "event key 'is_dropbox' is true: Dropbox input is not supported; copy the images to a "
        "local folder and set images_bucket to it");
  }
  if (c.images_bucket.empty() && c.features_table.empty()) {
    throw UsageError("event key 'images_bucket' is missing: set it to the folder of images");
  }
  check_field_rules(c);
  if (c.num_classes == 1) {
    throw UsageError("event key 'num_classes' is 1; a classifier needs at least 2 classes");
  }
  if (c.num_channels != 0 && c.num_channels != 1 && c.num_channels != 3) {
    throw UsageError("event key 'num_channels' is " + std::to_string(c.num_channels) +
                     "; use 1 (gray) or 3 (RGB)");
  }
  const int local_limit = std::max(8, 4 * static_cast<int>(std::thread::hardware_concurrency()));
  if (world().size() == 1 && c.num_machines > local_limit) {
    throw UsageError("event key 'num_machines' is " + std::to_string(c.num_machines) +
                     ": on one machine the workers are threads, and this one has " +
                     std::to_string(std::thread::hardware_concurrency()) + " cores; use at most " +
                     std::to_string(local_limit) +
                     ", or launch MPI ranks across machines (mpirun, srun)");
  }
  if (world().size() > 1 && c.num_machines > 0 && c.num_machines != world().size()) {
    throw UsageError("num_machines is " + std::to_string(c.num_machines) + " but the MPI job has " +
                     std::to_string(world().size()) +
                     " ranks (one worker each): leave num_machines out or launch that many ranks");
  }
  validate_storage_keys(c);
  validate_feature_keys(c);
  validate_segmentation_keys(c);
  validate_survival_keys(c);
  validate_unsupervised_keys(c);
}

json config_to_json(const Config& config) {
  json out = json::object();
#define MEDPIPE_TO_JSON(type, name, def, rule, help) out[#name] = json_of(config.name);
  MEDPIPE_CONFIG_FIELDS(MEDPIPE_TO_JSON)
#undef MEDPIPE_TO_JSON
  out.erase("auth_token");                // a secret: never saved
  for (auto& [key, value] : out.items())  // nor a URL's password
    if (value.is_string()) value = redact_secrets(value.get<std::string>());
  return out;
}

std::string Config::model_dir() const {
  return safe_join(local_path_for(models_bucket), model_bucket_name,
                   "event key 'model_bucket_name'")
      .string();
}

std::string Config::results_dir() const {
  // a PACS takes results by STOW-RS: they are staged in a folder of their own, never in the
  // mirror of the PACS's images
  if (parse_location(results_bucket).is_dicomweb())
    return (medpipe_cache_root() / "outgoing" / hex_digest(results_bucket)).string();
  if (!results_bucket.empty()) return local_path_for(results_bucket).string();
  return safe_join("results", model_bucket_name, "event key 'model_bucket_name'").string();
}

namespace {
int cores() {
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}
}  // namespace

int Config::resolved_workers() const {
  if (world().size() > 1) return world().size();
  return num_machines > 0 ? num_machines : cores();
}

int Config::local_workers() const {
  return world().size() > 1 ? 1 : resolved_workers();
}

int Config::resolved_threads() const {
  if (threads > 0) return threads;
  return std::max(1, cores() / (local_workers() * world().local_size()));
}

int Config::resolved_batch_size() const {
  if (batch_size > 0) return batch_size;
  const int step = is_segmentation() ? 8 : 32;  // samples a step, whatever the core count
  const int workers = resolved_workers();
  return (step + workers - 1) / workers;
}

}  // namespace medpipe
