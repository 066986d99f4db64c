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

// JSON as text for a file or a message; text that is not UTF-8 (a Latin-1 file name) is
// replaced by U+FFFD instead of failing the run.
std::string json_text(const nlohmann::json& value, int indent = -1);

// JSON from outside (an event, a settings file, a server's answer), refused while it is parsed
// when a value nests more than `max_depth` levels, before anything recursive meets it. Throws
// UsageError naming `what` for that, and nlohmann's json::exception for bad syntax (parse_error;
// out_of_range for a number beyond double).
nlohmann::json parse_json_bounded(const std::string& text, const std::string& what,
                                  int max_depth = 16);

}  // namespace medpipe
