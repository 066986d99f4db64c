#include "storage/s3.h"

#include <tinyxml2.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/location.h"
#include "core/log.h"
#include "core/text.h"

namespace medpipe {

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// The S3 error's <Code> (NoSuchKey, SignatureDoesNotMatch, ...) from an XML body, if any.
std::string error_code(const std::string& body) {
  tinyxml2::XMLDocument doc;
  if (doc.Parse(body.c_str(), body.size()) != tinyxml2::XML_SUCCESS) return "";
  const tinyxml2::XMLElement* root = doc.RootElement();
  const tinyxml2::XMLElement* code = root ? root->FirstChildElement("Code") : nullptr;
  return code && code->GetText() ? code->GetText() : "";
}

std::string child_text(const tinyxml2::XMLElement* e, const char* name) {
  const tinyxml2::XMLElement* c = e ? e->FirstChildElement(name) : nullptr;
  return c && c->GetText() ? c->GetText() : "";
}

}  // namespace

AwsCredentials aws_credentials() {
  AwsCredentials c{env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY"),
                   env("AWS_SESSION_TOKEN")};
  if (!c.access_key_id.empty() && !c.secret_access_key.empty()) return c;
  std::string profile = env("AWS_PROFILE").empty() ? "default" : env("AWS_PROFILE");
  std::string file = env("AWS_SHARED_CREDENTIALS_FILE");
  if (file.empty()) file = env("HOME") + "/.aws/credentials";
  std::ifstream in(file);
  std::string line, section;
  while (in && std::getline(in, line)) {
    line = trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      section = trim(line.substr(1, line.size() - 2));
      continue;
    }
    auto eq = line.find('=');
    if (section != profile || eq == std::string::npos) continue;
    std::string key = trim(line.substr(0, eq)), value = trim(line.substr(eq + 1));
    if (key == "aws_access_key_id") c.access_key_id = value;
    if (key == "aws_secret_access_key") c.secret_access_key = value;
    if (key == "aws_session_token") c.session_token = value;
  }
  if (c.access_key_id.empty() || c.secret_access_key.empty()) {
    throw UsageError(
        "no AWS credentials for s3:// storage: set AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY, or add profile [" +
        profile + "] to " + file);
  }
  return c;
}

S3Uri parse_s3_uri(const std::string& uri, const std::string& what) {
  const Location where = parse_location(uri);
  if (!where.is_s3()) {
    throw UsageError(what + " '" + uri + "' is not an s3:// URI; use s3://bucket/prefix");
  }
  const std::string& rest = where.rest;
  auto slash = rest.find('/');
  S3Uri out{rest.substr(0, slash), slash == std::string::npos ? "" : rest.substr(slash + 1)};
  if (out.bucket.empty()) throw UsageError(what + " '" + uri + "' names no bucket");
  return out;
}

std::string s3_region(const S3Settings& settings) {
  return !settings.region.empty()             ? settings.region
         : !env("AWS_REGION").empty()         ? env("AWS_REGION")
         : !env("AWS_DEFAULT_REGION").empty() ? env("AWS_DEFAULT_REGION")
                                              : "us-east-1";
}

std::string s3_endpoint(const S3Settings& settings) {
  std::string endpoint = !settings.endpoint.empty()            ? settings.endpoint
                         : !env("AWS_ENDPOINT_URL_S3").empty() ? env("AWS_ENDPOINT_URL_S3")
                         : !env("AWS_ENDPOINT_URL").empty()
                             ? env("AWS_ENDPOINT_URL")
                             : "https://s3." + s3_region(settings) + ".amazonaws.com";
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  return endpoint;
}

S3Client::S3Client(S3Settings settings, AwsCredentials credentials)
    : settings_(std::move(settings)), credentials_(std::move(credentials)) {
  region_ = s3_region(settings_);
  endpoint_ = s3_endpoint(settings_);
  bool custom = endpoint_.find(".amazonaws.com") == std::string::npos;
  path_style_ = settings_.addressing == "path" || (settings_.addressing == "auto" && custom);
}

