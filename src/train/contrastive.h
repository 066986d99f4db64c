// train/contrastive.h: self-supervised pretraining without labels (SimCLR, Chen et al. 2020):
// two augmented views of every image of a step go through the network's embedding and a
// projection head (ModelSpec projection_dim); the NT-Xent loss pulls each image's two views
// together and pushes them from the other images' views. Under data-parallel workers each
// worker's negatives are its own slice of the step (no all-gather), its loss summed over its
// views and divided by the step's views, so the workers' gradients add up as in any step.
#pragma once
#include "preprocess/augment.h"
#include "preprocess/tensor_cache.h"
#include "train/epoch_loop.h"

namespace medpipe {

struct ContrastiveSettings {
  LoopSettings loop;         // loop.batch_size: images per worker per step (2 views each)
  double temperature = 0.5;  // of the NT-Xent loss
  AugmentSpec augment;       // the views' augmentation
};

// The augmentation of SimCLR's views for 2D images here: flips, rotations up to 15 degrees,
// shifts up to 10%, a random crop of 40-100% of the area, contrast and brightness jitter of
// 0.4 and Gaussian noise up to 0.1 (volumes: augment_volume's own).
AugmentSpec contrastive_augmentation();

// The NT-Xent loss of 2B projections [2B, D] whose rows i and i + B are views of one image,
// summed over the 2B views: -log softmax over the other 2B - 1 rows of the cosine similarity /
// temperature, at the row's pair.
at::Tensor summed_nt_xent(const at::Tensor& projections, double temperature);

// Trains `module` (with an embed and a project method) in place on the cache's usable images;
// there is no validation, so the last epoch is kept.
TrainOutcome train_contrastive(torch::jit::Module& module, const TensorCache& images,
                               const ContrastiveSettings& settings);

}  // namespace medpipe
