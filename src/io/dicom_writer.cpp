// Writes a 2D gray Image as a 16-bit signed DICOM with a Modality LUT (secondary capture).
#include "io/dicom_writer.h"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcuid.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

namespace medpipe {

void write_dicom(const fs::path& path, const Image& image, const DicomWriteOptions& options) {
  if (image.depth != 1 || image.channels != 1) {
    throw UsageError("cannot write " + path.string() + ": DICOM output takes 2D gray images");
  }
  DcmFileFormat file;
  DcmDataset* ds = file.getDataset();
  char uid[100];
  ds->putAndInsertString(DCM_SOPClassUID, UID_SecondaryCaptureImageStorage);
  ds->putAndInsertString(DCM_SOPInstanceUID,
                         dcmGenerateUniqueIdentifier(uid, SITE_INSTANCE_UID_ROOT));
  ds->putAndInsertString(DCM_StudyInstanceUID, options.study_uid.c_str());
  ds->putAndInsertString(DCM_SeriesInstanceUID, options.series_uid.c_str());
  ds->putAndInsertString(DCM_Modality, options.modality.c_str());
  ds->putAndInsertString(DCM_PatientName, options.patient_name.c_str());
  ds->putAndInsertString(DCM_PatientID, options.patient_id.c_str());
  ds->putAndInsertString(DCM_InstanceNumber, std::to_string(options.instance_number).c_str());
  ds->putAndInsertUint16(DCM_SamplesPerPixel, 1);
  ds->putAndInsertString(DCM_PhotometricInterpretation, "MONOCHROME2");
  ds->putAndInsertUint16(DCM_Rows, static_cast<Uint16>(image.height));
  ds->putAndInsertUint16(DCM_Columns, static_cast<Uint16>(image.width));
  ds->putAndInsertUint16(DCM_BitsAllocated, 16);
  ds->putAndInsertUint16(DCM_BitsStored, 16);
  ds->putAndInsertUint16(DCM_HighBit, 15);
  ds->putAndInsertUint16(DCM_PixelRepresentation, 1);
  char text[64];
  std::snprintf(text, sizeof text, "%.10g", options.rescale_slope);
  ds->putAndInsertString(DCM_RescaleSlope, text);
  std::snprintf(text, sizeof text, "%.10g", options.rescale_intercept);
  ds->putAndInsertString(DCM_RescaleIntercept, text);
  std::snprintf(text, sizeof text, "%.10g\\%.10g", image.spacing_mm[1], image.spacing_mm[0]);
  ds->putAndInsertString(DCM_PixelSpacing, text);
  std::vector<Sint16> stored(image.pixels.size());
  for (std::size_t i = 0; i < stored.size(); ++i) {
    double s = std::round((image.pixels[i] - options.rescale_intercept) / options.rescale_slope);
    stored[i] = static_cast<Sint16>(std::clamp(s, -32768.0, 32767.0));
  }
  ds->putAndInsertUint16Array(DCM_PixelData, reinterpret_cast<const Uint16*>(stored.data()),
                              static_cast<unsigned long>(stored.size()));
  atomic_write(path, [&](const fs::path& temp) {
    OFCondition status = file.saveFile(temp.c_str(), EXS_LittleEndianExplicit);
    if (status.bad()) throw RunError("cannot write DICOM " + path.string() + ": " + status.text());
  });
}

}  // namespace medpipe
