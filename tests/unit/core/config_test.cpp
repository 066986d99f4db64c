#include "core/config.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace medpipe {
namespace {

using nlohmann::json;

TEST(Config, DefaultsMatchTheContract) {
  Config c;
  EXPECT_TRUE(c.is_train);
  EXPECT_TRUE(c.has_labels);
  EXPECT_EQ(c.label_style, LabelStyle::kSingle);
  EXPECT_EQ(c.model_bucket_name, "model");
  EXPECT_EQ(c.models_bucket, "models");
  EXPECT_EQ(c.optimizer, OptimizerKind::kSgd);
  EXPECT_EQ(c.results_dir(), "results/model");
  EXPECT_EQ(c.model_dir(), "models/model");
}

TEST(Config, BooleansMayBeStringsAsInTheSeed) {
  for (const char* falsy : {"", "0", "false", "No", "FALSE"})
    EXPECT_FALSE(parse_bool_text(falsy)) << falsy;
  for (const char* truthy : {"1", "true", "yes", "anything"})
    EXPECT_TRUE(parse_bool_text(truthy)) << truthy;
  Config c;
  apply_event(c, json{{"is_train", "false"}, {"has_labels", 0}, {"augment", "yes"}}, "e.json");
  EXPECT_FALSE(c.is_train);
  EXPECT_FALSE(c.has_labels);
  EXPECT_TRUE(c.augment);
}

TEST(Config, NumbersMayBeStrings) {
  Config c;
  apply_event(c, json{{"num_classes", "3"}, {"learning_rate", "0.1"}, {"epochs", 4.0}}, "e.json");
  EXPECT_EQ(c.num_classes, 3);
  EXPECT_DOUBLE_EQ(c.learning_rate, 0.1);
  EXPECT_EQ(c.epochs, 4);
}

TEST(Config, WrongTypeNamesTheKey) {
  Config c;
  try {
    apply_event(c, json{{"epochs", json::array({1, 2})}}, "e.json");
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("'epochs'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("e.json"), std::string::npos);
  }
}

TEST(Config, UnknownKeySuggestsTheClosest) {
  Config c;
  try {
    apply_event(c, json{{"learning_rat", 0.1}}, "e.json");
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'learning_rate'"), std::string::npos)
        << e.what();
  }
}

TEST(Config, DropboxIsRefusedClearly) {
  Config c;
  c.images_bucket = "x";
  c.is_dropbox = true;
  EXPECT_THROW(validate_config(c), UsageError);
}

TEST(Config, EveryFieldHasHelpAndRoundTripsThroughJson) {
  Config c;
  c.epochs = 7;
  c.arch = Arch::kMlp;
  json saved = config_to_json(c);
  EXPECT_FALSE(saved.contains("auth_token"));  // never saved
  Config back;
  apply_event(back, saved, "saved");
  EXPECT_EQ(back.epochs, 7);
  EXPECT_EQ(back.arch, Arch::kMlp);
  for (const auto& f : config_fields()) EXPECT_FALSE(f.help.empty()) << f.key;
}

TEST(Config, APacsCannotHoldModelsOrLabels) {
  Config c;
  c.images_bucket = "dicomweb://pacs:8042/dicom-web";   // images from a PACS: fine
  c.results_bucket = "dicomweb://pacs:8042/dicom-web";  // results into it: fine
  EXPECT_NO_THROW(validate_config(c));
  c.models_bucket = "dicomweb://pacs:8042/dicom-web";
  EXPECT_THROW(validate_config(c), UsageError);
}

TEST(Config, TreatmentModelsNeedTheirInputs) {
  Config c;
  c.label_style = LabelStyle::kSurvival;
  c.features_table = "cov.csv";
  c.treatment_column = "arm";
  c.treatment_model = TreatmentModel::kPerArm;
  EXPECT_NO_THROW(validate_config(c));
  c.arch = Arch::kMlp;  // the network takes the arm as an input: no model per arm
  EXPECT_THROW(validate_config(c), UsageError);
  c.arch = Arch::kAuto;
  c.treatment_column.clear();
  EXPECT_THROW(validate_config(c), UsageError);
  c.treatment_column = "arm";
  c.images_bucket = "images";  // images take the radiomics route only
  EXPECT_THROW(validate_config(c), UsageError);
  c.pipeline = PipelineKind::kFeatures;
  EXPECT_NO_THROW(validate_config(c));
  c.arch = Arch::kMlp;
  EXPECT_THROW(validate_config(c), UsageError);
}

}  // namespace
}  // namespace medpipe
