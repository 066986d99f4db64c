// storage/http.h: one HTTP request through libcurl, with bounded retries (exponential backoff
// with jitter) on 5xx, 429, timeouts and dropped connections; TLS verification on by default.
#pragma once
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/fs.h"

namespace medpipe {

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;                  // sent when upload_file is empty
  fs::path upload_file;              // PUT/POST a file's bytes (streamed)
  fs::path download_file;            // GET into this file (streamed; the caller renames it)
  std::string aws_sigv4;             // "aws:amz:REGION:SERVICE": libcurl signs the request
  std::string user_password;         // "key:secret" for SigV4 or basic auth; never logged
  bool verify_tls = true;
  long timeout_s = 0;  // 0: the process-wide default_http_timeout_s()
  int max_attempts = 5;
  double first_backoff_s = 0.5;
};

struct HttpResponse {
  long status = 0;   // 0: no response (connection failed or timed out)
  std::string body;  // unless downloaded to a file
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-case
  std::string error;                                         // libcurl's message when status is 0
  int attempts = 0;
  std::string header(const std::string& lower_name) const;
};

// The timeout of every request that sets none (storage_timeout_s; 300 s until set).
void set_default_http_timeout_s(double seconds);
long default_http_timeout_s();

// Sends the request, retrying what may pass on a second try. Never throws for HTTP statuses;
// the caller turns them into messages.
HttpResponse http_request(const HttpRequest& request);

// Percent-encoding of a URI component (RFC 3986 unreserved kept; '/' kept when keep_slash).
std::string uri_encode(const std::string& text, bool keep_slash);

}  // namespace medpipe
