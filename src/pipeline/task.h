// pipeline/task.h: the task table. A task is what a run does with its images (classify them,
// segment them, ...): its stages and its report. The task is chosen once, from the config when
// training and from the saved model (model.json "task") when predicting or evaluating, and every
// stage after that asks the row, never the config's keys.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "report/report.h"

namespace medpipe {

struct Task {
  std::string name;                      // recorded in model.json as "task"
  LabelStyle label_style;                // the label_style whose runs it serves
  std::optional<PipelineKind> pipeline;  // the config's pipeline it is for (none: any)
  std::string description;
  int (*train)(const Config&);
  int (*predict)(const Config&);   // evaluates too when has_labels
  int (*evaluate)(const Config&);  // from results_bucket/predictions.csv
  ReportKind report;
  // The training without labels it is (has_labels false, the config's `unsupervised`); none:
  // it trains on labels.
  std::optional<Unsupervised> unlabelled = std::nullopt;
};

// Every task, in the order the help lists them.
const std::vector<Task>& task_table();

// The task a config trains: the row of its label_style (and pipeline).
const Task& task_for_training(const Config& config);
// The task of the config's saved model where there is one (its model.json), else the task the
// config would train; UsageError when the model's task does not serve the config's label_style.
const Task& task_for_inference(const Config& config);
// The row named `name`; UsageError naming `where` when there is none.
const Task& task_named(const std::string& name, const std::string& where);

}  // namespace medpipe
