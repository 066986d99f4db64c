// NRRD (.nrrd, and .nhdr with a detached data file) through teem's nrrd library: what 3D Slicer
// and PyRadiomics write. Geometry from "space", "space directions" and "space origin" (RAS and
// LAS converted to medpipe's LPS), else from the axes' spacings. Every type teem reads, raw, gzip,
// bzip2, ASCII or hex, either byte order. teem's error state (biff) is global, so its calls are
// serialised.
#include <teem/nrrd.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>

#include "io/formats.h"
#include "io/image_io.h"

namespace medpipe::io_detail {

namespace {

std::mutex teem_mutex;

struct NrrdHandle {
  Nrrd* nrrd = nrrdNew();
  NrrdIoState* io = nrrdIoStateNew();
  bool owns_data = true;  // false: the data is wrapped, not teem's to free
  ~NrrdHandle() {
    nrrdIoStateNix(io);
    owns_data ? nrrdNuke(nrrd) : nrrdNix(nrrd);
  }
};

// teem's message for the last failure, its first line, and its error state cleared.
std::string teem_error() {
  char* text = biffGetDone(NRRD);
  std::string message = text ? text : "";
  std::free(text);
  // the innermost reason is the last line: "[nrrd] _nrrdReadNrrdParse_sizes: ..."
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  message = message.substr(message.rfind('\n') + 1);
  if (const std::size_t colon = message.find(": "); colon != std::string::npos)
    message = message.substr(colon + 2);
  return message.empty() ? "not a readable NRRD file" : "not a readable NRRD file: " + message;
}

// The data file a header names, checked before teem opens it: one file beside the header (the
// safe join), or "" for data in the file itself.
Result<fs::path> detached_data_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string line;
  std::size_t read = 0;
  while (std::getline(in, line) && read < (1u << 20)) {
    read += line.size() + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) break;  // the end of an attached header
    for (const char* key : {"data file:", "datafile:"}) {
      if (line.rfind(key, 0) != 0) continue;
      std::istringstream fields(line.substr(std::string(key).size()));
      std::string name, extra;
      fields >> name;
      if (name == "LIST" || (fields >> extra))
        return Result<fs::path>::failure("a NRRD with several data files is not supported");
      try {
        return safe_join(path.parent_path(), name, "the NRRD header's data file");
      } catch (const UsageError& e) {
        return Result<fs::path>::failure(std::string(e.what()) +
                                         "; name a data file beside the header, relative to it");
      }
    }
  }
  return fs::path();
}

// The axes' sizes checked against max_image_pixels and against the bytes the data can hold
// before teem allocates them.
std::string size_problem(const Nrrd& header, const fs::path& path, const fs::path& data_file,
                         const NrrdIoState& io) {
  if (header.dim < 1 || header.dim > 4) return "a NRRD of " + std::to_string(header.dim) + " axes";
  double values = 1;
  for (unsigned a = 0; a < header.dim; ++a) values *= static_cast<double>(header.axis[a].size);
  if (std::string problem = image_size_problem(values, 1, 1, 1); !problem.empty()) return problem;
  if (header.type < nrrdTypeChar || header.type > nrrdTypeDouble)
    return "a NRRD of an unsupported type";
  std::error_code ec;
  const double stored =
      static_cast<double>(fs::file_size(data_file.empty() ? path : data_file, ec));
  if (ec) return "the NRRD's data file cannot be read";
  const double bytes = values * nrrdTypeSize[header.type];
  // deflate packs at most ~1032:1; bzip2 and text are only bounded by the header's own size
  const double fits = io.encoding == nrrdEncodingRaw    ? stored
                      : io.encoding == nrrdEncodingGzip ? stored * 1100.0
                                                        : bytes;
  if (fits < bytes) return "the NRRD's data is shorter than its header's sizes need (a cut file)";
  return "";
}

template <class T>
void to_float(const void* data, std::size_t count, std::vector<float>& out) {
  const T* p = static_cast<const T*>(data);
  out.resize(count);
  for (std::size_t i = 0; i < count; ++i) out[i] = static_cast<float>(p[i]);
}

