#include "storage/http.h"

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <random>
#include <thread>

#include "core/log.h"

namespace medpipe {

namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t to_string(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

size_t to_file(char* data, size_t size, size_t count, void* out) {
  return std::fwrite(data, size, count, static_cast<FILE*>(out)) * size;
}

size_t from_file(char* data, size_t size, size_t count, void* in) {
  return std::fread(data, size, count, static_cast<FILE*>(in)) * size;
}

size_t header_line(char* data, size_t size, size_t count, void* out) {
  std::string line(data, size * count);
  auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    value.erase(value.find_last_not_of(" \t\r\n") + 1);
    static_cast<HttpResponse*>(out)->headers.emplace_back(name, value);
  }
  return size * count;
}

bool worth_retrying(const HttpResponse& r) {
  return r.status == 0 || r.status == 429 || r.status >= 500;
}

// The request's body: a file streamed from disk, or bytes in memory.
FILE* set_request_body(CURL* curl, const HttpRequest& q) {
  if (!q.upload_file.empty()) {
    FILE* upload = std::fopen(q.upload_file.c_str(), "rb");
    std::error_code ec;
    curl_off_t size = static_cast<curl_off_t>(fs::file_size(q.upload_file, ec));
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, from_file);
    curl_easy_setopt(curl, CURLOPT_READDATA, upload);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, size);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, q.method.c_str());
    return upload;
  }
  if (!q.body.empty() || q.method == "POST" || q.method == "PUT") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, q.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(q.body.size()));
  }
  return nullptr;
}

// Where the response's body goes: a file, or the response's string.
FILE* set_response_body(CURL* curl, const HttpRequest& q, HttpResponse& r) {
  if (q.download_file.empty()) {
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, to_string);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r.body);
    return nullptr;
  }
  FILE* download = std::fopen(q.download_file.c_str(), "wb");
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, to_file);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, download);
  return download;
}

std::atomic<long> default_timeout_s{300};

HttpResponse attempt(const HttpRequest& q) {
  HttpResponse r;
  CURL* curl = curl_easy_init();
  if (!curl) {
    r.error = "cannot start libcurl";
    return r;
  }
  struct curl_slist* headers = nullptr;
  for (const auto& h : q.headers) headers = curl_slist_append(headers, h.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, q.url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, q.method.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, q.timeout_s > 0 ? q.timeout_s : default_http_timeout_s());
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 20L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, q.verify_tls ? 1L : 0L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, q.verify_tls ? 2L : 0L);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, header_line);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &r);
  if (!q.aws_sigv4.empty()) curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, q.aws_sigv4.c_str());
  if (!q.user_password.empty()) curl_easy_setopt(curl, CURLOPT_USERPWD, q.user_password.c_str());
  if (q.method == "HEAD") curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  FILE* upload = set_request_body(curl, q);
  FILE* download = set_response_body(curl, q, r);
  CURLcode code = curl_easy_perform(curl);
  if (code == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
  } else {
    r.error = curl_easy_strerror(code);
  }
  if (upload) std::fclose(upload);
  if (download) std::fclose(download);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  // a downloaded error body (XML) is read back so the caller can explain it
  if (download && r.status >= 300) {
    std::FILE* f = std::fopen(q.download_file.c_str(), "rb");
    char buffer[4096];
    size_t n = f ? std::fread(buffer, 1, sizeof buffer, f) : 0;
    if (f) std::fclose(f);
    r.body.assign(buffer, n);
  }
  return r;
}

}  // namespace

void set_default_http_timeout_s(double seconds) {
  default_timeout_s = static_cast<long>(std::max(1.0, seconds));
}

long default_http_timeout_s() {
  return default_timeout_s;
}

std::string HttpResponse::header(const std::string& lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return value;
  }
  return "";
}

HttpResponse http_request(const HttpRequest& request) {
  global_init();
  thread_local std::mt19937 rng(std::random_device{}());
  double backoff = request.first_backoff_s;
  HttpResponse response;
  for (int k = 1; k <= std::max(1, request.max_attempts); ++k) {
    response = attempt(request);
    response.attempts = k;
    if (!worth_retrying(response) || k == request.max_attempts) break;
    double wait = backoff * std::uniform_real_distribution<double>(0.5, 1.5)(rng);
    log_debug(request.method + " " + request.url + ": " +
              (response.status ? "HTTP " + std::to_string(response.status) : response.error) +
              ", retrying in " + std::to_string(wait) + " s");
    std::this_thread::sleep_for(std::chrono::duration<double>(wait));
    backoff *= 2;
  }
  return response;
}

std::string uri_encode(const std::string& text, bool keep_slash) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
        (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace medpipe
