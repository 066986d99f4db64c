#include "data/labels.h"

#include <algorithm>
#include <map>

#include "core/error.h"
#include "core/text.h"
#include "io/csv.h"
#include "storage/storage.h"

namespace medpipe {

namespace {
std::string join_problems(const std::vector<std::string>& problems) {
  std::string out;
  std::size_t shown = std::min<std::size_t>(problems.size(), 20);
  for (std::size_t i = 0; i < shown; ++i) out += "\n  " + problems[i];
  if (problems.size() > shown) {
    out += "\n  ... and " + std::to_string(problems.size() - shown) + " more";
  }
  return out;
}

bool parse_level(const std::string& text, int& level) {
  if (text.empty()) return false;
  std::size_t used = 0;
  try {
    long long v = std::stoll(text, &used);
    if (used != text.size() || v < 0 || v > 1000000) return false;
    level = static_cast<int>(v);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}
// The header's column names; UsageError unless it has one `image` and one `level` column.
std::vector<std::string> header_of(const CsvRow& first, const std::string& where) {
  std::vector<std::string> header;
  for (const auto& f : first.fields) header.push_back(trim(f));
  for (const char* column : {"image", "level"}) {
    const auto count = std::count(header.begin(), header.end(), column);
    if (count == 1) continue;
    std::string got;
    for (const auto& h : header) got += (got.empty() ? "" : ",") + h;
    if (count > 1)
      throw UsageError(where + ": the header names the column `" + std::string(column) +
                       "` more than once; keep one, so that it is clear which holds the label");
    throw UsageError(where + ": the first line must be the header `image,level`, got `" + got +
                     "`; add or rename the header so the columns are image and level");
  }
  return header;
}

}  // namespace

LabelTable read_labels_csv(const fs::path& path) {
  std::vector<CsvRow> rows = read_csv_file(path);
  const std::string where = path.string();
  if (rows.empty()) {
    throw UsageError(where + " is empty; it needs a header `image,level` and one row per image");
  }
  const std::vector<std::string> header = header_of(rows[0], where);
  auto image_col = std::find(header.begin(), header.end(), "image") - header.begin();
  auto level_col = std::find(header.begin(), header.end(), "level") - header.begin();
  LabelTable table;
  table.source = path;
  std::vector<std::string> problems;
  std::map<std::string, int> first_line;
  for (std::size_t r = 1; r < rows.size(); ++r) {
    const CsvRow& row = rows[r];
    std::string line = "line " + std::to_string(row.line) + ": ";
    if (row.fields.size() <= static_cast<std::size_t>(std::max(image_col, level_col))) {
      problems.push_back(line + "has " + std::to_string(row.fields.size()) +
                         " column(s), the header has " + std::to_string(header.size()));
      continue;
    }
    LabelRow label;
    label.line = row.line;
    label.image = trim(row.fields[image_col]);
    std::string level_text = trim(row.fields[level_col]);
    if (label.image.empty()) {
      problems.push_back(line + "the image name is empty");
      continue;
    }
    if (!parse_level(level_text, label.level)) {
      problems.push_back(line + "level '" + level_text + "' of image " + label.image +
                         " is not a non-negative whole number");
      continue;
    }
    auto [it, inserted] = first_line.emplace(label.image, row.line);
    if (!inserted) {
      problems.push_back(line + "image " + label.image + " is listed again (first on line " +
                         std::to_string(it->second) + ")");
      continue;
    }
    table.rows.push_back(label);
  }
  if (!problems.empty()) {
    throw UsageError(where + " has " + std::to_string(problems.size()) +
                     " problem(s); fix these rows:" + join_problems(problems));
  }
  if (table.rows.empty()) {
    throw UsageError(where + " has a header but no rows; add one `image,level` row per image");
  }
  return table;
}

fs::path find_labels_csv(const std::string& labels, const fs::path& images_dir,
                         const std::string& labels_key, const fs::path& fallback_dir) {
  if (!labels.empty()) {
    fs::path path = resolve_location(labels, labels_key);
    if (!fs::is_regular_file(path)) {
      throw UsageError("event key '" + labels_key + "': " + path.string() +
                       " does not exist or is not a file; give the labels CSV `image,level`");
    }
    return path;
  }
  std::vector<fs::path> csvs;
  for (const auto& file : list_folder(images_dir, "images_bucket")) {
    if (full_extension(file) == ".csv" && file.filename().string()[0] != '.') csvs.push_back(file);
  }
  if (csvs.size() == 1) return csvs[0];
  if (csvs.empty() && !fallback_dir.empty() && fallback_dir != images_dir) {
    return find_labels_csv(labels, fallback_dir, labels_key);
  }
  if (csvs.empty()) {
    throw UsageError("no labels CSV: set event key '" + labels_key +
                     "' to the CSV `image,level`, "
                     "put one *.csv in " +
                     images_dir.string() +
                     ", or set has_labels to false for inference without evaluation");
  }
  std::string names;
  for (const auto& c : csvs) names += " " + c.filename().string();
  throw UsageError(images_dir.string() + " holds several CSV files (" + names +
                   " ); set event key '" + labels_key + "' to the one with the labels");
}

}  // namespace medpipe
