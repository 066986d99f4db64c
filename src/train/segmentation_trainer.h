// train/segmentation_trainer.h: training a segmentation network in the epoch loop on random
// patches with Dice + cross-entropy, validating with tiled inference on whole images each epoch
// and keeping the epoch of the best validation Dice.
#pragma once
#include "models/tiled.h"
#include "preprocess/segmentation_set.h"
#include "train/epoch_loop.h"

namespace medpipe {

struct SegmentationTrainSettings {
  LoopSettings loop;          // loop.batch_size: patches per worker per step
  int patch = 128;            // training patch side (a multiple of 2^unet_depth)
  int patch_depth = 0;        // a 3D network's patch depth; 0: a 2D network on slices
  int patches_per_image = 8;  // random patches per slice (3D: per volume) per epoch
  bool augment = true;        // flips and quarter turns, applied to image and mask alike
  int num_classes = 2;
  TileSettings tiles;  // validation inference
};

// Mean foreground Dice over the volumes of `set`, predicted slice by slice with tiles (a 3D
// network, tiles.patch_depth > 0: volume by volume).
double validation_dice(torch::jit::Module& module, const SegmentationSet& set,
                       const TileSettings& tiles);

TrainOutcome train_segmenter(torch::jit::Module& module, const SegmentationSet& train,
                             const SegmentationSet* val, const SegmentationTrainSettings& s);

}  // namespace medpipe
