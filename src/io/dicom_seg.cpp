#include "io/dicom_seg.h"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmfg/fgfracon.h>
#include <dcmtk/dcmfg/fgpixmsr.h>
#include <dcmtk/dcmfg/fgplanor.h>
#include <dcmtk/dcmfg/fgplanpo.h>
#include <dcmtk/dcmseg/segdoc.h>
#include <dcmtk/dcmseg/segment.h>

#include <algorithm>
#include <memory>

#include "core/error.h"
#include "core/version.h"
#include "io/dicom_guard.h"
#include "io/image_io.h"

namespace medpipe {

namespace {

struct SourceInstance {
  fs::path file;
  std::string sop_class, sop_instance, series;
  double position_mm = 0;
};

// The source's instances in slice order (along the normal of `geometry`).
std::vector<SourceInstance> source_instances(const fs::path& source, const Image& geometry) {
  std::vector<fs::path> files;
  if (fs::is_directory(source)) {
    for (const auto& e : fs::directory_iterator(source))
      if (e.is_regular_file() && guess_image_format(e.path()) == ImageFormat::kDicom)
        files.push_back(e.path());
  } else {
    files.push_back(source);
  }
  const auto& d = geometry.direction;
  std::vector<SourceInstance> out;
  for (const auto& f : files) {
    DcmFileFormat file;
    if (!dicom_structure_problem(f).empty() ||
        file.loadFile(f.c_str(), EXS_Unknown, EGL_noChange, 256).bad())
      continue;
    DcmDataset* ds = file.getDataset();
    OFString cls, inst, series;
    ds->findAndGetOFString(DCM_SOPClassUID, cls);
    ds->findAndGetOFString(DCM_SOPInstanceUID, inst);
    ds->findAndGetOFString(DCM_SeriesInstanceUID, series);
    Float64 p[3] = {0, 0, 0};
    for (unsigned i = 0; i < 3; ++i) ds->findAndGetFloat64(DCM_ImagePositionPatient, p[i], i);
    out.push_back(
        {f, cls.c_str(), inst.c_str(), series.c_str(), p[0] * d[6] + p[1] * d[7] + p[2] * d[8]});
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.position_mm < b.position_mm; });
  if (out.empty())
    throw RunError("cannot write a DICOM SEG: no readable source instance in " + source.string());
  return out;
}

#define MEDPIPE_CHECK(cond, what)                                                                \
  do {                                                                                           \
    OFCondition status_ = (cond);                                                                \
    if (status_.bad())                                                                           \
      throw RunError(std::string("cannot write a DICOM SEG (") + what + "): " + status_.text()); \
  } while (0)

std::string number(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.6f", v);
  return buffer;
}

void add_shared_groups(DcmSegmentation& seg, const Image& g) {
  FGPixelMeasures measures;
  MEDPIPE_CHECK(
      measures.setPixelSpacing((number(g.spacing_mm[1]) + "\\" + number(g.spacing_mm[0])).c_str()),
      "pixel spacing");
  MEDPIPE_CHECK(measures.setSliceThickness(number(g.spacing_mm[2]).c_str()), "slice thickness");
  MEDPIPE_CHECK(seg.addForAllFrames(measures), "pixel measures");
  FGPlaneOrientationPatient orientation;
  const auto& d = g.direction;
  MEDPIPE_CHECK(orientation.setImageOrientationPatient(number(d[0]).c_str(), number(d[1]).c_str(),
                                                       number(d[2]).c_str(), number(d[3]).c_str(),
                                                       number(d[4]).c_str(), number(d[5]).c_str()),
                "orientation");
  MEDPIPE_CHECK(seg.addForAllFrames(orientation), "orientation");
}

// One frame per slice of class k's region.
void add_frames(DcmSegmentation& seg, const LabelVolume& mask, const Image& g, int k,
                Uint16 segment_number) {
  const std::size_t plane = static_cast<std::size_t>(mask.height) * mask.width;
  std::vector<Uint8> frame(plane);
  const auto& d = g.direction;
  for (int z = 0; z < mask.depth; ++z) {
    for (std::size_t i = 0; i < plane; ++i) frame[i] = mask.labels[z * plane + i] == k;
    double step = z * g.spacing_mm[2];
    FGPlanePosPatient position;
    MEDPIPE_CHECK(position.setImagePositionPatient(number(g.origin_mm[0] + step * d[6]).c_str(),
                                                   number(g.origin_mm[1] + step * d[7]).c_str(),
                                                   number(g.origin_mm[2] + step * d[8]).c_str()),
                  "position");
    FGFrameContent content;
    MEDPIPE_CHECK(content.setDimensionIndexValues(segment_number, 0), "dimension index");
    MEDPIPE_CHECK(content.setDimensionIndexValues(z + 1, 1), "dimension index");
    OFVector<FGBase*> groups;
    groups.push_back(&position);
    groups.push_back(&content);
    MEDPIPE_CHECK(seg.addFrame(frame.data(), segment_number, groups), "frame");
  }
}

// ReferencedSeriesSequence (Common Instance Reference): the source series and its instances.
void add_references(DcmDataset& ds, const std::vector<SourceInstance>& sources) {
  DcmItem* series = nullptr;
  MEDPIPE_CHECK(ds.findOrCreateSequenceItem(DCM_ReferencedSeriesSequence, series, 0), "references");
  series->putAndInsertString(DCM_SeriesInstanceUID, sources[0].series.c_str());
  for (std::size_t i = 0; i < sources.size(); ++i) {
    DcmItem* item = nullptr;
    MEDPIPE_CHECK(series->findOrCreateSequenceItem(DCM_ReferencedInstanceSequence, item,
                                                   static_cast<long>(i)),
                  "references");
    item->putAndInsertString(DCM_ReferencedSOPClassUID, sources[i].sop_class.c_str());
    item->putAndInsertString(DCM_ReferencedSOPInstanceUID, sources[i].sop_instance.c_str());
  }
}

}  // namespace

