// train/segmentation_trainer.h: training a segmentation network on random patches with
// Dice + cross-entropy, validating with tiled inference on whole images each epoch and keeping
// the epoch of the best validation Dice.
#pragma once
#include <string>

#include "models/tiled.h"
#include "preprocess/segmentation_set.h"
#include "train/optim.h"
#include "train/trainer.h"

namespace medpipe {

struct SegmentationTrainSettings {
  OptimizerSettings optim;
  int epochs = 30;
  int batch_size = 8;  // patches per worker per step
  int patch = 128;            // training patch side (a multiple of 2^unet_depth)
  int patches_per_image = 8;  // random patches per slice per epoch
  bool augment = true;        // flips and quarter turns, applied to image and mask alike
  std::uint64_t seed = 42;
  int num_classes = 2;
  TileSettings tiles;           // validation inference
  std::string checkpoint_path;  // written atomically at each epoch end ("" = none)
  std::string state_path;       // the resumable training state ("" = none)
  std::string fingerprint;      // identifies the run: a state of another is ignored
  int checkpoint_every = 0;     // also save the state every N steps (0: epoch ends)
  ParallelSettings parallel;    // data-parallel workers (threads here x MPI ranks)
};

// Soft Dice over the foreground classes (batch Dice: sums over the batch and pixels), pixels
// labelled kIgnoreLabel left out, plus cross-entropy. logits [B,K,H,W], target [B,H,W] long.
at::Tensor dice_cross_entropy_loss(const at::Tensor& logits, const at::Tensor& target,
                                   int num_classes);

// Mean foreground Dice over the volumes of `set`, predicted slice by slice with tiles.
double validation_dice(torch::jit::Module& module, const SegmentationSet& set,
                       const TileSettings& tiles);

TrainOutcome train_segmenter(torch::jit::Module& module, const SegmentationSet& train,
                             const SegmentationSet* val, const SegmentationTrainSettings& s);

}  // namespace medpipe
