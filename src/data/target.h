// data/target.h: what a sample is trained against, as a type. Splitting, caching and batching
// ask the target what it is instead of assuming a class index.
#pragma once
#include <variant>

#include "core/fs.h"

namespace medpipe {

struct NoTarget {};  // unlabelled: inference, or learning without labels
struct ClassTarget {
  int index = 0;  // 0..num_classes-1
};
struct MaskTarget {
  fs::path path;  // the image's label array (one class per pixel)
};
struct SurvivalTarget {
  double time = 0;     // follow-up time, > 0
  bool event = false;  // true: the event happened at `time`; false: censored then
};
using Target = std::variant<NoTarget, ClassTarget, MaskTarget, SurvivalTarget>;

// The class index of a class target, -1 for any other.
inline int class_index(const Target& target) {
  const auto* c = std::get_if<ClassTarget>(&target);
  return c ? c->index : -1;
}

}  // namespace medpipe
