// storage/dicomweb.h: a DICOMweb service (a PACS such as Orthanc) as a bucket of images:
// QIDO-RS lists the instances under dicomweb://host:port/root (narrowed by the query's
// attribute filters: ?StudyInstanceUID=..., ?Modality=CT), WADO-RS fetches each one into the
// local cache as <SOPInstanceUID>.dcm (instances never change, so one fetched is never fetched
// again). dicomwebs:// uses TLS.
#pragma once
#include <string>
#include <vector>

#include "core/fs.h"

namespace medpipe {

struct DicomWebUri {
  std::string base_url;  // http(s)://host:port/root, no trailing slash
  std::string query;     // QIDO-RS attribute filters, as given
};
DicomWebUri parse_dicomweb_uri(const std::string& uri, const std::string& what);

// One instance a QIDO-RS search lists: its UIDs as the answer gives them ("" where it has none;
// the caller checks them before they name a file or a URL).
struct InstanceRef {
  std::string study, series, sop;
};
// The instances of one QIDO-RS answer (a DICOM JSON array). Throws RunError naming `what` when
// the body is not one.
std::vector<InstanceRef> parse_qido_instances(const std::string& body, const std::string& what);

// Mirrors every instance the query selects; returns the local folder.
fs::path mirror_dicomweb(const std::string& location, const std::string& key, int concurrency,
                         bool verify_tls, int max_attempts);

// STOW-RS: stores every DICOM file (.dcm) under `local_dir` in the service, `concurrency` at a
// time. Each instance is stored whole or not at all.
void store_dicomweb(const fs::path& local_dir, const std::string& location, int concurrency,
                    bool verify_tls, int max_attempts);

// The first part of a multipart/related body (WADO-RS answers), given the Content-Type header.
// Empty when the body is not multipart (then the body itself is the part).
std::string first_multipart_part(const std::string& body, const std::string& content_type);

}  // namespace medpipe
