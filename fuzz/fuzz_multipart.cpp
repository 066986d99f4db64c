// fuzz/fuzz_multipart.cpp: a WADO-RS answer's multipart/related body. The first line is the
// Content-Type header, the rest the body.
#include "harness.h"
#include "storage/dicomweb.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace medpipe;
  std::string text(reinterpret_cast<const char*>(data), size);
  const std::size_t eol = text.find('\n');
  std::string content_type = eol == std::string::npos ? text : text.substr(0, eol);
  std::string body = eol == std::string::npos ? "" : text.substr(eol + 1);
  fuzz::within_contract([&] {
    std::string part = first_multipart_part(body, content_type);
    if (part.size() > body.size()) __builtin_trap();  // a part is a piece of its body
  });
  return 0;
}
