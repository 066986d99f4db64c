// NIfTI-1 and NIfTI-2 through niftilib (nifti2_io reads both). scl_slope/inter applied.
#include <nifti2_io.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>

#include "io/bytes.h"
#include "io/formats.h"
#include "io/image_io.h"

namespace medpipe::io_detail {

namespace {
struct NiftiDeleter {
  void operator()(nifti_image* p) const { nifti_image_free(p); }
};

template <class T>
void convert(const void* data, std::size_t count, std::vector<float>& out, double slope,
             double inter) {
  const T* p = static_cast<const T*>(data);
  out.resize(count);
  for (std::size_t i = 0; i < count; ++i) out[i] = static_cast<float>(p[i] * slope + inter);
}
// The voxels as floats, rescaled; false for a data type medpipe does not read.
bool convert_values(const nifti_image& nim, double slope, double inter, std::vector<float>& out) {
  const std::size_t count = static_cast<std::size_t>(nim.nvox);
  switch (nim.datatype) {
    case NIFTI_TYPE_UINT8:
      convert<uint8_t>(nim.data, count, out, slope, inter);
      break;
    case NIFTI_TYPE_INT8:
      convert<int8_t>(nim.data, count, out, slope, inter);
      break;
    case NIFTI_TYPE_UINT16:
      convert<uint16_t>(nim.data, count, out, slope, inter);
      break;
    case NIFTI_TYPE_INT16:
      convert<int16_t>(nim.data, count, out, slope, inter);
      break;
    case NIFTI_TYPE_UINT32:
      convert<uint32_t>(nim.data, count, out, slope, inter);
      break;
    case NIFTI_TYPE_INT32:
      convert<int32_t>(nim.data, count, out, slope, inter);
      break;
    case NIFTI_TYPE_INT64:
      convert<int64_t>(nim.data, count, out, slope, inter);
      break;
    case NIFTI_TYPE_FLOAT32:
      convert<float>(nim.data, count, out, slope, inter);
      break;
    case NIFTI_TYPE_FLOAT64:
      convert<double>(nim.data, count, out, slope, inter);
      break;
    default:
      return false;
  }
  return true;
}

// The raw header's own fields, checked before niftilib meets them (its NIfTI-2 reader trusts
// dim[0] and writes past its arrays): the version, the number of dimensions, each dimension,
// the data type. zlib reads .nii and .nii.gz alike.
std::string raw_header_problem(const fs::path& path) {
  unsigned char h[540] = {};
  gzFile file = gzopen(path.c_str(), "rb");
  if (!file) return "cannot read the file";
  const int got = gzread(file, h, sizeof h);
  gzclose(file);
  auto field = [&](int at, int bytes, bool swap) {
    // little-endian as stored, or swapped; signed, as the header's fields are
    const auto v = static_cast<std::int64_t>(unsigned_at(h + at, bytes, !swap));
    if (bytes == 2) return std::int64_t{static_cast<std::int16_t>(v)};
    if (bytes == 4) return std::int64_t{static_cast<std::int32_t>(v)};
    return v;
  };
  if (got < 348) return "not a NIfTI file (shorter than its header)";
  const bool swap = field(0, 4, false) != 348 && field(0, 4, false) != 540;
  const std::int64_t header_bytes = field(0, 4, swap);
  if (header_bytes != 348 && !(header_bytes == 540 && got == 540))
    return "not a NIfTI file (its header size is neither 348 nor 540)";
  const bool v2 = header_bytes == 540;
  const int dim_at = v2 ? 16 : 40, dim_bytes = v2 ? 8 : 2;
  const std::int64_t dims = field(dim_at, dim_bytes, swap);
  if (dims < 1 || dims > 7) return "the NIfTI header's dim[0] is not 1 to 7";
  for (int i = 1; i <= dims; ++i)
    if (field(dim_at + i * dim_bytes, dim_bytes, swap) < 1)
      return "the NIfTI header has a dimension below 1";
  const std::int64_t datatype = field(v2 ? 12 : 70, 2, swap);
  nifti_image probe{};  // the types convert_values reads, asked with no voxels
  probe.datatype = static_cast<int>(datatype);
  std::vector<float> none;
  if (!convert_values(probe, 1.0, 0.0, none))
    return "unsupported NIfTI data type " + std::to_string(datatype);
  return "";
}

// The header first: its dimensions are checked before the data is read.
std::string header_problem(const fs::path& path) {
  if (std::string problem = raw_header_problem(path); !problem.empty()) return problem;
  std::unique_ptr<nifti_image, NiftiDeleter> header(nifti_image_read(path.c_str(), 0));
  if (!header) return "not a readable NIfTI file";
  std::string problem = image_size_problem(
      static_cast<double>(header->nx), static_cast<double>(std::max<int64_t>(1, header->ny)),
      static_cast<double>(std::max<int64_t>(1, header->nz)),
      static_cast<double>(std::max<int64_t>(1, header->nt)) *
          static_cast<double>(std::max<int64_t>(1, header->nu)));
  if (!problem.empty()) return problem;
  std::error_code ec;
  const double bytes = static_cast<double>(header->nvox) * header->nbyper;
  if (full_extension(path) == ".nii" &&
      static_cast<double>(fs::file_size(path, ec)) < header->iname_offset + bytes)
    return "the NIfTI file is shorter than its header's dimensions need (a cut file)";
  return "";
}

}  // namespace

Result<Image> read_nifti(const fs::path& path) {
  nifti_set_debug_level(0);
  if (std::string problem = header_problem(path); !problem.empty())
    return Result<Image>::failure(problem);
  std::unique_ptr<nifti_image, NiftiDeleter> nim(nifti_image_read(path.c_str(), 1));
  if (!nim || !nim->data) return Result<Image>::failure("not a readable NIfTI file");
  if (nim->nt > 1 || nim->nu > 1) return Result<Image>::failure("4D/5D NIfTI is not supported");
  Image image;
  image.source_format = "nifti";
  image.width = static_cast<int>(nim->nx);
  image.height = static_cast<int>(std::max<int64_t>(1, nim->ny));
  image.depth = static_cast<int>(std::max<int64_t>(1, nim->nz));
  image.spacing_mm = {std::fabs(nim->dx), std::fabs(nim->dy),
                      nim->nz > 1 ? std::fabs(nim->dz) : 1.0};
  image.spacing_known = nim->dx > 0;
  double slope = nim->scl_slope != 0 && std::isfinite(nim->scl_slope) ? nim->scl_slope : 1.0;
  double inter = std::isfinite(nim->scl_inter) && nim->scl_slope != 0 ? nim->scl_inter : 0.0;
  if (!convert_values(*nim, slope, inter, image.pixels))
    return Result<Image>::failure("unsupported NIfTI data type " + std::to_string(nim->datatype));
  // Orientation from the sform/qform matrix. NIfTI's world is RAS+; medpipe's Image, like
  // DICOM and ITK, is LPS+: x and y change sign.
  nifti_dmat44 m = nim->sform_code > 0 ? nim->sto_xyz : nim->qto_xyz;
  const double ras_to_lps[3] = {-1, -1, 1};
  for (int col = 0; col < 3; ++col) {
    double sp = image.spacing_mm[col] > 0 ? image.spacing_mm[col] : 1.0;
    for (int row = 0; row < 3; ++row)
      image.direction[col * 3 + row] = ras_to_lps[row] * m.m[row][col] / sp;
  }
  image.origin_mm = {-m.m[0][3], -m.m[1][3], m.m[2][3]};
  return image;
}

void write_nifti(const fs::path& path, const Image& image) {
  if (image.channels != 1)
    throw UsageError("cannot write " + path.string() + ": NIfTI output takes one channel");
  int64_t dims[8] = {image.depth > 1 ? 3 : 2, image.width, image.height, image.depth, 1, 1, 1, 1};
  // values that are all bytes (a mask, an 8-bit image) are stored as bytes: the same values read
  // back, a quarter of the size to write and compress (a 512^2 x 300 mask: 79 MB, not 315)
  const bool bytes = std::all_of(image.pixels.begin(), image.pixels.end(),
                                 [](float v) { return v >= 0 && v <= 255 && v == std::floor(v); });
  std::unique_ptr<nifti_image, NiftiDeleter> nim(
      nifti_make_new_nim(dims, bytes ? NIFTI_TYPE_UINT8 : NIFTI_TYPE_FLOAT32, 1));
  if (!nim) throw RunError("cannot allocate a NIfTI image for " + path.string());
  if (bytes)
    std::transform(image.pixels.begin(), image.pixels.end(), static_cast<std::uint8_t*>(nim->data),
                   [](float v) { return static_cast<std::uint8_t>(v); });
  else
    std::copy(image.pixels.begin(), image.pixels.end(), static_cast<float*>(nim->data));
  nim->dx = nim->pixdim[1] = image.spacing_mm[0];
  nim->dy = nim->pixdim[2] = image.spacing_mm[1];
  nim->dz = nim->pixdim[3] = image.spacing_mm[2];
  nifti_dmat44 m{};  // LPS (Image) to RAS (NIfTI)
  const double lps_to_ras[3] = {-1, -1, 1};
  for (int col = 0; col < 3; ++col) {
    for (int row = 0; row < 3; ++row)
      m.m[row][col] = lps_to_ras[row] * image.direction[col * 3 + row] * image.spacing_mm[col];
    m.m[col][3] = lps_to_ras[col] * image.origin_mm[col];
  }
  m.m[3][3] = 1;
  nim->sform_code = nim->qform_code = NIFTI_XFORM_SCANNER_ANAT;
  nim->sto_xyz = m;
  nim->sto_ijk = nifti_dmat44_inverse(m);
  nifti_dmat44_to_quatern(m, &nim->quatern_b, &nim->quatern_c, &nim->quatern_d, &nim->qoffset_x,
                          &nim->qoffset_y, &nim->qoffset_z, nullptr, nullptr, nullptr, &nim->qfac);
  nim->qto_xyz = m;
  nim->qto_ijk = nim->sto_ijk;
  atomic_write(path, [&](const fs::path& temp) {
    // niftilib picks compression from the name: keep the real extension on the temp file.
    fs::path named = temp;
    named += full_extension(path);
    if (nifti_set_filenames(nim.get(), named.c_str(), 0, 1) != 0)
      throw RunError("bad NIfTI name " + path.string());
    nifti_image_write(nim.get());
    std::error_code ec;
    fs::rename(named, temp, ec);
    if (ec) throw RunError("cannot write " + path.string());
  });
}

}  // namespace medpipe::io_detail
