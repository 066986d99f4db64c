#include "core/field_rule.h"

#include <cmath>
#include <sstream>

#include "core/error.h"
#include "core/text.h"

namespace medpipe {

namespace {

std::string number_text(double v) {
  return medpipe::number_text(v, 12);
}

}  // namespace

std::string FieldRule::values_text(const char* separator) const {
  std::string out;
  for (const auto& v : values_) out += (out.empty() ? "" : separator) + (v.empty() ? "\"\"" : v);
  return out;
}

std::string FieldRule::text() const {
  switch (kind_) {
    case Kind::kRange:
      return number_text(lo_) + " to " + number_text(hi_);
    case Kind::kAbove:
      return "above " + number_text(lo_);
    case Kind::kOneOf:
      return values_text(" | ");
    case Kind::kListOf:
      return "comma-separated: " + values_text(", ");
    case Kind::kAny:
      break;
  }
  return "";
}

void FieldRule::check(const std::string& what, double value) const {
  if (std::isnan(value)) return;
  if (kind_ == Kind::kRange && !(value >= lo_ && value <= hi_))
    throw UsageError(what + " is " + number_text(value) + "; use a value from " + number_text(lo_) +
                     " to " + number_text(hi_));
  if (kind_ == Kind::kAbove && !(value > lo_))
    throw UsageError(what + " is " + number_text(value) + "; use a value above " +
                     number_text(lo_));
}

void FieldRule::check(const std::string& what, const std::string& value) const {
  auto allowed = [&](const std::string& v) {
    for (const auto& a : values_)
      if (v == a) return true;
    return false;
  };
  if (kind_ == Kind::kOneOf && !allowed(value))
    throw UsageError(what + " is '" + value + "'; use one of: " + values_text(", "));
  if (kind_ != Kind::kListOf) return;
  std::stringstream items(value);
  std::string item;
  while (std::getline(items, item, ',')) {
    item = trim(item);
    if (!item.empty() && !allowed(item))
      throw UsageError(what + " lists '" + item + "'; use one or more of: " + values_text(", "));
  }
}

}  // namespace medpipe
