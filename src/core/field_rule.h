// core/field_rule.h: the allowed values of one settings field, declared next to the field in its
// table (the run's Config, the radiomics FeatureSettings) and checked by one loop over the
// table; --help prints them. Cross-field rules stay in the settings' own validate function.
#pragma once
#include <array>
#include <initializer_list>
#include <string>
#include <vector>

namespace medpipe {

class FieldRule {
 public:
  static FieldRule any() { return {}; }
  static FieldRule range(double lo, double hi) { return {Kind::kRange, lo, hi, {}}; }
  static FieldRule above(double lo) { return {Kind::kAbove, lo, 0, {}}; }
  static FieldRule one_of(std::initializer_list<const char*> values) {
    return {Kind::kOneOf, 0, 0, {values.begin(), values.end()}};
  }
  template <std::size_t N>
  static FieldRule one_of(const std::array<const char*, N>& values) {
    return {Kind::kOneOf, 0, 0, {values.begin(), values.end()}};
  }
  // A comma-separated list whose every item is one of `values`.
  static FieldRule list_of(std::initializer_list<const char*> values) {
    return {Kind::kListOf, 0, 0, {values.begin(), values.end()}};
  }

  // For people: "1 to 100000", "above 0", "sgd | adam", "" for any.
  std::string text() const;
  // Throw UsageError "<what> is <value>; use ..." when the value is not allowed. NaN (an unset
  // optional number) and booleans are always allowed.
  void check(const std::string& what, double value) const;
  void check(const std::string& what, int value) const { check(what, static_cast<double>(value)); }
  void check(const std::string& what, bool) const {}
  void check(const std::string& what, const std::string& value) const;

 private:
  enum class Kind { kAny, kRange, kAbove, kOneOf, kListOf };
  FieldRule() = default;
  FieldRule(Kind kind, double lo, double hi, std::vector<std::string> values)
      : kind_(kind), lo_(lo), hi_(hi), values_(std::move(values)) {}
  std::string values_text(const char* separator) const;

  Kind kind_ = Kind::kAny;
  double lo_ = 0, hi_ = 0;
  std::vector<std::string> values_;
};

}  // namespace medpipe
