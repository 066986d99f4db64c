#include "data/survival_table.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "core/error.h"
#include "io/csv.h"

namespace medpipe {

namespace {

bool parse_number(const std::string& text, double& out) {
  if (text.empty()) return false;
  char* end = nullptr;
  out = std::strtod(text.c_str(), &end);
  while (end && (*end == ' ' || *end == '\t')) ++end;
  return end && *end == '\0' && std::isfinite(out);
}

int column_named(const CsvRow& header, const std::string& name) {
  for (std::size_t i = 0; i < header.fields.size(); ++i)
    if (header.fields[i] == name) return static_cast<int>(i);
  return -1;
}

std::string lines_text(const std::vector<int>& lines) {
  std::string text;
  for (std::size_t i = 0; i < lines.size() && i < 10; ++i)
    text += (i ? ", " : "") + std::to_string(lines[i]);
  if (lines.size() > 10) text += " and " + std::to_string(lines.size() - 10) + " more";
  return text;
}

}  // namespace

SurvivalTable rows_of(const SurvivalTable& t, const std::vector<std::size_t>& keep) {
  SurvivalTable out;
  out.columns = t.columns;
  const std::size_t f = t.columns.size();
  for (std::size_t i : keep) {
    out.names.push_back(t.names[i]);
    out.time.push_back(t.time[i]);
    out.event.push_back(t.event[i]);
    out.x.insert(out.x.end(), t.x.begin() + static_cast<std::ptrdiff_t>(i * f),
                 t.x.begin() + static_cast<std::ptrdiff_t>((i + 1) * f));
  }
  return out;
}

std::vector<std::pair<std::string, SurvivalLabel>> read_survival_labels(const fs::path& path) {
  const std::vector<CsvRow> rows = read_csv_file(path);
  const std::string where = "labels file " + path.string();
  if (rows.empty()) throw UsageError(where + " is empty; it needs a header image,time,event");
  const int image = column_named(rows[0], "image"), time = column_named(rows[0], "time"),
            event = column_named(rows[0], "event");
  if (image < 0 || time < 0 || event < 0)
    throw UsageError(where + " needs the columns image, time and event (label_style survival: " +
                     "time > 0, event 1 = happened, 0 = censored)");
  std::vector<std::pair<std::string, SurvivalLabel>> out;
  std::vector<int> bad_time, bad_event, duplicate;
  std::set<double> event_values;
  std::unordered_set<std::string> seen;
  for (std::size_t r = 1; r < rows.size(); ++r) {
    const CsvRow& row = rows[r];
    if (row.fields.size() == 1 && row.fields[0].empty()) continue;  // a blank line
    const auto field = [&](int c) {
      return c < static_cast<int>(row.fields.size()) ? row.fields[c] : std::string();
    };
    SurvivalLabel label;
    double e = 0;
    if (!parse_number(field(time), label.time) || !(label.time > 0)) bad_time.push_back(row.line);
    if (!parse_number(field(event), e) || (e != 0 && e != 1)) {
      bad_event.push_back(row.line);
      if (parse_number(field(event), e)) event_values.insert(e);
    }
    label.event = e == 1 ? 1 : 0;
    if (!seen.insert(field(image)).second) duplicate.push_back(row.line);
    out.emplace_back(field(image), label);
  }
  std::string problems;
  if (!bad_time.empty())
    problems += "\n  column time: not a number above 0 on line(s) " + lines_text(bad_time);
  if (!bad_event.empty()) {
    problems += "\n  column event: not 0 or 1 on line(s) " + lines_text(bad_event);
    if (event_values.count(2))
      problems += " (R's coding 1 = censored, 2 = event? recode as event = status - 1)";
  }
  if (!duplicate.empty())
    problems += "\n  column image: a name given twice on line(s) " + lines_text(duplicate);
  if (!problems.empty()) throw UsageError(where + " cannot be used:" + problems);
  if (out.empty()) throw UsageError(where + " has no rows");
  return out;
}

std::vector<std::string> CovariateEncoding::encoded_names() const {
  std::vector<std::string> names;
  for (const CovariateColumn& c : columns) {
    if (c.levels.empty()) names.push_back(c.name);
    for (std::size_t l = 1; l < c.levels.size(); ++l) names.push_back(c.name + "=" + c.levels[l]);
  }
  return names;
}

nlohmann::json encoding_to_json(const CovariateEncoding& encoding) {
  nlohmann::json columns = nlohmann::json::array();
  for (const CovariateColumn& c : encoding.columns)
    columns.push_back({{"name", c.name}, {"levels", c.levels}});
  return {{"columns", columns}, {"encoded", encoding.encoded_names()}};
}

CovariateEncoding encoding_from_json(const nlohmann::json& json) {
  CovariateEncoding encoding;
  for (const auto& c : json.at("columns"))
    encoding.columns.push_back(
        {c.at("name").get<std::string>(), c.at("levels").get<std::vector<std::string>>()});
  return encoding;
}

CovariateTable read_covariate_table(const fs::path& path) {
  const std::vector<CsvRow> rows = read_csv_file(path);
  const std::string where = "features_table " + path.string();
  if (rows.empty() || rows[0].fields.empty() || rows[0].fields[0] != "image")
    throw UsageError(where + ": the first column must be 'image' (the image or patient name), " +
                     "the others covariates");
  CovariateTable table;
  table.source = path;
  table.header.assign(rows[0].fields.begin() + 1, rows[0].fields.end());
  std::unordered_set<std::string> seen;
  for (std::size_t r = 1; r < rows.size(); ++r) {
    const CsvRow& row = rows[r];
    if (row.fields.size() == 1 && row.fields[0].empty()) continue;
    if (row.fields.size() != table.header.size() + 1)
      throw UsageError(where + " line " + std::to_string(row.line) + " has " +
                       std::to_string(row.fields.size()) + " fields; the header has " +
                       std::to_string(table.header.size() + 1));
    if (!seen.insert(row.fields[0]).second)
      throw UsageError(where + " line " + std::to_string(row.line) + ": '" + row.fields[0] +
                       "' is named twice");
    table.names.push_back(row.fields[0]);
    table.values.emplace_back(row.fields.begin() + 1, row.fields.end());
    table.lines.push_back(row.line);
  }
  if (table.header.empty()) throw UsageError(where + " has no covariate column");
  return table;
}

CovariateEncoding fit_encoding(const CovariateTable& table) {
  CovariateEncoding encoding;
  for (std::size_t c = 0; c < table.header.size(); ++c) {
    CovariateColumn column{table.header[c], {}};
    const bool numeric =
        std::all_of(table.values.begin(), table.values.end(), [&](const auto& row) {
          double v = 0;
          return row[c].empty() || parse_number(row[c], v);
        });
    if (!numeric) {
      std::set<std::string> levels;
      for (const auto& row : table.values)
        if (!row[c].empty()) levels.insert(row[c]);
      column.levels.assign(levels.begin(), levels.end());
    }
    encoding.columns.push_back(column);
  }
  return encoding;
}

SurvivalTable survival_table(const CovariateTable& covariates, const CovariateEncoding& encoding,
                             const std::vector<std::pair<std::string, SurvivalLabel>>* labels,
                             std::vector<std::pair<std::string, std::string>>& skipped) {
  std::unordered_map<std::string, std::size_t> row_of;
  for (std::size_t r = 0; r < covariates.names.size(); ++r) row_of[covariates.names[r]] = r;
  std::vector<int> position;  // of each encoded column in the file
  for (const CovariateColumn& c : encoding.columns) {
    const auto found = std::find(covariates.header.begin(), covariates.header.end(), c.name);
    if (found == covariates.header.end())
      throw UsageError("features_table " + covariates.source.string() + " has no column '" +
                       c.name + "', which the model was trained with");
    position.push_back(static_cast<int>(found - covariates.header.begin()));
  }
  SurvivalTable out;
  out.columns = encoding.encoded_names();
  std::vector<std::pair<std::string, SurvivalLabel>> unlabelled;
  if (!labels)
    for (const std::string& name : covariates.names) unlabelled.emplace_back(name, SurvivalLabel{});
  for (const auto& [name, label] : labels ? *labels : unlabelled) {
    const auto found = row_of.find(name);
    if (found == row_of.end()) {
      skipped.emplace_back(name, "no row in features_table");
      continue;
    }
    const std::vector<std::string>& values = covariates.values[found->second];
    std::vector<double> x;
    std::string problem;
    for (std::size_t c = 0; c < encoding.columns.size() && problem.empty(); ++c) {
      const CovariateColumn& column = encoding.columns[c];
      const std::string& text = values[position[c]];
      double v = 0;
      if (text.empty()) {
        problem = "covariate '" + column.name + "' is missing";
      } else if (column.levels.empty()) {
        if (!parse_number(text, v)) problem = "covariate '" + column.name + "' is not a number";
        x.push_back(v);
      } else {
        const auto level = std::find(column.levels.begin(), column.levels.end(), text);
        if (level == column.levels.end())
          problem = "covariate '" + column.name + "' has a level the training data did not have";
        for (std::size_t l = 1; l < column.levels.size(); ++l)
          x.push_back(level - column.levels.begin() == static_cast<std::ptrdiff_t>(l) ? 1.0 : 0.0);
      }
    }
    if (!problem.empty()) {
      skipped.emplace_back(name, problem);
      continue;
    }
    out.names.push_back(name);
    out.time.push_back(label.time);
    out.event.push_back(label.event);
    out.x.insert(out.x.end(), x.begin(), x.end());
  }
  return out;
}

}  // namespace medpipe
