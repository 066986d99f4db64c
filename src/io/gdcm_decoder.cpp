// GDCM, for the transfer syntaxes Debian's DCMTK cannot decode (JPEG 2000).
#include <gdcmImageChangeTransferSyntax.h>
#include <gdcmImageReader.h>
#include <gdcmImageWriter.h>
#include <gdcmTrace.h>

#include "io/formats.h"

namespace medpipe::io_detail {

std::string gdcm_decompress(const fs::path& path, const fs::path& out_path) {
  gdcm::Trace::SetWarning(false);  // our message names the file and the problem
  gdcm::Trace::SetError(false);
  gdcm::ImageReader reader;
  reader.SetFileName(path.c_str());
  if (!reader.Read()) return "not a DICOM image GDCM can read";
  gdcm::ImageChangeTransferSyntax change;
  change.SetTransferSyntax(gdcm::TransferSyntax::ExplicitVRLittleEndian);
  change.SetInput(reader.GetImage());
  if (!change.Change()) return "DICOM pixel data cannot be decoded (GDCM failed too)";
  gdcm::ImageWriter writer;
  writer.SetFileName(out_path.c_str());
  writer.SetFile(reader.GetFile());
  writer.SetImage(change.GetOutput());
  if (!writer.Write()) return "cannot write GDCM's decoded copy";
  return "";
}

}  // namespace medpipe::io_detail