std::string S3Client::url(const std::string& bucket, const std::string& key,
                          const std::string& query) const {
  std::string out;
  if (path_style_) {
    out = endpoint_ + "/" + bucket + "/" + uri_encode(key, true);
  } else {
    auto scheme_end = endpoint_.find("://") + 3;
    out = endpoint_.substr(0, scheme_end) + bucket + "." + endpoint_.substr(scheme_end) + "/" +
          uri_encode(key, true);
  }
  return query.empty() ? out : out + "?" + query;
}

HttpResponse S3Client::call(HttpRequest request, const std::string& what) const {
  request.aws_sigv4 = "aws:amz:" + region_ + ":s3";
  request.user_password = credentials_.access_key_id + ":" + credentials_.secret_access_key;
  request.headers.push_back("x-amz-content-sha256: UNSIGNED-PAYLOAD");
  if (!credentials_.session_token.empty()) {
    request.headers.push_back("x-amz-security-token: " + credentials_.session_token);
  }
  request.verify_tls = settings_.verify_tls;
  request.max_attempts = settings_.max_attempts;
  request.timeout_s = static_cast<long>(std::max(1.0, settings_.timeout_s));
  HttpResponse r = http_request(request);
  if (r.status >= 200 && r.status < 300) return r;
  std::string code = error_code(r.body);
  std::string detail = code.empty() ? "" : " " + code;
  if (r.status == 0) {
    throw RunError("cannot reach the S3 endpoint " + endpoint_ + " for " + what + ": " + r.error +
                   " (" + std::to_string(r.attempts) +
                   " attempts); check the endpoint and the "
                   "network, then re-run: finished work is kept");
  }
  if (r.status == 401 || r.status == 403) {
    throw UsageError("S3 refused " + what + " (HTTP " + std::to_string(r.status) + detail +
                     "): the credentials (access key " + credentials_.access_key_id.substr(0, 4) +
                     "...) are wrong or lack permission; check AWS_ACCESS_KEY_ID / "
                     "AWS_SECRET_ACCESS_KEY or the AWS profile");
  }
  if (r.status == 404 && code == "NoSuchBucket") {
    throw UsageError("the bucket of " + what +
                     " does not exist (HTTP 404 NoSuchBucket); create "
                     "it, or fix the bucket name");
  }
  if (r.status == 404) {
    throw UsageError(what + " does not exist (HTTP 404" + detail + "); check the key or prefix");
  }
  throw RunError("S3 answered HTTP " + std::to_string(r.status) + detail + " for " + what +
                 " after " + std::to_string(r.attempts) + " attempt(s); re-run to resume");
}

S3ListingPage parse_s3_listing(const std::string& xml, const std::string& what) {
  tinyxml2::XMLDocument doc;
  if (doc.Parse(xml.c_str(), xml.size()) != tinyxml2::XML_SUCCESS || !doc.RootElement())
    throw RunError("S3 listing of " + what + " is not valid XML");
  const tinyxml2::XMLElement* root = doc.RootElement();
  S3ListingPage page;
  for (auto* c = root->FirstChildElement("Contents"); c; c = c->NextSiblingElement("Contents")) {
    page.objects.push_back({child_text(c, "Key"), child_text(c, "ETag"),
                            std::strtoull(child_text(c, "Size").c_str(), nullptr, 10)});
  }
  if (child_text(root, "IsTruncated") == "true")
    page.next_token = child_text(root, "NextContinuationToken");
  return page;
}

std::vector<S3Object> S3Client::list(const std::string& bucket, const std::string& prefix) const {
  std::vector<S3Object> out;
  std::string token;
  std::set<std::string> tokens_seen;  // a listing that repeats a token would page forever
  do {
    std::string query = "list-type=2&prefix=" + uri_encode(prefix, true);
    if (!token.empty()) query = "continuation-token=" + uri_encode(token, false) + "&" + query;
    HttpRequest request;
    request.url = url(bucket, "", query);
    HttpResponse r = call(request, "s3://" + bucket + "/" + prefix);
    S3ListingPage listed = parse_s3_listing(r.body, "s3://" + bucket + "/" + prefix);
    out.insert(out.end(), listed.objects.begin(), listed.objects.end());
    token = listed.next_token;
    if (!token.empty() && !tokens_seen.insert(token).second)
      throw RunError("S3 listing of s3://" + bucket + "/" + prefix +
                     " repeats its continuation token: the server pages in a circle; check the "
                     "endpoint");
  } while (!token.empty());
  return out;
}

