// report/sections.h: the report's sections, each a pure function of its part of the run's
// results, returning HTML. Internal to report/.
#pragma once
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "report/thumbnails.h"

namespace medpipe::report {

// A number for a table cell: integers as they are, reals with `digits` decimals, null "n/a".
std::string cell_number(const nlohmann::json& v, int digits = 4);

// Loss and metric curves per epoch, training and validation (one line per ensemble member).
std::string training_section(const nlohmann::json& history);

// Confusion heat map, ROC, PR and calibration plots, per-class table.
std::string classification_section(const nlohmann::json& metrics);

// Per-class table, sortable per-image table, Dice per image, best and worst cases.
std::string segmentation_section(const nlohmann::json& metrics,
                                 const std::vector<CaseThumbnail>& best,
                                 const std::vector<CaseThumbnail>& worst);

// Kaplan-Meier curves of the predicted risk groups with the log-rank test, a forest plot of the
// Cox model's hazard ratios, time-dependent AUC and Brier score over time.
std::string survival_section(const nlohmann::json& metrics, const nlohmann::json& model);

// Cluster sizes, the 2D map of the images coloured by cluster, example images of each cluster,
// the choice of the number of clusters and, with labels, the contingency table.
std::string clustering_section(const nlohmann::json& metrics, const nlohmann::json& clusters);

}  // namespace medpipe::report
