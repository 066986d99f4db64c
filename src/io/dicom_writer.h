// io/dicom_writer.h: writing 2D images as DICOM (used by synth and the tests).
#pragma once
#include <string>

#include "core/error.h"
#include "core/fs.h"
#include "core/image.h"

namespace medpipe {

struct DicomWriteOptions {
  double rescale_slope = 1.0;
  double rescale_intercept = 0.0;  // stored = (value - intercept) / slope, rounded
  std::string modality = "CT";
  std::string study_uid = "1.2.826.0.1.3680043.9.7433.1.1";
  std::string series_uid = "1.2.826.0.1.3680043.9.7433.1.2";
  std::string patient_name = "SYNTHETIC";
  std::string patient_id = "SYNTHETIC";
  int instance_number = 1;
};

void write_dicom(const fs::path& path, const Image& image, const DicomWriteOptions& options);

}  // namespace medpipe