std::string S3Client::get(const std::string& bucket, const std::string& key,
                          const fs::path& dest) const {
  fs::create_directories(dest.parent_path());
  fs::path temp = dest;
  temp += ".tmp." + std::to_string(::getpid());
  HttpRequest request;
  request.url = url(bucket, key, "");
  request.download_file = temp;
  try {
    HttpResponse r = call(request, "s3://" + bucket + "/" + key);
    fs::rename(temp, dest);
    return r.header("etag");
  } catch (...) {
    std::error_code ec;
    fs::remove(temp, ec);
    throw;
  }
}

void S3Client::put(const std::string& bucket, const std::string& key,
                   const fs::path& source) const {
  if (fs::file_size(source) > settings_.multipart_threshold) {
    put_multipart(bucket, key, source);
    return;
  }
  HttpRequest request;
  request.method = "PUT";
  request.url = url(bucket, key, "");
  request.upload_file = source;
  if (!settings_.sse.empty()) {
    request.headers.push_back("x-amz-server-side-encryption: " + settings_.sse);
    if (!settings_.sse_kms_key_id.empty()) {
      request.headers.push_back("x-amz-server-side-encryption-aws-kms-key-id: " +
                                settings_.sse_kms_key_id);
    }
  }
  call(request, "s3://" + bucket + "/" + key);
}

void S3Client::put_multipart(const std::string& bucket, const std::string& key,
                             const fs::path& source) const {
  const std::string what = "s3://" + bucket + "/" + key;
  HttpRequest start;
  start.method = "POST";
  start.url = url(bucket, key, "uploads=");
  if (!settings_.sse.empty()) {
    start.headers.push_back("x-amz-server-side-encryption: " + settings_.sse);
    if (!settings_.sse_kms_key_id.empty()) {
      start.headers.push_back("x-amz-server-side-encryption-aws-kms-key-id: " +
                              settings_.sse_kms_key_id);
    }
  }
  tinyxml2::XMLDocument doc;
  std::string body = call(start, what).body;
  doc.Parse(body.c_str(), body.size());
  std::string upload_id = child_text(doc.RootElement(), "UploadId");
  if (upload_id.empty()) throw RunError("S3 gave no UploadId for " + what);
  const std::string id_query = "uploadId=" + uri_encode(upload_id, false);
  try {
    std::ifstream in(source, std::ios::binary);
    std::ostringstream complete;
    complete << "<CompleteMultipartUpload>";
    std::string part(settings_.part_size, '\0');
    for (int number = 1; in; ++number) {
      in.read(part.data(), static_cast<std::streamsize>(part.size()));
      std::streamsize n = in.gcount();
      if (n <= 0) break;
      HttpRequest upload;
      upload.method = "PUT";
      upload.url = url(bucket, key, "partNumber=" + std::to_string(number) + "&" + id_query);
      upload.body.assign(part.data(), static_cast<std::size_t>(n));
      std::string etag = call(upload, what + " part " + std::to_string(number)).header("etag");
      complete << "<Part><PartNumber>" << number << "</PartNumber><ETag>" << etag
               << "</ETag></Part>";
    }
    complete << "</CompleteMultipartUpload>";
    HttpRequest finish;
    finish.method = "POST";
    finish.url = url(bucket, key, id_query);
    finish.body = complete.str();
    call(finish, what);
  } catch (...) {
    HttpRequest abort;
    abort.method = "DELETE";
    abort.url = url(bucket, key, id_query);
    abort.max_attempts = 2;
    try {
      call(abort, what);
    } catch (...) {
    }
    throw;
  }
}

}  // namespace medpipe
