// GDCM, for the pixel data Debian's DCMTK cannot decode (JPEG 2000, and codestreams DCMTK's
// codecs refuse). GDCM runs in a child process: Debian builds it with assertions on, and some
// damaged codestreams end in assert() (abort), and openjpeg writes its own lines to stderr.
// In the child, an abort, a hang or a stray line costs that one image, not the run.
#include <fcntl.h>
#include <gdcmImageChangeTransferSyntax.h>
#include <gdcmImageReader.h>
#include <gdcmTrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>

#include "io/formats.h"
#include "io/image_io.h"

namespace medpipe::io_detail {

namespace {

constexpr unsigned kChildSeconds = 300;  // a decoder that hangs is stopped after this

// What the child writes: one line of facts ("ok PI planar allocated stored high rep samples")
// or "error reason", then the decoded bytes.
std::string decode_in_child(const fs::path& path, std::ofstream& out) {
  gdcm::Trace::SetWarning(false);
  gdcm::Trace::SetError(false);
  gdcm::ImageReader reader;
  reader.SetFileName(path.c_str());
  if (!reader.Read()) return "not a DICOM image GDCM can read";
  gdcm::ImageChangeTransferSyntax change;
  change.SetTransferSyntax(gdcm::TransferSyntax::ExplicitVRLittleEndian);
  change.SetInput(reader.GetImage());
  if (!change.Change()) return "DICOM pixel data cannot be decoded (GDCM failed too)";
  const gdcm::Image& image = change.GetOutput();
  const gdcm::PixelFormat& format = image.GetPixelFormat();
  const unsigned long long bytes = image.GetBufferLength();
  if (static_cast<double>(bytes) > 8.0 * max_image_pixels())
    return "the decoded pixel data would exceed max_image_pixels";
  std::vector<char> buffer(bytes);
  if (!image.GetBuffer(buffer.data()))
    return "DICOM pixel data cannot be decoded (GDCM failed too)";
  const char* pi =
      gdcm::PhotometricInterpretation::GetPIString(image.GetPhotometricInterpretation());
  out << "ok " << (pi ? pi : "MONOCHROME2") << ' ' << image.GetPlanarConfiguration() << ' '
      << format.GetBitsAllocated() << ' ' << format.GetBitsStored() << ' ' << format.GetHighBit()
      << ' ' << format.GetPixelRepresentation() << ' ' << format.GetSamplesPerPixel() << '\n';
  out.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
  return out ? "" : "cannot write GDCM's decoded pixels";
}

[[noreturn]] void run_child(const fs::path& path, const fs::path& result_path) {
  // the parent's handlers (its stop signals; a fuzzer's or sanitizer's crash reports) are not
  // the child's: an abort here ends the child, and the parent reads that as the image's failure
  for (int sig : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTERM, SIGINT, SIGALRM})
    std::signal(sig, SIG_DFL);
  int null_fd = ::open("/dev/null", O_WRONLY);
  if (null_fd >= 0) ::dup2(null_fd, STDERR_FILENO);  // openjpeg's and libjpeg's own lines
  ::alarm(kChildSeconds);
  int code = 1;
  try {
    std::ofstream out(result_path, std::ios::binary | std::ios::trunc);
    std::string error = decode_in_child(path, out);
    if (error.empty()) {
      code = 0;
    } else {
      out.seekp(0);
      out << "error " << error << '\n';
    }
  } catch (...) {
  }
  ::_exit(code);
}

Result<GdcmPixels> read_child_result(const fs::path& result_path) {
  std::ifstream in(result_path, std::ios::binary);
  std::string status;
  in >> status;
  if (status != "ok") {
    std::string reason;
    std::getline(in, reason);
    return Result<GdcmPixels>::failure(reason.empty() ? "GDCM could not decode the pixel data"
                                                      : reason.substr(1));
  }
  GdcmPixels pixels;
  in >> pixels.photometric >> pixels.planar_configuration >> pixels.bits_allocated >>
      pixels.bits_stored >> pixels.high_bit >> pixels.pixel_representation >> pixels.samples;
  if (!in || in.get() != '\n' || pixels.bits_allocated == 0)
    return Result<GdcmPixels>::failure("GDCM's decoded pixels could not be read back");
  pixels.bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return pixels;
}

}  // namespace

Result<GdcmPixels> gdcm_decode_pixels(const fs::path& path) {
  std::string temp = (fs::temp_directory_path() / "medpipe-gdcm-XXXXXX").string();
  int fd = ::mkstemp(temp.data());
  if (fd < 0)
    return Result<GdcmPixels>::failure("cannot create a temporary file to decode with GDCM");
  ::close(fd);
  std::fflush(nullptr);  // nothing buffered is written twice
  const pid_t child = ::fork();
  if (child == 0) run_child(path, temp);
  Result<GdcmPixels> result = Result<GdcmPixels>::failure("cannot start GDCM's decoder process");
  if (child > 0) {
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFSIGNALED(status))
      result = Result<GdcmPixels>::failure("GDCM stopped on the damaged pixel data (" +
                                           std::string(strsignal(WTERMSIG(status))) +
                                           "); the file cannot be decoded");
    else
      result = read_child_result(temp);
  }
  std::remove(temp.c_str());
  return result;
}

}  // namespace medpipe::io_detail
