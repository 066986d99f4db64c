#include "infer/saved_model.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/version.h"

namespace medpipe {
namespace {

TEST(SavedModel, RoundTripsEveryField) {
  SavedModel m;
  m.task = "segment";
  m.model.arch = "unet";
  m.model.num_classes = 3;
  m.model.unet_depth = 3;
  SegmentationSpec spec;
  spec.channels = 1;
  spec.normalize = "ct";
  m.preprocessing = spec;
  m.patch_size = 64;
  m.history = {{{"epoch", 1}, {"train_loss", 0.5}}};
  m.best_epoch = 1;
  m.validation_metrics = {{"dice", 0.8}};
  m.train_images = 10;
  m.val_images = 2;
  nlohmann::json j = m.to_json();
  EXPECT_EQ(j["task"], "segment");
  EXPECT_EQ(j["patch_size"], 64);
  EXPECT_FALSE(j.contains("input_size"));  // a segmenter takes whole images
  EXPECT_EQ(j["versions"]["medpipe"], MEDPIPE_VERSION);
  SavedModel back = SavedModel::from_json(j, "model.json");
  EXPECT_EQ(back.task, "segment");
  EXPECT_EQ(back.model.unet_depth, 3);
  EXPECT_EQ(back.num_classes(), 3);
  EXPECT_EQ(std::get<SegmentationSpec>(back.preprocessing).normalize, "ct");
  EXPECT_EQ(back.patch_size, 64);
  EXPECT_EQ(back.history, m.history);
  EXPECT_EQ(back.validation_metrics, m.validation_metrics);
  EXPECT_EQ(back.to_json(), j);  // what is read is what was written
}

TEST(SavedModel, ClassifierKeepsItsInputSizeAndExtras) {
  SavedModel m;
  m.model.image_size = 28;
  m.preprocessing = PreprocessSpec{1, 28, "stretch", "zscore"};
  m.extra = {{"pipeline", "features"}, {"features", {{"normaliser", {}}}}};
  m.task = "features";
  nlohmann::json j = m.to_json();
  EXPECT_EQ(j["input_size"], nlohmann::json({28, 28}));
  EXPECT_EQ(j["classes"], nlohmann::json({0, 1}));
  SavedModel back = SavedModel::from_json(j, "model.json");
  EXPECT_EQ(std::get<PreprocessSpec>(back.preprocessing).size_px, 28);
  EXPECT_EQ(back.extra["pipeline"], "features");
}

TEST(SavedModel, OlderFeatureModelsAreRecognised) {
  SavedModel m;
  m.preprocessing = PreprocessSpec{};
  nlohmann::json j = m.to_json();
  j["task"] = "classify";  // as written before the task table
  j["features"] = {{"normaliser", {}}};
  EXPECT_EQ(SavedModel::from_json(j, "m").task, "features");
}

TEST(SavedModel, NotAModelDescriptionIsAUsageErrorNamingTheFile) {
  try {
    SavedModel::from_json({{"task", "classify"}}, "/x/model.json");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("/x/model.json"), std::string::npos);
  }
  EXPECT_THROW(read_saved_model("/nonexistent/model"), UsageError);
  EXPECT_FALSE(find_saved_model("/nonexistent/model").has_value());
}

}  // namespace
}  // namespace medpipe
