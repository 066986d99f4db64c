#include "pipeline/task.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "infer/saved_model.h"

namespace medpipe {
namespace {

TEST(TaskTable, TrainingPicksTheRowOfTheConfig) {
  Config c;
  EXPECT_EQ(task_for_training(c).name, "classify");
  c.pipeline = PipelineKind::kFeatures;
  EXPECT_EQ(task_for_training(c).name, "features");
  c = Config{};
  c.label_style = LabelStyle::kArray;
  EXPECT_EQ(task_for_training(c).name, "segment");
  EXPECT_EQ(task_for_training(c).report, ReportKind::kSegmentation);
}

TEST(TaskTable, InferenceFollowsTheSavedModel) {
  fs::path dir = fs::temp_directory_path() / "medpipe_task_test";
  fs::remove_all(dir);
  fs::create_directories(dir / "m");
  SavedModel m;
  m.task = "features";
  m.preprocessing = PreprocessSpec{};
  atomic_write_text(dir / "m" / "model.json", m.to_json().dump());
  atomic_write_text(dir / "m" / "model.pt", "");
  Config c;
  c.models_bucket = dir.string();
  c.model_bucket_name = "m";
  EXPECT_EQ(task_for_inference(c).name, "features");  // the config says nothing of features
  c.label_style = LabelStyle::kArray;
  EXPECT_THROW(task_for_inference(c), UsageError);  // a classifier cannot segment
  c.model_bucket_name = "none";
  EXPECT_EQ(task_for_inference(c).name, "segment");  // no model yet: the config's task
  EXPECT_THROW(task_named("survival?", "model.json"), UsageError);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace medpipe
