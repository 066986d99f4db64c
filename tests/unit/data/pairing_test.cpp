#include "data/pairing.h"

#include <gtest/gtest.h>

#include <fstream>

#include "core/error.h"

namespace medpipe {
namespace {

LabelTable table(std::vector<std::pair<std::string, int>> rows) {
  LabelTable t;
  t.source = "labels.csv";
  int line = 2;
  for (auto& [name, level] : rows) t.rows.push_back({name, level, line++});
  return t;
}

std::vector<Sample> samples(std::vector<std::string> names) {
  std::vector<Sample> out;
  for (auto& n : names) out.push_back({n, n + ".png", NoTarget{}});
  return out;
}

TEST(Pairing, PairsAndInfersClassCount) {
  PairedSet set =
      pair_with_labels(samples({"a", "b", "c"}), table({{"a", 0}, {"b", 2}, {"c", 1}}), 0);
  EXPECT_EQ(set.num_classes, 3);
  EXPECT_EQ(set.samples[1].class_index(), 2);
}

TEST(Pairing, ListsEveryMismatchInOneError) {
  try {
    pair_with_labels(samples({"a", "b", "x"}), table({{"a", 0}, {"b", 7}, {"y", 1}}), 2);
    FAIL();
  } catch (const UsageError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("without a label in labels.csv: x"), std::string::npos) << m;
    EXPECT_NE(m.find("without an image: y"), std::string::npos) << m;
    EXPECT_NE(m.find("b has level 7"), std::string::npos) << m;
  }
}

TEST(Pairing, DuplicateImageNamesAreRefused) {
  fs::path dir = fs::temp_directory_path() / "medpipe_pairing_dup";
  fs::create_directories(dir);
  std::ofstream(dir / "a.png") << "x";
  std::ofstream(dir / "a.dcm") << "x";
  EXPECT_THROW(list_images(dir, "images_bucket"), UsageError);
  fs::remove_all(dir);
}

TEST(Pairing, EmptyFolderIsRefused) {
  fs::path dir = fs::temp_directory_path() / "medpipe_pairing_empty";
  fs::create_directories(dir);
  EXPECT_THROW(list_images(dir, "images_bucket"), UsageError);
  fs::remove_all(dir);
}

TEST(Pairing, StratifiedSplitKeepsClassShares) {
  std::vector<Sample> all;
  for (int i = 0; i < 100; ++i)
    all.push_back({"s" + std::to_string(i), "", ClassTarget{i < 80 ? 0 : 1}});
  auto [train, val] = validation_split(all, 0.2, 2, 7);
  EXPECT_EQ(val.size(), 20u);
  int val_pos = 0;
  for (auto& s : val) val_pos += s.class_index();
  EXPECT_EQ(val_pos, 4);
  auto again = validation_split(all, 0.2, 2, 7);
  EXPECT_EQ(again.second[3].name, val[3].name);  // deterministic
}

TEST(Pairing, RandomSplitForTargetsWithoutClasses) {
  std::vector<Sample> all;
  for (int i = 0; i < 20; ++i)
    all.push_back({"m" + std::to_string(i), "", MaskTarget{"m" + std::to_string(i) + ".npy"}});
  auto [train, val] = validation_split(all, 0.15, 0, 42);
  EXPECT_EQ(val.size(), 3u);  // round(0.15 x 20)
  EXPECT_EQ(train.size() + val.size(), all.size());
  EXPECT_TRUE(std::is_sorted(val.begin(), val.end(), [](const Sample& a, const Sample& b) {
    return std::stoi(a.name.substr(1)) < std::stoi(b.name.substr(1));
  }));  // the input's order
  auto one = validation_split({all[0]}, 0.5, 0, 1);
  EXPECT_TRUE(one.second.empty());  // one sample stays for training
  EXPECT_EQ(validation_split(all, 0.15, 0, 42).second[0].name, val[0].name);
}

}  // namespace
}  // namespace medpipe
