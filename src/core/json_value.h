// core/json_value.h: reading one typed setting from JSON, shared by every settings struct.
// Each throws UsageError naming the key, the wrong type and what to do.
#pragma once
#include <nlohmann/json_fwd.hpp>
#include <string>

namespace medpipe {

void parse_json_value(const std::string& key, const nlohmann::json& value, bool& out);
void parse_json_value(const std::string& key, const nlohmann::json& value, int& out);
// null reads as NaN ("not set") for numbers.
void parse_json_value(const std::string& key, const nlohmann::json& value, double& out);
void parse_json_value(const std::string& key, const nlohmann::json& value, std::string& out);

}  // namespace medpipe
