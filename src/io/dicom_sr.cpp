#include "io/dicom_sr.h"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmsr/dsrdoc.h>

#include <cstdio>

#include "core/error.h"
#include "io/dicom_guard.h"

namespace medpipe {

namespace {

std::string text_of(DcmDataset* ds, const DcmTagKey& tag) {
  OFString value;
  ds->findAndGetOFStringArray(tag, value);
  return value.c_str();
}

std::string number(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6f", v);
  return text;
}

void add_num(DSRDocumentTree& tree, const std::string& meaning, double value) {
  tree.addContentItem(DSRTypes::RT_contains, DSRTypes::VT_Num, DSRTypes::AM_afterCurrent);
  tree.getCurrentContentItem().setConceptName(DSRCodedEntryValue("99MP-P", "99MEDPIPE", meaning));
  tree.getCurrentContentItem().setNumericValue(DSRNumericMeasurementValue(
      number(value).c_str(), DSRCodedEntryValue("1", "UCUM", "no units")));
}

}  // namespace

void write_classification_sr(const fs::path& out_path, const fs::path& source, int prediction,
                             const std::vector<double>& probabilities,
                             const std::string& model_name) {
  DcmFileFormat input;
  if (!dicom_structure_problem(source).empty() ||
      input.loadFile(source.c_str(), EXS_Unknown, EGL_noChange, 256).bad()) {
    throw RunError("cannot write a DICOM SR: the source " + source.string() + " is unreadable");
  }
  DcmDataset* src = input.getDataset();
  const std::string study = text_of(src, DCM_StudyInstanceUID);
  DSRDocument doc(DSRTypes::DT_ComprehensiveSR);
  doc.createNewSeriesInStudy(study.c_str());
  doc.setSeriesDescription("medpipe classification");
  doc.setManufacturer("medpipe");
  DSRDocumentTree& tree = doc.getTree();
  tree.addContentItem(DSRTypes::RT_isRoot, DSRTypes::VT_Container);
  tree.getCurrentContentItem().setConceptName(
      DSRCodedEntryValue("99MP-R", "99MEDPIPE", "Image classification result"));
  tree.addContentItem(DSRTypes::RT_contains, DSRTypes::VT_Text, DSRTypes::AM_belowCurrent);
  tree.getCurrentContentItem().setConceptName(
      DSRCodedEntryValue("111001", "DCM", "Algorithm Name"));
  tree.getCurrentContentItem().setStringValue(("medpipe model " + model_name).c_str());
  add_num(tree, "Predicted class", prediction);
  for (std::size_t k = 0; k < probabilities.size(); ++k) {
    add_num(tree, "Probability of class " + std::to_string(k), probabilities[k]);
  }
  const std::string sop_class = text_of(src, DCM_SOPClassUID);
  const std::string sop_instance = text_of(src, DCM_SOPInstanceUID);
  tree.addContentItem(DSRTypes::RT_contains, DSRTypes::VT_Image, DSRTypes::AM_afterCurrent);
  tree.getCurrentContentItem().setConceptName(
      DSRCodedEntryValue("121112", "DCM", "Source of Measurement"));
  tree.getCurrentContentItem().setImageReference(
      DSRImageReferenceValue(sop_class.c_str(), sop_instance.c_str()));
  doc.getCurrentRequestedProcedureEvidence().addItem(study.c_str(),
                                                     text_of(src, DCM_SeriesInstanceUID).c_str(),
                                                     sop_class.c_str(), sop_instance.c_str());
  DcmFileFormat output;
  if (doc.write(*output.getDataset()).bad()) {
    throw RunError("cannot build the DICOM SR for " + source.filename().string());
  }
  // the patient and study modules of the source, so the SR joins the source's study
  DcmDataset* out = output.getDataset();
  for (const DcmTagKey& tag :
       {DCM_PatientName, DCM_PatientID, DCM_PatientBirthDate, DCM_PatientSex, DCM_StudyDate,
        DCM_StudyTime, DCM_StudyID, DCM_AccessionNumber, DCM_ReferringPhysicianName}) {
    out->putAndInsertOFStringArray(tag, text_of(src, tag).c_str());
  }
  fs::path temp = out_path;
  temp += ".tmp";
  if (output.saveFile(temp.c_str(), EXS_LittleEndianExplicit).bad()) {
    throw RunError("cannot write " + temp.string());
  }
  fs::rename(temp, out_path);
}

}  // namespace medpipe
