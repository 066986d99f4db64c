// core/text.h: small text helpers shared by the parsers of labels, settings and credentials.
#pragma once
#include <string>

namespace medpipe {

// `text` without leading and trailing spaces, tabs and carriage returns.
inline std::string trim(const std::string& text) {
  auto first = text.find_first_not_of(" \t\r");
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(" \t\r") - first + 1);
}

}  // namespace medpipe
