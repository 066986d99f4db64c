// storage/s3.h: an S3-compatible object store through libcurl's SigV4 signing: paginated
// listing, streamed downloads (atomic: temp + rename), uploads (multipart above a threshold),
// server-side encryption on upload. Credentials come from the standard AWS environment variables
// or ~/.aws/credentials and are never printed.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/fs.h"
#include "storage/http.h"

namespace medpipe {

struct S3Settings {
  std::string endpoint;             // "" : AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, else AWS
  std::string region;               // "" : AWS_REGION, AWS_DEFAULT_REGION, else us-east-1
  std::string addressing = "auto";  // path | virtual | auto (path for custom endpoints)
  std::string sse;                  // "" | AES256 | aws:kms
  std::string sse_kms_key_id;       // with aws:kms
  bool verify_tls = true;
  int max_attempts = 5;
  double timeout_s = 300;
  std::uint64_t multipart_threshold = 64ull << 20;
  std::uint64_t part_size = 16ull << 20;
};

// The region and endpoint URL the settings select: the settings' own, else the standard AWS
// environment variables, else us-east-1 and AWS's regional endpoint.
std::string s3_region(const S3Settings& settings);
std::string s3_endpoint(const S3Settings& settings);

struct AwsCredentials {
  std::string access_key_id, secret_access_key, session_token;
};
// From AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN), else the profile
// AWS_PROFILE (default "default") of AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials.
// Throws UsageError saying where it looked.
AwsCredentials aws_credentials();

struct S3Uri {
  std::string bucket, key;  // key: an object or a prefix ("" for the whole bucket)
};
// "s3://bucket/some/prefix" -> {bucket, "some/prefix"}; UsageError naming `what` if malformed.
S3Uri parse_s3_uri(const std::string& uri, const std::string& what);

struct S3Object {
  std::string key, etag;
  std::uint64_t size = 0;
};

// One page of a ListObjectsV2 answer: its objects and, when the listing is truncated, the token
// of the next page ("" on the last). Throws RunError naming `what` when the answer is not XML.
struct S3ListingPage {
  std::vector<S3Object> objects;
  std::string next_token;
};
S3ListingPage parse_s3_listing(const std::string& xml, const std::string& what);

class S3Client {
 public:
  S3Client(S3Settings settings, AwsCredentials credentials);
  // Every object under `prefix`, following continuation tokens.
  std::vector<S3Object> list(const std::string& bucket, const std::string& prefix) const;
  // Streams the object into `dest` (temp file, then rename); returns its ETag.
  std::string get(const std::string& bucket, const std::string& key, const fs::path& dest) const;
  // Uploads `source` as one object; multipart above the threshold. The object appears whole or
  // not at all.
  void put(const std::string& bucket, const std::string& key, const fs::path& source) const;
  const std::string& endpoint() const { return endpoint_; }

 private:
  std::string url(const std::string& bucket, const std::string& key,
                  const std::string& query) const;
  // Signs and sends; a non-2xx answer throws with what it means (credentials, missing bucket
  // or key, server failure after retries). `what` names the object for messages.
  HttpResponse call(HttpRequest request, const std::string& what) const;
  void put_multipart(const std::string& bucket, const std::string& key,
                     const fs::path& source) const;
  S3Settings settings_;
  AwsCredentials credentials_;
  std::string endpoint_;
  std::string region_;
  bool path_style_ = true;
};

}  // namespace medpipe
