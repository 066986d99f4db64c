#include "io/csv.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace medpipe {
namespace {

TEST(Csv, QuotedFieldsCrlfAndBom) {
  auto rows =
      parse_csv("\xEF\xBB\xBFimage,level\r\n\"a,b\",1\r\n\"say \"\"hi\"\"\",0\n\n", "t.csv");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].fields[0], "image");
  EXPECT_EQ(rows[1].fields[0], "a,b");
  EXPECT_EQ(rows[2].fields[0], "say \"hi\"");
  EXPECT_EQ(rows[2].line, 3);
}

TEST(Csv, UnclosedQuoteIsAnError) {
  EXPECT_THROW(parse_csv("a,\"b\n", "t.csv"), UsageError);
}

TEST(Csv, QuoteRoundTrip) {
  EXPECT_EQ(csv_quote("plain"), "plain");
  EXPECT_EQ(csv_quote("a,\"b\""), "\"a,\"\"b\"\"\"");
}

}  // namespace
}  // namespace medpipe