void convert_values(const Nrrd& nrrd, std::size_t count, std::vector<float>& out) {
  switch (nrrd.type) {
    case nrrdTypeChar:
      return to_float<signed char>(nrrd.data, count, out);
    case nrrdTypeUChar:
      return to_float<unsigned char>(nrrd.data, count, out);
    case nrrdTypeShort:
      return to_float<short>(nrrd.data, count, out);
    case nrrdTypeUShort:
      return to_float<unsigned short>(nrrd.data, count, out);
    case nrrdTypeInt:
      return to_float<int>(nrrd.data, count, out);
    case nrrdTypeUInt:
      return to_float<unsigned int>(nrrd.data, count, out);
    case nrrdTypeLLong:
      return to_float<long long>(nrrd.data, count, out);
    case nrrdTypeULLong:
      return to_float<unsigned long long>(nrrd.data, count, out);
    case nrrdTypeFloat:
      return to_float<float>(nrrd.data, count, out);
    default:
      return to_float<double>(nrrd.data, count, out);
  }
}

// LPS from the file's space: RAS and LAS flip x and/or y; LPS, scanner-xyz and unnamed spaces are
// taken as they are.
std::array<double, 3> to_lps(int space) {
  switch (space) {
    case nrrdSpaceRightAnteriorSuperior:
    case nrrdSpaceRightAnteriorSuperiorTime:
      return {-1, -1, 1};
    case nrrdSpaceLeftAnteriorSuperior:
    case nrrdSpaceLeftAnteriorSuperiorTime:
      return {1, -1, 1};
    default:
      return {1, 1, 1};
  }
}

// Spacing, direction and origin of the spatial axes (first_spatial.. up to three).
void read_geometry(const Nrrd& nrrd, unsigned first_spatial, Image& image) {
  const unsigned spatial = std::min(3u, nrrd.dim - first_spatial);
  const std::array<double, 3> sign = to_lps(nrrd.space);
  if (nrrd.spaceDim > 0) {
    image.spacing_known = true;
    for (unsigned a = 0; a < spatial; ++a) {
      const double* v = nrrd.axis[first_spatial + a].spaceDirection;
      double norm = 0;
      for (unsigned k = 0; k < std::min(3u, nrrd.spaceDim); ++k) norm += v[k] * v[k];
      norm = std::sqrt(norm);
      if (!(norm > 0)) {
        image.spacing_known = false;
        continue;
      }
      image.spacing_mm[a] = norm;
      for (unsigned k = 0; k < 3; ++k)
        image.direction[a * 3 + k] = k < nrrd.spaceDim ? sign[k] * v[k] / norm : 0.0;
    }
    for (unsigned k = 0; k < std::min(3u, nrrd.spaceDim); ++k) {
      if (std::isfinite(nrrd.spaceOrigin[k])) image.origin_mm[k] = sign[k] * nrrd.spaceOrigin[k];
    }
    if (spatial == 2) {  // a slice: the third axis is the normal
      const double* d = image.direction.data();
      image.direction[6] = d[1] * d[5] - d[2] * d[4];
      image.direction[7] = d[2] * d[3] - d[0] * d[5];
      image.direction[8] = d[0] * d[4] - d[1] * d[3];
    }
    return;
  }
  for (unsigned a = 0; a < spatial; ++a) {
    const double s = nrrd.axis[first_spatial + a].spacing;
    if (std::isfinite(s) && s > 0) {
      image.spacing_mm[a] = s;
      image.spacing_known = true;
    }
  }
}

Result<Image> image_from_nrrd(const Nrrd& nrrd) {
  // a first axis that is not a spatial domain (RGB, a vector, a list) holds the channels
  // (or one without a space direction where the others have one)
  const NrrdAxisInfo& axis0 = nrrd.axis[0];
  const bool channels_first =
      nrrd.dim == 4 ||
      (nrrd.dim == 3 &&
       ((axis0.kind != nrrdKindUnknown && !nrrdKindIsDomain(axis0.kind)) ||
        (nrrd.spaceDim > 0 && !nrrdSpaceVecExists(nrrd.spaceDim, axis0.spaceDirection))));
  const unsigned first = channels_first ? 1 : 0;
  if (nrrd.dim - first < 2)
    return Result<Image>::failure("a NRRD of one spatial axis; images have two or three");
  Image image;
  image.source_format = "nrrd";
  image.channels = channels_first ? static_cast<int>(nrrd.axis[0].size) : 1;
  image.width = static_cast<int>(nrrd.axis[first].size);
  image.height = static_cast<int>(nrrd.axis[first + 1].size);
  image.depth = nrrd.dim - first >= 3 ? static_cast<int>(nrrd.axis[first + 2].size) : 1;
  read_geometry(nrrd, first, image);
  convert_values(nrrd, image.value_count(), image.pixels);
  return image;
}

}  // namespace

