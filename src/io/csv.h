// io/csv.h: RFC 4180 CSV reading (quoted fields, CRLF, UTF-8 BOM) and field quoting.
#pragma once
#include <string>
#include <vector>

#include "core/fs.h"

namespace medpipe {

struct CsvRow {
  int line = 0;  // 1-based line number in the file
  std::vector<std::string> fields;
};

// Parses CSV text; throws UsageError naming `source` and the line on an unterminated quote.
std::vector<CsvRow> parse_csv(const std::string& text, const std::string& source);
std::vector<CsvRow> read_csv_file(const fs::path& path);
std::string csv_quote(const std::string& field);

}  // namespace medpipe
