// pipeline/radiomics.h (internal to pipeline/): the radiomics table of a run's images, shared by
// the tasks that use IBSI features as their input (features.cpp: classification; survival).
#pragma once
#include <vector>

#include "core/config.h"
#include "data/pairing.h"
#include "features/normaliser.h"
#include "features/settings.h"

namespace medpipe {

// Features of `samples` (and their regions, when images_labels_bucket holds masks), computed
// once on the lead rank with threads and written to `csv`; the other ranks read the file.
// Every rank calls it.
FeatureTable feature_table(const Config& config, const std::vector<Sample>& samples,
                           const FeatureSettings& settings, const fs::path& csv);

// The normaliser fitted on the training images' rows only; UsageError with fewer than 2.
FeatureNormaliser fit_normaliser(const FeatureTable& table, const std::vector<Sample>& train);

}  // namespace medpipe
