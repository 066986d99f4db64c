// fuzz/fuzz_qido.cpp: one page of a QIDO-RS answer (DICOM JSON: bounded nesting, any types).
#include "harness.h"
#include "storage/dicomweb.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace medpipe;
  std::string body(reinterpret_cast<const char*>(data), size);
  fuzz::within_contract(
      [&] { (void)parse_qido_instances(body, "http://pacs/dicom-web/instances"); });
  return 0;
}
