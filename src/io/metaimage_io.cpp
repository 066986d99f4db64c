// MetaImage (.mha with its data after the header, .mhd with a detached data file): ITK's format,
// as ITK's MetaIO reads it. Debian packages no MetaIO outside ITK itself, and the format is a
// text header of "Key = Value" lines, so it is read here: geometry from ElementSpacing, Offset
// and TransformMatrix (ITK's physical space is LPS, as medpipe's), every MET_ scalar type, either
// byte order, raw or zlib-compressed data.
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "io/bytes.h"
#include "io/formats.h"
#include "io/image_io.h"

namespace medpipe::io_detail {

namespace {

constexpr std::size_t kMaxHeaderBytes = 1 << 16;

struct MetaHeader {
  std::map<std::string, std::string> fields;
  std::uint64_t data_offset = 0;  // of LOCAL data in the header's file
  std::string get(const std::string& key, const std::string& otherwise = "") const {
    auto it = fields.find(key);
    return it == fields.end() ? otherwise : it->second;
  }
  std::vector<double> numbers(const std::string& key) const {
    std::istringstream in(get(key));
    std::vector<double> values;
    for (double v; in >> v;) values.push_back(v);
    return values;
  }
  double first_number(const std::string& key, double otherwise) const {
    const std::vector<double> values = numbers(key);
    return values.empty() ? otherwise : values[0];
  }
  bool flag(const std::string& key) const {
    std::string v = get(key);
    std::transform(v.begin(), v.end(), v.begin(), ::tolower);
    return v == "true" || v == "1";
  }
};

std::string trimmed(const std::string& text) {
  const std::size_t a = text.find_first_not_of(" \t\r");
  if (a == std::string::npos) return "";
  return text.substr(a, text.find_last_not_of(" \t\r") - a + 1);
}

// The header up to and including ElementDataFile (which ends it), within 64 KiB.
Result<MetaHeader> read_header(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  MetaHeader header;
  std::string line;
  std::uint64_t offset = 0;
  while (offset < kMaxHeaderBytes && std::getline(in, line)) {
    offset += line.size() + 1;
    const std::size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = trimmed(line.substr(0, eq));
    header.fields[key] = trimmed(line.substr(eq + 1));
    if (key == "ElementDataFile") {
      header.data_offset = offset;
      return header;
    }
  }
  return Result<MetaHeader>::failure(
      "not a MetaImage file (no ElementDataFile line in its header)");
}

struct MetaType {
  const char* name;
  int bytes;
  bool is_float, is_signed;
};
constexpr MetaType kTypes[] = {
    {"MET_UCHAR", 1, false, false},      {"MET_CHAR", 1, false, true},
    {"MET_USHORT", 2, false, false},     {"MET_SHORT", 2, false, true},
    {"MET_UINT", 4, false, false},       {"MET_INT", 4, false, true},
    {"MET_ULONG", 4, false, false},      {"MET_LONG", 4, false, true},
    {"MET_ULONG_LONG", 8, false, false}, {"MET_LONG_LONG", 8, false, true},
    {"MET_FLOAT", 4, true, true},        {"MET_DOUBLE", 8, true, true}};

const MetaType* find_type(const std::string& name) {
  for (const MetaType& t : kTypes)
    if (name == t.name) return &t;
  return nullptr;
}

float value_at(const unsigned char* p, const MetaType& type, bool big_endian) {
  const std::uint64_t bits = unsigned_at(p, type.bytes, !big_endian);
  if (type.is_float) {
    if (type.bytes == 4) {
      const auto u = static_cast<std::uint32_t>(bits);
      float f;
      std::memcpy(&f, &u, 4);
      return f;
    }
    double d;
    std::memcpy(&d, &bits, 8);
    return static_cast<float>(d);
  }
  if (!type.is_signed) return static_cast<float>(bits);
  const int shift = 64 - 8 * type.bytes;  // sign-extend
  return static_cast<float>(static_cast<std::int64_t>(bits << shift) >> shift);
}

// The data's bytes: `stored` bytes from `offset` of `file`, inflated to `bytes` when compressed.
Result<std::vector<unsigned char>> read_data(const fs::path& file, std::uint64_t offset,
                                             std::size_t bytes, bool compressed) {
  using R = Result<std::vector<unsigned char>>;
  ReadOnlyFile in(file);
  if (!in.ok()) return R::failure("the MetaImage's data file cannot be read");
  const std::uint64_t stored = in.size() > offset ? in.size() - offset : 0;
  // deflate packs at most ~1032:1: a header claiming more is refused before anything is allocated
  if ((compressed ? stored * 1100.0 : static_cast<double>(stored)) < static_cast<double>(bytes))
    return R::failure("the MetaImage's data is shorter than its header's sizes need (a cut file)");
  std::vector<unsigned char> packed(compressed ? stored : bytes);
  if (in.read_at(offset, packed.data(), packed.size()) != packed.size())
    return R::failure("the MetaImage's data file cannot be read");
  if (!compressed) return packed;
  std::vector<unsigned char> out(bytes);
  z_stream z{};
  if (inflateInit2(&z, 15 + 32) != Z_OK) return R::failure("zlib failed");
  z.next_in = packed.data();
  z.avail_in = static_cast<uInt>(std::min<std::uint64_t>(packed.size(), UINT32_MAX));
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(std::min<std::size_t>(bytes, UINT32_MAX));
  const int status = inflate(&z, Z_FINISH);
  const std::size_t got = z.total_out;
  inflateEnd(&z);
  if ((status != Z_STREAM_END && status != Z_OK && status != Z_BUF_ERROR) || got != bytes)
    return R::failure("the MetaImage's compressed data is damaged or shorter than its sizes");
  return out;
}

Result<fs::path> data_file_of(const fs::path& path, const MetaHeader& header) {
  const std::string name = header.get("ElementDataFile");
  if (name == "LOCAL") return path;
  if (name.empty() || name.rfind("LIST", 0) == 0 || name.find(' ') != std::string::npos)
    return Result<fs::path>::failure("a MetaImage with several data files (ElementDataFile " +
                                     name.substr(0, 40) + ") is not supported");
  try {
    return safe_join(path.parent_path(), name, "the MetaImage header's ElementDataFile");
  } catch (const UsageError& e) {
    return Result<fs::path>::failure(e.what());
  }
}

// Spacing, origin and direction; a 2D header's 2 x 2 matrix sits in the 3 x 3 one.
void read_geometry(const MetaHeader& header, int dims, Image& image) {
  std::vector<double> spacing = header.numbers("ElementSpacing");
  if (spacing.empty()) spacing = header.numbers("ElementSize");
  if (static_cast<int>(spacing.size()) >= dims &&
      std::all_of(spacing.begin(), spacing.begin() + dims, [](double s) { return s > 0; })) {
    for (int a = 0; a < dims; ++a) image.spacing_mm[a] = spacing[a];
    image.spacing_known = true;
  }
  for (const char* key : {"Offset", "Origin", "Position"}) {
    const std::vector<double> origin = header.numbers(key);
    if (static_cast<int>(origin.size()) < dims) continue;
    for (int a = 0; a < dims; ++a) image.origin_mm[a] = origin[a];
    break;
  }
  for (const char* key : {"TransformMatrix", "Rotation", "Orientation"}) {
    const std::vector<double> m = header.numbers(key);
    if (static_cast<int>(m.size()) < dims * dims) continue;
    for (int a = 0; a < dims; ++a)  // axis a's direction, as ITK lists them
      for (int k = 0; k < dims; ++k) image.direction[a * 3 + k] = m[a * dims + k];
    break;
  }
}

}  // namespace

Result<Image> read_metaimage(const fs::path& path) {
  using R = Result<Image>;
  Result<MetaHeader> parsed = read_header(path);
  if (!parsed) return R::failure(parsed.error());
  const MetaHeader& header = parsed.value();
  if (header.get("ObjectType", "Image") != "Image")
    return R::failure("a MetaImage of ObjectType " + header.get("ObjectType").substr(0, 40) +
                      "; only Image is read");
  const std::vector<double> sizes = header.numbers("DimSize");
  const double dims_field = header.first_number("NDims", 0);
  const int dims = dims_field == 2 ? 2 : dims_field == 3 ? 3 : 0;  // a wild value is no int
  if (dims == 0 || static_cast<int>(sizes.size()) < dims)
    return R::failure("a MetaImage must have NDims 2 or 3 and as many DimSize values");
  const double channels = header.first_number("ElementNumberOfChannels", 1);
  const double depth = dims == 3 ? sizes[2] : 1;
  if (std::string problem = image_size_problem(sizes[0], sizes[1], depth, channels);
      !problem.empty() || channels < 1 || depth < 1)
    return R::failure(problem.empty() ? "a MetaImage with a size or channel count below 1"
                                      : problem);
  const MetaType* type = find_type(header.get("ElementType"));
  if (!type)
    return R::failure("unsupported MetaImage ElementType " +
                      header.get("ElementType").substr(0, 40));
  if (header.fields.count("BinaryData") && !header.flag("BinaryData"))
    return R::failure("a MetaImage with text data (BinaryData False) is not supported");
  Result<fs::path> data_file = data_file_of(path, header);
  if (!data_file) return R::failure(data_file.error());
  Image image;
  image.source_format = "metaimage";
  image.width = static_cast<int>(sizes[0]);
  image.height = static_cast<int>(sizes[1]);
  image.depth = static_cast<int>(depth);
  image.channels = static_cast<int>(channels);
  const std::size_t bytes = image.value_count() * type->bytes;
  const bool local = data_file.value() == path;
  const double skip = header.first_number("HeaderSize", 0);
  if (!(skip >= -1 && skip < 1e15)) return R::failure("a MetaImage HeaderSize out of range");
  std::uint64_t offset =
      local ? header.data_offset : static_cast<std::uint64_t>(std::max(0.0, skip));
  if (!local && skip < 0) {  // -1: the data is the file's last bytes
    std::error_code ec;
    const std::uint64_t size = fs::file_size(data_file.value(), ec);
    offset = size > bytes ? size - bytes : 0;
  }
  const bool compressed = header.flag("CompressedData");
  Result<std::vector<unsigned char>> data = read_data(data_file.value(), offset, bytes, compressed);
  if (!data) return R::failure(data.error());
  const bool big_endian =
      header.flag("BinaryDataByteOrderMSB") || header.flag("ElementByteOrderMSB");
  image.pixels.resize(image.value_count());
  for (std::size_t i = 0; i < image.pixels.size(); ++i)
    image.pixels[i] = value_at(data.value().data() + i * type->bytes, *type, big_endian);
  read_geometry(header, dims, image);
  return image;
}

namespace {

std::string joined(const double* values, int n) {
  std::ostringstream out;
  out.precision(17);
  for (int i = 0; i < n; ++i) out << (i ? " " : "") << values[i];
  return out.str();
}

std::string header_text(const Image& image, const std::string& data_file, std::size_t packed) {
  const int dims = image.depth > 1 ? 3 : 2;
  double matrix[9];
  for (int a = 0; a < dims; ++a)
    for (int k = 0; k < dims; ++k) matrix[a * dims + k] = image.direction[a * 3 + k];
  const double sizes[3] = {static_cast<double>(image.width), static_cast<double>(image.height),
                           static_cast<double>(image.depth)};
  std::ostringstream h;
  h << "ObjectType = Image\nNDims = " << dims << "\nBinaryData = True\n"
    << "BinaryDataByteOrderMSB = False\n"
    << "CompressedData = " << (packed ? "True" : "False") << "\n";
  if (packed) h << "CompressedDataSize = " << packed << "\n";
  h << "TransformMatrix = " << joined(matrix, dims * dims) << "\n"
    << "Offset = " << joined(image.origin_mm.data(), dims) << "\n"
    << "ElementSpacing = " << joined(image.spacing_mm.data(), dims) << "\n"
    << "DimSize = " << joined(sizes, dims) << "\n";
  if (image.channels > 1) h << "ElementNumberOfChannels = " << image.channels << "\n";
  h << "ElementType = MET_FLOAT\nElementDataFile = " << data_file << "\n";
  return h.str();
}

}  // namespace

// .mha: the header and zlib-compressed float32 data in one file; .mhd: the header and <stem>.raw
// beside it (written first), uncompressed, as ITK writes them by default.
void write_metaimage(const fs::path& path, const Image& image) {
  const auto* raw = reinterpret_cast<const unsigned char*>(image.pixels.data());
  const std::size_t bytes = image.pixels.size() * sizeof(float);  // little-endian on x86 and ARM
  if (full_extension(path) == ".mhd") {
    const std::string data_name = stem_name(path) + ".raw";
    atomic_write_text(path.parent_path() / data_name,
                      std::string_view(reinterpret_cast<const char*>(raw), bytes));
    atomic_write_text(path, header_text(image, data_name, 0));
    return;
  }
  uLongf packed_size = compressBound(bytes);
  std::vector<unsigned char> packed(packed_size);
  if (compress2(packed.data(), &packed_size, raw, bytes, Z_DEFAULT_COMPRESSION) != Z_OK)
    throw RunError("cannot compress " + path.string());
  std::string text = header_text(image, "LOCAL", packed_size);
  text.append(reinterpret_cast<const char*>(packed.data()), packed_size);
  atomic_write_text(path, text);
}

}  // namespace medpipe::io_detail
