// data/labels.h: the labels CSV of the original pipeline, `image,level`.
#pragma once
#include <string>
#include <vector>

#include "core/fs.h"

namespace medpipe {

struct LabelRow {
  std::string image;  // name without extension
  int level = 0;      // class index 0..K-1
  int line = 0;
};

struct LabelTable {
  fs::path source;
  std::vector<LabelRow> rows;
};

// Reads and checks a labels CSV: header exactly `image,level` (extra columns are ignored),
// integer non-negative levels, no duplicate image. Every problem found is listed in one
// UsageError naming the file and lines.
LabelTable read_labels_csv(const fs::path& path);

// The CSV to use for `images_dir`: `labels` when given, else the only *.csv inside it (or,
// when it has none, inside `fallback_dir`).
fs::path find_labels_csv(const std::string& labels, const fs::path& images_dir,
                         const std::string& labels_key, const fs::path& fallback_dir = {});

}  // namespace medpipe
