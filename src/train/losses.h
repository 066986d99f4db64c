// train/losses.h: the losses the tasks train with.
#pragma once
#include <ATen/core/Tensor.h>

namespace medpipe {

// Cross-entropy summed over the batch; `class_weights` (undefined: none) weights each sample by
// its class. logits [B,K], target [B] long.
at::Tensor summed_cross_entropy(const at::Tensor& logits, const at::Tensor& target,
                                const at::Tensor& class_weights);

// Soft Dice over the foreground classes (batch Dice: sums over the batch and pixels), pixels
// labelled `ignore_label` left out, plus cross-entropy. logits [B,K,H,W], target [B,H,W] long.
at::Tensor dice_cross_entropy_loss(const at::Tensor& logits, const at::Tensor& target,
                                   int num_classes, int ignore_label = 255);

}  // namespace medpipe
