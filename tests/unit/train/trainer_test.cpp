#include "train/trainer.h"

#include <gtest/gtest.h>

#include <random>

#include "io/image_io.h"
#include "train/batches.h"

namespace medpipe {
namespace {

// A separable toy set: bright square top-left (class 1) or bottom-right (class 0).
std::vector<Sample> toy_set(const fs::path& dir, int n) {
  fs::create_directories(dir);
  std::vector<Sample> out;
  std::mt19937 rng(1);
  std::normal_distribution<float> noise(0, 10);
  for (int i = 0; i < n; ++i) {
    Image image;
    image.height = image.width = 16;
    image.pixels.assign(256, 0);
    int label = i % 2;
    for (int y = 0; y < 16; ++y)
      for (int x = 0; x < 16; ++x) {
        bool in = label ? (x < 8 && y < 8) : (x >= 8 && y >= 8);
        image.pixels[y * 16 + x] = std::max(0.0f, (in ? 200.0f : 50.0f) + noise(rng));
      }
    fs::path path = dir / ("img" + std::to_string(i) + ".png");
    write_image(path, image);
    out.push_back({"img" + std::to_string(i), path, ClassTarget{label}});
  }
  return out;
}

TEST(Batches, EpochOrderIsSeededAndCoversEverySample) {
  std::vector<std::size_t> usable = {0, 1, 2, 3, 4, 5, 6};
  auto a = epoch_batches(usable, 3, 1, 0), b = epoch_batches(usable, 3, 1, 0),
       c = epoch_batches(usable, 3, 1, 1);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  ASSERT_EQ(a.size(), 2u);  // 3 + 3; the last single sample is dropped
}

TEST(Trainer, LearnsASeparableSetAndIsReproducible) {
  fs::path dir = fs::temp_directory_path() / "medpipe_trainer_test";
  fs::remove_all(dir);
  auto samples = toy_set(dir / "images", 40);
  PreprocessSpec spec{1, 16, "stretch", "zscore"};
  TensorCache cache = TensorCache::build(samples, spec, dir / "cache", 2, "test");
  ModelSpec model_spec;
  model_spec.image_size = 16;
  model_spec.cnn_width = 8;
  TrainSettings settings;
  settings.loop.epochs = 8;
  settings.loop.batch_size = 8;
  settings.augment.enabled = false;
  auto run = [&] {
    torch::jit::Module m = build_model(model_spec, 5);
    TrainOutcome outcome = train_classifier(m, cache, &cache, settings);
    return std::make_pair(outcome, m.attr("fc_weight").toTensor().clone());
  };
  auto [first, weights_a] = run();
  EXPECT_GE(first.best_metrics["accuracy"].get<double>(), 0.95);
  auto [second, weights_b] = run();
  EXPECT_TRUE(weights_a.equal(weights_b));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace medpipe
