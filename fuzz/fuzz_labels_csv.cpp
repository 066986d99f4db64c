// fuzz/fuzz_labels_csv.cpp: the labels CSV (`image,level`): the RFC 4180 parser and the checks.
#include "data/labels.h"
#include "harness.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace medpipe;
  fuzz::set_fuzz_limits();
  fs::path path = fuzz::input_file(data, size, "labels.csv");
  fuzz::within_contract([&] { (void)read_labels_csv(path); });
  return 0;
}
