#include "data/labels.h"

#include <gtest/gtest.h>

#include <fstream>

#include "core/error.h"

namespace medpipe {
namespace {

// One file per test: CTest runs tests in parallel processes.
fs::path write_csv(const std::string& text) {
  std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  fs::path path = fs::temp_directory_path() / ("medpipe_labels_test_" + test + ".csv");
  std::ofstream(path) << text;
  return path;
}

std::string error_of(const std::string& text) {
  try {
    read_labels_csv(write_csv(text));
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

TEST(Labels, ReadsImageLevel) {
  auto table = read_labels_csv(write_csv("image,level\na,0\nb,1\n"));
  ASSERT_EQ(table.rows.size(), 2u);
  EXPECT_EQ(table.rows[1].image, "b");
  EXPECT_EQ(table.rows[1].level, 1);
}

TEST(Labels, ExtraColumnsAndOrderAreFine) {
  auto table = read_labels_csv(write_csv("level,note,image\n2,x,a\n"));
  EXPECT_EQ(table.rows[0].image, "a");
  EXPECT_EQ(table.rows[0].level, 2);
}

TEST(Labels, HeaderMissingNamesTheFileAndColumns) {
  std::string e = error_of("a,0\nb,1\n");
  EXPECT_NE(e.find("medpipe_labels_test_HeaderMissingNamesTheFileAndColumns.csv"),
            std::string::npos);
  EXPECT_NE(e.find("image,level"), std::string::npos);
  EXPECT_NE(error_of("name,label\na,0\n").find("got `name,label`"), std::string::npos);
}

TEST(Labels, EveryBadRowIsListedWithItsLine) {
  std::string e = error_of("image,level\na,0\nb,x\nc,-1\na,1\nd,1.5\n");
  EXPECT_NE(e.find("4 problem"), std::string::npos) << e;
  EXPECT_NE(e.find("line 3"), std::string::npos);
  EXPECT_NE(e.find("line 4"), std::string::npos);
  EXPECT_NE(e.find("listed again (first on line 2)"), std::string::npos);
  EXPECT_NE(e.find("line 6"), std::string::npos);
}

TEST(Labels, EmptyAndHeaderOnly) {
  EXPECT_NE(error_of("").find("is empty"), std::string::npos);
  EXPECT_NE(error_of("image,level\n").find("no rows"), std::string::npos);
}

}  // namespace
}  // namespace medpipe
