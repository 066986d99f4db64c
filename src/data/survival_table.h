// data/survival_table.h: survival targets (a labels CSV `image,time,event`, event 1 happened, 0
// censored) joined by name with covariates (`features_table`: a CSV whose first column `image`
// names the image or patient, the others covariates): the table a Cox model fits and scores.
// Categorical columns (any value that is not a number) are one-hot encoded against their first
// level in sorted order, as R's treatment contrasts; the encoding is fitted on the training
// table and applied to every other.
#pragma once
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <utility>
#include <vector>

#include "core/fs.h"

namespace medpipe {

// One subject a row: follow-up time (> 0), event (1 happened, 0 censored), covariates.
struct SurvivalTable {
  std::vector<std::string> names;
  std::vector<double> time;
  std::vector<int> event;
  std::vector<double> x;  // row-major, rows x columns
  std::vector<std::string> columns;
  std::size_t rows() const { return time.size(); }
  double at(std::size_t row, std::size_t column) const { return x[row * columns.size() + column]; }
};

struct SurvivalLabel {
  double time = 0;
  int event = 0;
};

// Rows `keep` of `table`, in that order (repeats allowed: a bootstrap resample).
SurvivalTable rows_of(const SurvivalTable& table, const std::vector<std::size_t>& keep);

// The labels CSV: header with `image`, `time` and `event`; every time a number > 0, every event
// 0 or 1 (R's 1/2 coding is named in the message). Every problem found is listed in one
// UsageError naming the file, column and lines.
std::vector<std::pair<std::string, SurvivalLabel>> read_survival_labels(const fs::path& path);

// A covariate column as the training table defined it: numeric, or the levels of a category.
struct CovariateColumn {
  std::string name;
  std::vector<std::string> levels;  // empty: numeric; else level 0 is the reference
};
struct CovariateEncoding {
  std::vector<CovariateColumn> columns;
  std::vector<std::string> encoded_names() const;  // "age", "sex=male", ...
};
nlohmann::json encoding_to_json(const CovariateEncoding& encoding);
CovariateEncoding encoding_from_json(const nlohmann::json& json);

struct CovariateTable {
  fs::path source;
  std::vector<std::string> header;  // after `image`
  std::vector<std::string> names;
  std::vector<std::vector<std::string>> values;  // per row, per column; "" is missing
  std::vector<int> lines;
};
// UsageError naming the file when it has no `image` column first, a duplicate name, or a row of
// the wrong width.
CovariateTable read_covariate_table(const fs::path& path);
CovariateEncoding fit_encoding(const CovariateTable& table);

// The rows of `covariates` encoded, joined with `labels` where given (else time and event are
// 0). Rows that cannot be used (a missing value, a level the training table did not have, no
// covariates for a label) are left out and listed in `skipped` (name, reason).
SurvivalTable survival_table(const CovariateTable& covariates, const CovariateEncoding& encoding,
                             const std::vector<std::pair<std::string, SurvivalLabel>>* labels,
                             std::vector<std::pair<std::string, std::string>>& skipped);

}  // namespace medpipe
