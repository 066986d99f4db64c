#include "features/settings.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "core/json_value.h"
#include "core/text.h"

namespace medpipe {

using nlohmann::json;

namespace {

const char* const kFamilies[] = {"morph", "loc", "stat", "ih",  "ivh", "cm",
                                 "rlm",   "szm", "dzm",  "ngt", "ngl"};

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

void check_one_of(const std::string& source, const std::string& key, const std::string& value,
                  std::initializer_list<const char*> allowed) {
  std::string list;
  for (const char* a : allowed) {
    if (value == a) return;
    list += (list.empty() ? "" : ", ") + std::string(a);
  }
  throw UsageError(source + ": feature setting '" + key + "' is '" + value +
                   "'; use one of: " + list);
}

void validate(const FeatureSettings& s, const std::string& source) {
  for (const auto& family : split_list(s.families)) {
    if (family == "all") continue;
    bool known = false;
    for (const char* f : kFamilies) known = known || family == f;
    if (!known) {
      throw UsageError(source + ": feature family '" + family +
                       "' is unknown; use all or some of morph, loc, stat, ih, ivh, cm, rlm, "
                       "szm, dzm, ngt, ngl");
    }
  }
  for (const auto& a : split_list(s.aggregation)) {
    check_one_of(source, "aggregation", a, {"auto", "2D", "2.5D", "3D"});
  }
  check_one_of(source, "discretisation", s.discretisation, {"fixed_bin_number", "fixed_bin_size"});
  check_one_of(source, "interpolation", s.interpolation, {"linear", "cubic", "nearest"});
  check_one_of(source, "ivh_intensities", s.ivh_intensities,
               {"discrete", "continuous", "arbitrary", "discretised"});
  auto positive = [&](const std::string& key, double value) {
    if (!(value > 0)) {
      throw UsageError(source + ": feature setting '" + key + "' must be above 0, got " +
                       std::to_string(value));
    }
  };
  positive("bin_count", s.bin_count);
  positive("bin_width", s.bin_width);
  positive("ivh_bin_width", s.ivh_bin_width);
  positive("ivh_bin_count", s.ivh_bin_count);
  positive("glcm_distance", s.glcm_distance);
  positive("moran_max_voxels", s.moran_max_voxels);
  if (!std::isnan(s.new_spacing_mm)) positive("new_spacing_mm", s.new_spacing_mm);
  if (!std::isnan(s.resegment_min) && !std::isnan(s.resegment_max) &&
      s.resegment_min > s.resegment_max) {
    throw UsageError(source + ": resegment_min is above resegment_max; swap them");
  }
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
#define MEDPIPE_SET_FEATURE_FIELD(type, name, def, help) \
  if (key == #name) {                                    \
    parse_json_value(key, value, s.name);                \
    known = true;                                        \
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
    in >> object;
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
#define MEDPIPE_FEATURE_TO_JSON(type, name, def, help) out[#name] = setting_json(s.name);
  MEDPIPE_FEATURE_FIELDS(MEDPIPE_FEATURE_TO_JSON)
#undef MEDPIPE_FEATURE_TO_JSON
  return out;
}

std::string feature_settings_help() {
  std::ostringstream out;
  json defaults = feature_settings_to_json(FeatureSettings{});
#define MEDPIPE_FEATURE_HELP(type, name, def, help) \
  out << "  " << #name << " (default " << defaults[#name].dump() << "): " << help << "\n";
  MEDPIPE_FEATURE_FIELDS(MEDPIPE_FEATURE_HELP)
#undef MEDPIPE_FEATURE_HELP
  return out.str();
}

}  // namespace medpipe
