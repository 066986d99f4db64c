#include "features/settings.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "core/field_rule.h"
#include "core/json_value.h"
#include "core/text.h"
#include "core/field_rule_columns.h"  // last: the table's column words

namespace medpipe {

using nlohmann::json;

namespace {

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    item = trim(item);
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

// Each field against the allowed values of its row in the table (settings.h); then the rules
// across fields.
void validate(const FeatureSettings& s, const std::string& source) {
#define MEDPIPE_CHECK_FEATURE_FIELD(type, key, def, rule, help) \
  rule.check(source + ": feature setting '" #key "'", s.key);
  MEDPIPE_FEATURE_FIELDS(MEDPIPE_CHECK_FEATURE_FIELD)
#undef MEDPIPE_CHECK_FEATURE_FIELD
  if (!std::isnan(s.resegment_min) && !std::isnan(s.resegment_max) &&
      s.resegment_min > s.resegment_max) {
    throw UsageError(source + ": resegment_min is above resegment_max; swap them");
  }
}

// The allowed values of every field, for --help.
std::string allowed_text(const std::string& key) {
#define MEDPIPE_FEATURE_RULE_TEXT(type, name, def, rule, help) \
  if (key == #name) return rule.text();
  MEDPIPE_FEATURE_FIELDS(MEDPIPE_FEATURE_RULE_TEXT)
#undef MEDPIPE_FEATURE_RULE_TEXT
  return "";
}


}  // namespace

bool FeatureSettings::wants(const std::string& family) const {
  for (const auto& f : split_list(families)) {
    if (f == "all" || f == family) return true;
  }
  return false;
}

std::vector<std::string> FeatureSettings::aggregations(int depth) const {
  std::vector<std::string> out;
  for (const auto& a : split_list(aggregation)) {
    if (a == "auto") {
      out.push_back(depth > 1 ? "3D" : "2D");
    } else if (depth > 1 || a == "2D") {
      out.push_back(a);  // a single slice has only the 2D aggregation
    }
  }
  if (out.empty()) out.push_back("2D");
  return out;
}

FeatureSettings feature_settings_from_json(const json& object, const std::string& source) {
  if (!object.is_object()) {
    throw UsageError(source + ": feature settings must be a JSON object {\"key\": value, ...}");
  }
  FeatureSettings s;
  for (const auto& [key, value] : object.items()) {
    bool known = false;
#define MEDPIPE_SET_FEATURE_FIELD(type, name, def, rule, help) \
  if (key == #name) {                                          \
    parse_json_value(key, value, s.name);                      \
    known = true;                                              \
  }
    MEDPIPE_FEATURE_FIELDS(MEDPIPE_SET_FEATURE_FIELD)
#undef MEDPIPE_SET_FEATURE_FIELD
    if (!known && key.rfind("_", 0) != 0) {  // "_comment" style keys are allowed
      throw UsageError(source + ": unknown feature setting '" + key +
                       "' (medpipe features --help lists them)");
    }
  }
  validate(s, source);
  return s;
}

FeatureSettings load_feature_settings(const std::string& path) {
  if (path.empty()) return FeatureSettings{};
  std::ifstream in(path);
  if (!in) {
    throw UsageError("cannot open feature settings '" + path + "'; check the path");
  }
  json object;
  try {
    std::stringstream text;
    text << in.rdbuf();
    object = parse_json_bounded(text.str(), path);
  } catch (const json::exception& e) {
    throw UsageError(path + ": not valid JSON (" + e.what() + ")");
  }
  return feature_settings_from_json(object, path);
}

static json setting_json(double value) {
  return std::isnan(value) ? json(nullptr) : json(value);
}
static json setting_json(int value) {
  return json(value);
}
static json setting_json(bool value) {
  return json(value);
}
static json setting_json(const std::string& value) {
  return json(value);
}

json feature_settings_to_json(const FeatureSettings& s) {
  json out = json::object();
#define MEDPIPE_FEATURE_TO_JSON(type, name, def, rule, help) out[#name] = setting_json(s.name);
  MEDPIPE_FEATURE_FIELDS(MEDPIPE_FEATURE_TO_JSON)
#undef MEDPIPE_FEATURE_TO_JSON
  return out;
}

std::string feature_settings_help() {
  std::ostringstream out;
  json defaults = feature_settings_to_json(FeatureSettings{});
#define MEDPIPE_FEATURE_HELP(type, name, def, rule, help)                         \
  out << "  " << #name << " (default " << defaults[#name].dump() << "): " << help \
      << (allowed_text(#name).empty() ? "" : " [allowed: " + allowed_text(#name) + "]") << "\n";
  MEDPIPE_FEATURE_FIELDS(MEDPIPE_FEATURE_HELP)
#undef MEDPIPE_FEATURE_HELP
  return out.str();
}

}  // namespace medpipe
