// pipeline/survival_shared.h (internal to pipeline/): what the survival task's two inputs share,
// a covariates table (survival.cpp) and images (survival_images.cpp): the stored model, its
// evaluation times, predictions and their evaluation.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/config.h"
#include "data/pairing.h"
#include "data/survival_table.h"
#include "infer/saved_model.h"
#include "metrics/survival.h"
#include "models/cox.h"
#include "pipeline/run_setup.h"
#include "report/report.h"

namespace medpipe {

// A fitted model's risk (log relative hazard) of each subject of a table: the Cox model's linear
// predictor, or a network's output on the standardised covariates (the neural Cox model); for
// images the network runs on the tensor cache instead. The baseline hazard turns a risk into a
// survival curve.
struct RiskModel {
  std::optional<CoxModel> cox;
  mutable std::optional<torch::jit::Module> network;
  std::vector<double> means, scales;  // the neural Cox model's standardisation
  SurvivalBaseline baseline;

  std::vector<double> risks(const SurvivalTable& table) const;
};

struct StoredModel {
  SavedModel saved;
  RiskModel risk;
  CovariateEncoding encoding;  // tables only
  std::vector<double> times;
  CensoringModel censoring;
  double risk_cutoff = 0;
};
StoredModel read_stored_model(const Config& config);

// survival_times, else the quartiles of the training follow-up; UsageError for a time beyond
// the longest follow-up (often a time column in another unit).
std::vector<double> evaluation_times(const Config& config, std::vector<double> follow_up);
double median_of(std::vector<double> values);

// S(times) (and the median survival where asked) of subjects with risks `risk`.
SurvivalPredictions survival_predictions(const std::vector<double>& risk,
                                         const SurvivalTable& subjects,
                                         const SurvivalBaseline& baseline,
                                         const std::vector<double>& times,
                                         std::vector<double>* median);
// predictions.csv (image,risk,surv_<t>...,median_survival, then `extra` columns: a name and a
// value per subject each) and one <image>.json each.
using ExtraColumns = std::vector<std::pair<std::string, std::vector<std::string>>>;
void write_survival_predictions(const fs::path& dir, const SurvivalTable& subjects,
                                const SurvivalPredictions& p, const std::vector<double>& median,
                                const ExtraColumns& extra = {});
// metrics.json, the report and the evaluation's events.
void evaluate_survival(const Config& config, const SurvivalPredictions& p, const StoredModel& model,
                       const SkippedList& skipped, double seconds);

// Fits the model the config asks for (arch cox or mlp) on `train`, scores `val` where given,
// and saves it: saved.extra["survival"] may already hold what the input adds (the covariates'
// encoding, the radiomics settings and normaliser).
int train_survival_table(const Config& config, const SurvivalTable& train, const SurvivalTable* val,
                         SavedModel saved, SkippedList skipped, Clock::time_point start);
// Predictions of a stored table model for `table`, then their evaluation when has_labels.
int predict_survival_table(const Config& config, const StoredModel& model,
                           const SurvivalTable& table, const SkippedList& skipped,
                           Clock::time_point start);

// The survival pairing of a bucket's images with their time and event (for training_samples:
// labels, or val_labels for the validation bucket; every image needs a row).
PairImages survival_pairing(const Config& config);
// The images to predict: with their time and event when has_labels.
std::vector<Sample> survival_inference_samples(const Config& config);

// Treatment recommendation (survival_treatment.cpp): the Cox model with arm x covariate
// interactions, each subject's risk under each arm, the recommended arm, policy values.
int survival_train_treatment(const Config& config);
int survival_predict_treatment(const Config& config, const StoredModel& model);
// The columns a treatment run takes out of a covariates table, by subject: the arm received,
// the truly best arm (best_arm_column) and the given propensity (propensity_column).
struct TreatmentColumns {
  std::map<std::string, std::string> arm_of, best_of, propensity_of;
};
TreatmentColumns take_treatment_columns(CovariateTable& table, const Config& config);
// Subjects with their covariates (`base`, no arm columns) and the index of the arm each received
// (arms: those given, else treatment_arms, else the values seen, sorted).
struct TreatedCohort {
  SurvivalTable base;
  std::vector<int> arm;
  std::map<std::string, std::string> best_of, propensity_of;
  // the base columns the propensity model uses (empty: all; none true: each arm's share)
  std::vector<bool> propensity_covariate;
};
TreatedCohort treated_cohort(SurvivalTable base, const TreatmentColumns& columns,
                             const Config& config, std::vector<std::string>& arms);
// Fits and saves the recommender of a cohort (numeric: which base columns may be squared);
// saved.extra["survival"] already holds what the input adds.
int train_treatment_cohort(const Config& config, const TreatedCohort& c,
                           const std::vector<std::string>& arms, const std::vector<bool>& numeric,
                           SavedModel saved, const SkippedList& skipped, Clock::time_point start);
// predictions.csv with each arm's risk and the recommendation, then (has_labels) the policies.
int predict_treatment_cohort(const Config& config, const StoredModel& model, const TreatedCohort& c,
                             const std::vector<std::string>& arms, const std::vector<bool>& numeric,
                             const SkippedList& skipped, Clock::time_point start);
// The metrics.json of predictions `p`, with what the input adds merged into it.
void evaluate_survival(const Config& config, const SurvivalPredictions& p, const StoredModel& model,
                       const SkippedList& skipped, double seconds,
                       const nlohmann::json& extra_metrics);

// The image path (survival_images.cpp): a CNN trained with the Cox loss.
int survival_train_images(const Config& config);
int survival_predict_images(const Config& config, const StoredModel& model);
// Radiomics + Cox (survival_radiomics.cpp): IBSI features of each image (and its region), z-scored
// on the training images, as the covariates of a ridge-penalised Cox model.
int survival_train_radiomics(const Config& config);
int survival_predict_radiomics(const Config& config, const StoredModel& model);

}  // namespace medpipe
