// core/location.h: the one parser of bucket locations. A location is a local folder, a file://
// URI, s3://bucket/prefix, or dicomweb(s)://host:port/root[?query]; every stage asks this parser
// which one it has instead of matching prefixes itself.
#pragma once
#include <string>

namespace medpipe {

enum class Scheme { kLocal, kFile, kS3, kDicomWeb };

struct Location {
  Scheme scheme = Scheme::kLocal;
  bool tls = false;  // dicomwebs://
  std::string rest;  // what follows "scheme://" (the whole text for a local path)
  bool remote() const { return scheme == Scheme::kS3 || scheme == Scheme::kDicomWeb; }
  bool is_s3() const { return scheme == Scheme::kS3; }
  bool is_dicomweb() const { return scheme == Scheme::kDicomWeb; }
};

inline Location parse_location(const std::string& text) {
  struct Prefix {
    const char* text;
    Scheme scheme;
    bool tls;
  };
  static constexpr Prefix kPrefixes[] = {{"file://", Scheme::kFile, false},
                                         {"s3://", Scheme::kS3, false},
                                         {"dicomweb://", Scheme::kDicomWeb, false},
                                         {"dicomwebs://", Scheme::kDicomWeb, true}};
  for (const Prefix& p : kPrefixes) {
    const std::string prefix = p.text;
    if (text.rfind(prefix, 0) == 0) return {p.scheme, p.tls, text.substr(prefix.size())};
  }
  return {Scheme::kLocal, false, text};
}

}  // namespace medpipe