void write_dicom_seg(const fs::path& out_path, const fs::path& source, const Image& geometry,
                     const LabelVolume& mask, int num_classes) {
  std::vector<SourceInstance> sources = source_instances(source, geometry);
  IODGeneralEquipmentModule::EquipmentInfo equipment("medpipe", "medpipe", "0", MEDPIPE_VERSION);
  ContentIdentificationMacro content("1", "MEDPIPE", "medpipe segmentation", "medpipe");
  DcmSegmentation* raw = nullptr;
  MEDPIPE_CHECK(DcmSegmentation::createBinarySegmentation(raw, static_cast<Uint16>(mask.height),
                                                          static_cast<Uint16>(mask.width),
                                                          equipment, content),
                "create");
  std::unique_ptr<DcmSegmentation> seg(raw);
  MEDPIPE_CHECK(seg->importFromSourceImage(sources[0].file.c_str(), OFTrue), "source image");
  seg->getSeries().setSeriesNumber("999");
  seg->getSeries().setSeriesDescription("medpipe segmentation");
  char uid[100];
  dcmGenerateUniqueIdentifier(uid, SITE_INSTANCE_UID_ROOT);
  IODMultiframeDimensionModule& dims = seg->getDimensions();
  MEDPIPE_CHECK(dims.addDimensionIndex(DCM_ReferencedSegmentNumber, uid,
                                       DCM_SegmentIdentificationSequence, "segment"),
                "dimensions");
  MEDPIPE_CHECK(
      dims.addDimensionIndex(DCM_ImagePositionPatient, uid, DCM_PlanePositionSequence, "position"),
      "dimensions");
  add_shared_groups(*seg, geometry);
  for (int k = 1; k < num_classes; ++k) {
    DcmSegment* segment = nullptr;
    CodeSequenceMacro category("85756007", "SCT", "Tissue");
    CodeSequenceMacro type("85756007", "SCT", "Tissue");
    MEDPIPE_CHECK(DcmSegment::create(segment, ("class " + std::to_string(k)).c_str(), category,
                                     type, DcmSegTypes::SAT_AUTOMATIC, "medpipe unet"),
                  "segment");
    Uint16 number = 0;
    MEDPIPE_CHECK(seg->addSegment(segment, number), "segment");
    add_frames(*seg, mask, geometry, k, number);
  }
  DcmFileFormat file;
  MEDPIPE_CHECK(seg->writeDataset(*file.getDataset()), "dataset");
  add_references(*file.getDataset(), sources);
  atomic_write(out_path, [&](const fs::path& temp) {
    MEDPIPE_CHECK(file.saveFile(temp.c_str(), EXS_LittleEndianExplicit), "save");
  });
}

}  // namespace medpipe
