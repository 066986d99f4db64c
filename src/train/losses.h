// train/losses.h: the losses the tasks train with.
#pragma once
#include <ATen/core/Tensor.h>

namespace medpipe {

// Cross-entropy summed over the batch; `class_weights` (undefined: none) weights each sample by
// its class. logits [B,K], target [B] long.
at::Tensor summed_cross_entropy(const at::Tensor& logits, const at::Tensor& target,
                                const at::Tensor& class_weights);

// Soft Dice over the foreground classes (batch Dice: sums over the batch and pixels), pixels
// labelled `ignore_label` left out, plus cross-entropy. logits [B,K,H,W], target [B,H,W] long
// (3D: [B,K,D,H,W] and [B,D,H,W]).
at::Tensor dice_cross_entropy_loss(const at::Tensor& logits, const at::Tensor& target,
                                   int num_classes, int ignore_label = 255);

// The negative log partial likelihood of a Cox model with Breslow's ties, divided by the number
// of events: risk [N] (log relative hazards), time [N], event [N] (1 happened, 0 censored).
// Each subject's risk set holds every subject whose time is not earlier, tied times included.
at::Tensor cox_partial_likelihood_loss(const at::Tensor& risk, const at::Tensor& time,
                                       const at::Tensor& event);

}  // namespace medpipe
