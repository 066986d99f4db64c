// core/text.h: small text helpers shared by the parsers of labels, settings and credentials.
#pragma once
#include <sstream>
#include <string>

namespace medpipe {

// `value` in at most `significant_digits` significant digits, no trailing zeros: 12, 365.25.
inline std::string number_text(double value, int significant_digits) {
  std::ostringstream out;
  out.precision(significant_digits);
  out << value;
  return out.str();
}

// `text` without leading and trailing spaces, tabs and carriage returns.
inline std::string trim(const std::string& text) {
  auto first = text.find_first_not_of(" \t\r");
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(" \t\r") - first + 1);
}

// `text` with the user and password of every URL in it ("s3://user:secret@host/...",
// "dicomweb://user:pw@pacs:8042/...") replaced by "***": what messages, logs, events, stored
// configs and cache folder names may hold.
inline std::string redact_secrets(const std::string& text) {
  std::string out;
  std::size_t from = 0;
  while (true) {
    const std::size_t scheme = text.find("://", from);
    if (scheme == std::string::npos) break;
    const std::size_t start = scheme + 3;
    const std::size_t end = text.find_first_of("/?# \t\n\"'", start);
    const std::size_t stop = end == std::string::npos ? text.size() : end;
    const std::size_t at = text.rfind('@', stop == 0 ? 0 : stop - 1);
    out.append(text, from, start - from);
    if (at != std::string::npos && at >= start && at < stop) {
      out += "***";
      from = at;
    } else {
      from = start;
    }
  }
  return out + text.substr(from);
}

}  // namespace medpipe
