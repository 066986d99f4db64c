// core/choice.h: typed choices. A config value that is one of a fixed list is an enum whose
// names (what events, flags and model.json say) are listed once, in ChoiceNames<E>; name_of and
// choice_from convert, and the config table derives the allowed values from the list.
#pragma once
#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace medpipe {

template <class E>
struct ChoiceNames;  // static constexpr std::array<const char*, N> names, in the enum's order

template <class E>
concept Choice = std::is_enum_v<E> && requires {
  ChoiceNames<E>::names;
};

template <Choice E>
const char* name_of(E value) {
  return ChoiceNames<E>::names[static_cast<std::size_t>(value)];
}

template <Choice E>
std::optional<E> choice_from(std::string_view text) {
  const auto& names = ChoiceNames<E>::names;
  for (std::size_t i = 0; i < names.size(); ++i)
    if (text == names[i]) return static_cast<E>(i);
  return std::nullopt;
}

#define MEDPIPE_CHOICE(Enum, ...)                      \
  template <>                                          \
  struct ChoiceNames<Enum> {                           \
    static constexpr std::array names = {__VA_ARGS__}; \
  };

enum class LabelStyle { kSingle, kArray, kSurvival };
MEDPIPE_CHOICE(LabelStyle, "single", "array", "survival")
enum class PipelineKind { kDeep, kFeatures };
MEDPIPE_CHOICE(PipelineKind, "deep", "features")
enum class Arch { kAuto, kMlp, kCnn, kCnn3d, kAlexnet, kUnet, kUnet3d, kCox };
MEDPIPE_CHOICE(Arch, "auto", "mlp", "cnn", "cnn3d", "alexnet", "unet", "unet3d", "cox")
enum class TiesMethod { kEfron, kBreslow };
MEDPIPE_CHOICE(TiesMethod, "efron", "breslow")
enum class TreatmentModel { kInteractions, kPerArm };
MEDPIPE_CHOICE(TreatmentModel, "interactions", "per_arm")
enum class Finetune { kAll, kLast3 };
MEDPIPE_CHOICE(Finetune, "all", "last3")
enum class ResizeMode { kStretch, kPad };
MEDPIPE_CHOICE(ResizeMode, "stretch", "pad")
enum class NormalizeMode { kAuto, kZscore, kMinmax, kCt, kImagenet, kNone };
MEDPIPE_CHOICE(NormalizeMode, "auto", "zscore", "minmax", "ct", "imagenet", "none")
enum class OptimizerKind { kSgd, kAdam };
MEDPIPE_CHOICE(OptimizerKind, "sgd", "adam")
enum class LrSchedule { kCosine, kConstant };
MEDPIPE_CHOICE(LrSchedule, "cosine", "constant")
enum class SelectMetric { kAuc, kLoss, kAccuracy };
MEDPIPE_CHOICE(SelectMetric, "auc", "loss", "accuracy")
enum class LogLevel { kDebug, kInfo, kWarn, kError };
MEDPIPE_CHOICE(LogLevel, "debug", "info", "warn", "error")
enum class SyncMode { kGradients, kWeights };
MEDPIPE_CHOICE(SyncMode, "gradients", "weights")

enum class Unsupervised { kCluster, kSimclr };
MEDPIPE_CHOICE(Unsupervised, "cluster", "simclr")
enum class ClusterMethod { kKmeans, kGmm };
MEDPIPE_CHOICE(ClusterMethod, "kmeans", "gmm")

#undef MEDPIPE_CHOICE

}  // namespace medpipe