Result<Image> read_nrrd(const fs::path& path) {
  Result<fs::path> data_file = detached_data_file(path);
  if (!data_file) return Result<Image>::failure(data_file.error());
  std::lock_guard<std::mutex> lock(teem_mutex);
  nrrdStateVerboseIO = 0;
  {
    NrrdHandle header;
    nrrdIoStateSet(header.io, nrrdIoStateSkipData, AIR_TRUE);
    if (nrrdLoad(header.nrrd, path.c_str(), header.io) != 0)
      return Result<Image>::failure(teem_error());
    if (std::string problem = size_problem(*header.nrrd, path, data_file.value(), *header.io);
        !problem.empty())
      return Result<Image>::failure(problem);
  }
  NrrdHandle whole;
  if (nrrdLoad(whole.nrrd, path.c_str(), whole.io) != 0 || !whole.nrrd->data)
    return Result<Image>::failure(teem_error());
  return image_from_nrrd(*whole.nrrd);
}

namespace {

// nrrdSave to `target`, whose extension picks attached (.nrrd) or detached (.nhdr) data.
void save_nrrd(const fs::path& target, const fs::path& path, const Image& image) {
  std::vector<float> values = image.pixels;
  std::vector<std::size_t> sizes;
  if (image.channels > 1) sizes.push_back(image.channels);
  sizes.push_back(image.width);
  sizes.push_back(image.height);
  if (image.depth > 1) sizes.push_back(image.depth);
  const unsigned first = image.channels > 1 ? 1 : 0;
  std::lock_guard<std::mutex> lock(teem_mutex);
  NrrdHandle out;
  out.owns_data = false;
  if (nrrdWrap_nva(out.nrrd, values.data(), nrrdTypeFloat, sizes.size(), sizes.data()) != 0 ||
      nrrdSpaceSet(out.nrrd, nrrdSpaceLeftPosteriorSuperior) != 0 ||
      nrrdSpaceOriginSet(out.nrrd, image.origin_mm.data()) != 0)
    throw RunError("cannot write " + path.string() + ": " + teem_error());
  if (first) out.nrrd->axis[0].kind = image.channels == 3 ? nrrdKindRGBColor : nrrdKindVector;
  for (unsigned a = 0; a + first < sizes.size(); ++a) {
    NrrdAxisInfo& axis = out.nrrd->axis[a + first];
    axis.kind = nrrdKindSpace;
    for (int k = 0; k < 3; ++k)
      axis.spaceDirection[k] = image.direction[a * 3 + k] * image.spacing_mm[a];
  }
  out.io->encoding = nrrdEncodingGzip;
  out.io->skipFormatURL = AIR_TRUE;
  if (nrrdSave(target.c_str(), out.nrrd, out.io) != 0)
    throw RunError("cannot write " + path.string() + ": " + teem_error());
}

}  // namespace

void write_nrrd(const fs::path& path, const Image& image) {
  if (full_extension(path) == ".nrrd") {
    atomic_write(path, [&](const fs::path& temp) {
      fs::path named = temp;  // teem picks the format from the name
      named += ".nrrd";
      save_nrrd(named, path, image);
      fs::rename(named, temp);
    });
    return;
  }
  // a detached header names its data file after itself (x.nhdr -> x.raw.gz): both are written in
  // a private folder beside the target, then each renamed into place, the data file first
  const fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  ensure_writable_dir(dir, "output folder");
  fs::path staging = dir / path.filename();
  staging += ".tmp." + std::to_string(::getpid()) + ".nhdr-staging";
  std::error_code ec;
  fs::create_directory(staging, ec);
  try {
    save_nrrd(staging / path.filename(), path, image);
    for (const auto& entry : fs::directory_iterator(staging)) {
      if (entry.path().filename() != path.filename())
        fs::rename(entry.path(), dir / entry.path().filename());
    }
    fs::rename(staging / path.filename(), path);
  } catch (const fs::filesystem_error& e) {
    fs::remove_all(staging, ec);
    throw RunError("cannot write " + path.string() + ": " + e.code().message());
  } catch (...) {
    fs::remove_all(staging, ec);
    throw;
  }
  fs::remove_all(staging, ec);
}

}  // namespace medpipe::io_detail
