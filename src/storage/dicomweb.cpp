#include "storage/dicomweb.h"

#include <unistd.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "core/json_value.h"
#include "core/location.h"
#include "core/log.h"
#include "core/parallel.h"
#include "io/dicom_series.h"
#include "storage/http.h"

namespace medpipe {

namespace {

// The first string value of `tag` in a DICOM JSON object; "" where the answer has none (or
// not of the types DICOM JSON gives it).
std::string tag_value(const nlohmann::json& item, const char* tag) {
  if (!item.is_object()) return "";
  auto it = item.find(tag);
  if (it == item.end() || !it->is_object()) return "";
  auto value = it->find("Value");
  if (value == it->end() || !value->is_array() || value->empty() || !(*value)[0].is_string())
    return "";
  return (*value)[0].get<std::string>();
}

HttpResponse get(const std::string& url, const std::string& accept, bool verify_tls,
                 int max_attempts, const std::string& what) {
  HttpRequest request;
  request.url = url;
  request.headers.push_back("Accept: " + accept);
  request.verify_tls = verify_tls;
  request.max_attempts = max_attempts;
  HttpResponse r = http_request(request);
  if (r.status >= 200 && r.status < 300) return r;
  if (r.status == 0) {
    throw RunError("cannot reach the DICOMweb service for " + what + ": " + r.error + " (" +
                   std::to_string(r.attempts) +
                   " attempts); check the address, then re-run: "
                   "fetched instances are kept");
  }
  if (r.status == 401 || r.status == 403) {
    throw UsageError("the DICOMweb service refused " + what + " (HTTP " + std::to_string(r.status) +
                     "); check the PACS credentials and permissions");
  }
  if (r.status == 404) {
    throw UsageError(what +
                     " was not found (HTTP 404); check the service root (for Orthanc: "
                     "/dicom-web) and the study or series UID");
  }
  throw RunError("the DICOMweb service answered HTTP " + std::to_string(r.status) + " for " + what +
                 " after " + std::to_string(r.attempts) + " attempt(s); re-run to resume");
}

// QIDO-RS: every instance the filters select, page by page.
std::vector<InstanceRef> search_instances(const DicomWebUri& uri, bool verify_tls,
                                          int max_attempts) {
  std::vector<InstanceRef> out;
  std::set<std::string> seen;  // SOPInstanceUIDs so far: a PACS that ignores offset repeats them
  const int page = 1000;
  for (int offset = 0;; offset += page) {
    std::string url = uri.base_url + "/instances?" + (uri.query.empty() ? "" : uri.query + "&") +
                      "limit=" + std::to_string(page) + "&offset=" + std::to_string(offset);
    HttpResponse r = get(url, "application/dicom+json", verify_tls, max_attempts, uri.base_url);
    std::vector<InstanceRef> items = parse_qido_instances(r.body, uri.base_url + "/instances");
    std::size_t fresh = 0;
    for (const InstanceRef& ref : items) {
      if (!seen.insert(ref.sop).second) continue;
      out.push_back(ref);
      ++fresh;
    }
    if (static_cast<int>(items.size()) < page) break;
    if (fresh == 0) break;  // a full page of instances already listed: offset was ignored
  }
  return out;
}

// A UID as DICOM defines it (digits and dots, at most 64): what a PACS sends is checked before
// it names a file or a URL.
const std::string& checked_uid(const std::string& uid) {
  if (uid.empty() || uid.size() > 64 || uid.find_first_not_of("0123456789.") != std::string::npos)
    throw RunError("the PACS answered an instance UID that is not a DICOM UID ('" +
                   uid.substr(0, 80) + "'); its answer cannot be used");
  return uid;
}

}  // namespace

std::vector<InstanceRef> parse_qido_instances(const std::string& body, const std::string& what) {
  nlohmann::json items = nlohmann::json::array();
  try {
    if (!body.empty()) items = parse_json_bounded(body, "the QIDO-RS answer", 32);
  } catch (const std::exception&) {
    items = nullptr;  // not JSON, or nested as no instance list is
  }
  if (!items.is_array())
    throw RunError("the DICOMweb service's QIDO-RS answer to " + what +
                   " is not a JSON array of instances; check the service root");
  std::vector<InstanceRef> out;
  for (const auto& item : items)
    out.push_back(
        {tag_value(item, "0020000D"), tag_value(item, "0020000E"), tag_value(item, "00080018")});
  return out;
}

DicomWebUri parse_dicomweb_uri(const std::string& uri, const std::string& what) {
  const Location where = parse_location(uri);
  if (!where.is_dicomweb()) throw UsageError(what + " '" + uri + "' is not a dicomweb:// URI");
  const bool tls = where.tls;
  std::string rest = where.rest;
  DicomWebUri out;
  if (auto q = rest.find('?'); q != std::string::npos) {
    out.query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.empty() || rest.find('/') == std::string::npos) {
    throw UsageError(what + " '" + uri +
                     "' names no service root; use "
                     "dicomweb://host:port/root (Orthanc: dicomweb://host:8042/dicom-web)");
  }
  out.base_url = (tls ? "https://" : "http://") + rest;
  return out;
}

std::string first_multipart_part(const std::string& body, const std::string& content_type) {
  auto at = content_type.find("boundary=");
  if (at == std::string::npos) return "";
  std::string boundary = content_type.substr(at + 9);
  boundary = boundary.substr(0, boundary.find(';'));
  if (!boundary.empty() && boundary.front() == '"')
    boundary = boundary.substr(1, boundary.size() - 2);
  std::string delimiter = "--" + boundary;
  auto start = body.find(delimiter);
  if (start == std::string::npos) return "";
  auto headers_end = body.find("\r\n\r\n", start);
  if (headers_end == std::string::npos) return "";
  auto content = headers_end + 4;
  auto end = body.find("\r\n" + delimiter, content);
  return body.substr(content, end == std::string::npos ? std::string::npos : end - content);
}

namespace {

// The folder the pipeline reads: each instance of a series that forms a volume (io's
// instances_form_a_volume) as <SeriesInstanceUID>/<SOPInstanceUID>.dcm, so the series is read
// as one volume named by its SeriesInstanceUID; every other instance as <SOPInstanceUID>.dcm.
// Hard links into the flat cache (`local`), rebuilt at every mirror.
fs::path series_view(const fs::path& local, const std::vector<InstanceRef>& instances) {
  std::map<std::string, std::vector<const InstanceRef*>> by_series;
  for (const InstanceRef& ref : instances) by_series[ref.series].push_back(&ref);
  fs::path view = local;
  view += ".series";
  fs::remove_all(view);
  fs::create_directories(view);
  std::size_t volumes = 0;
  for (const auto& [series, refs] : by_series) {
    std::vector<fs::path> files;
    for (const InstanceRef* ref : refs) files.push_back(local / (ref->sop + ".dcm"));
    const bool volume = refs.size() > 1 && instances_form_a_volume(files);
    const fs::path dir =
        volume ? safe_join(view, checked_uid(series), "a SeriesInstanceUID from the PACS") : view;
    volumes += volume;
    fs::create_directories(dir);
    for (const fs::path& file : files) {
      std::error_code ec;
      fs::create_hard_link(file, dir / file.filename(), ec);
      if (ec) fs::copy_file(file, dir / file.filename(), fs::copy_options::overwrite_existing);
    }
  }
  if (volumes)
    log_info(std::to_string(volumes) + " series read as volumes, named by SeriesInstanceUID");
  return view;
}

}  // namespace

fs::path mirror_dicomweb(const std::string& location, const std::string& key, int concurrency,
                         bool verify_tls, int max_attempts) {
  DicomWebUri uri = parse_dicomweb_uri(location, "event key '" + key + "'");
  std::vector<InstanceRef> instances = search_instances(uri, verify_tls, max_attempts);
  if (instances.empty()) {
    throw UsageError("event key '" + key + "': " + location +
                     " selects no instance; check the QIDO-RS filters");
  }
  fs::path local = local_path_for(location);
  fs::create_directories(local);
  std::atomic<int> fetched{0};
  parallel_for(instances.size(), concurrency, "fetch " + uri.base_url, "obj", [&](std::size_t i) {
    const InstanceRef& ref = instances[i];
    fs::path dest =
        safe_join(local, checked_uid(ref.sop) + ".dcm", "a SOPInstanceUID from the PACS");
    if (fs::exists(dest)) return;  // an instance never changes
    std::string url = uri.base_url + "/studies/" + checked_uid(ref.study) + "/series/" +
                      checked_uid(ref.series) + "/instances/" + ref.sop;
    HttpResponse r = get(url, "multipart/related; type=\"application/dicom\"", verify_tls,
                         max_attempts, "instance " + std::to_string(i + 1));
    std::string part = first_multipart_part(r.body, r.header("content-type"));
    const std::string& bytes = part.empty() ? r.body : part;
    fs::path temp = dest;
    temp += ".tmp." + std::to_string(::getpid());
    {
      std::ofstream out(temp, std::ios::binary);
      out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      if (!out) throw RunError("cannot write " + temp.string() + ": disk full?");
    }
    fs::rename(temp, dest);
    ++fetched;
  });
  log_info(uri.base_url + ": " + std::to_string(instances.size()) + " instance(s), " +
           std::to_string(fetched.load()) + " fetched, the rest from the cache " + local.string());
  return series_view(local, instances);
}

void store_dicomweb(const fs::path& local_dir, const std::string& location, int concurrency,
                    bool verify_tls, int max_attempts) {
  DicomWebUri uri = parse_dicomweb_uri(location, "event key 'results_bucket'");
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(local_dir)) {
    if (entry.is_regular_file() && entry.path().extension() == ".dcm")
      files.push_back(entry.path());
  }
  const std::string boundary = "medpipe-stow-boundary-7d1f";
  parallel_for(files.size(), concurrency, "store " + uri.base_url, "obj", [&](std::size_t i) {
    std::ifstream in(files[i], std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    HttpRequest request;
    request.method = "POST";
    request.url = uri.base_url + "/studies";
    request.headers = {
        "Content-Type: multipart/related; type=\"application/dicom\"; boundary=" + boundary,
        "Accept: application/dicom+json"};
    request.body = "--" + boundary + "\r\nContent-Type: application/dicom\r\n\r\n" + bytes +
                   "\r\n--" + boundary + "--\r\n";
    request.verify_tls = verify_tls;
    request.max_attempts = max_attempts;
    HttpResponse r = http_request(request);
    if (r.status < 200 || r.status >= 300) {
      throw RunError("the DICOMweb service did not store " + files[i].filename().string() +
                     " (STOW-RS: " + (r.status ? "HTTP " + std::to_string(r.status) : r.error) +
                     "); re-run to store the results again");
    }
  });
  log_info("stored " + std::to_string(files.size()) + " DICOM object(s) in " + uri.base_url);
}

}  // namespace medpipe
