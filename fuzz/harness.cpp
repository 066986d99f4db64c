// fuzz/harness.cpp: the shared scratch file and limits of the harnesses.
#include "harness.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <mutex>

#include "core/log.h"
#include "io/image_io.h"

namespace medpipe::fuzz {

namespace {
// Never destroyed: the exit handler that removes it runs after static destructors.
const fs::path& scratch_dir() {
  static const fs::path* dir = [] {
    std::error_code ec;
    fs::path root =
        fs::is_directory("/dev/shm", ec) ? fs::path("/dev/shm") : fs::temp_directory_path();
    fs::path d = root / ("medpipe-fuzz-" + std::to_string(::getpid()));
    fs::create_directories(d);
    std::atexit([] {
      std::error_code ignored;
      fs::remove_all(scratch_dir(), ignored);
    });
    return new fs::path(d);
  }();
  return *dir;
}
}  // namespace

fs::path input_file(const std::uint8_t* data, std::size_t size, const std::string& name) {
  fs::path path = scratch_dir() / name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return path;
}

void set_fuzz_limits() {
  static std::once_flag once;
  std::call_once(once, [] {
    set_max_image_pixels(double(1 << 22));
    init_logging("error");
  });
}

}  // namespace medpipe::fuzz
