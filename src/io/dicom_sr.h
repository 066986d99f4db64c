// io/dicom_sr.h: a classification result as a DICOM Comprehensive SR that references its source
// image and joins its study, so a PACS shows it next to the image.
#pragma once
#include <string>
#include <vector>

#include "core/fs.h"

namespace medpipe {

// Writes `out_path` atomically: the predicted class, each class probability and the model's
// name, with the source instance referenced (and listed as evidence). The SR takes the source's
// patient and study modules, as DICOM requires to attach it to the study. Throws RunError.
void write_classification_sr(const fs::path& out_path, const fs::path& source, int prediction,
                             const std::vector<double>& probabilities,
                             const std::string& model_name);

}  // namespace medpipe
