// fuzz/fuzz_s3_listing.cpp: one page of an S3 ListObjectsV2 answer (XML, tinyxml2).
#include "harness.h"
#include "storage/s3.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace medpipe;
  std::string xml(reinterpret_cast<const char*>(data), size);
  fuzz::within_contract([&] { (void)parse_s3_listing(xml, "s3://fuzz/prefix"); });
  return 0;
}
