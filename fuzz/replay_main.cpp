// fuzz/replay_main.cpp: a harness without libFuzzer, for the builds that have none (GCC, the
// sanitizer build in CI): runs each input file (or every file of each folder) once, as libFuzzer
// does with -runs=0, so the saved corpus and crash reproducers are checked in seconds.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <vector>

#include "harness.h"

namespace {
int replay_file(const medpipe::fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
  LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
  return 1;
}
}  // namespace

int main(int argc, char** argv) {
  int inputs = 0;
  for (int i = 1; i < argc; ++i) {
    medpipe::fs::path arg = argv[i];
    if (!medpipe::fs::exists(arg)) continue;  // a harness without saved crashes
    if (!medpipe::fs::is_directory(arg)) {
      inputs += replay_file(arg);
      continue;
    }
    std::vector<medpipe::fs::path> files;
    for (const auto& entry : medpipe::fs::recursive_directory_iterator(arg))
      if (entry.is_regular_file()) files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) inputs += replay_file(f);
  }
  std::printf("replayed %d inputs\n", inputs);
  return 0;
}
