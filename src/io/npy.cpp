#include "io/npy.h"

#include <cstdio>
#include <cstring>
#include <fstream>

#include "io/image_io.h"

namespace medpipe {

namespace {

template <class T>
void convert_values(const std::vector<char>& raw, std::size_t count, std::vector<double>& out) {
  out.resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    T v;
    std::memcpy(&v, raw.data() + i * sizeof(T), sizeof(T));
    out[i] = static_cast<double>(v);
  }
}

std::string header_for(const std::string& descr, const std::vector<std::int64_t>& shape) {
  std::string dims;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    dims += std::to_string(shape[i]) + (shape.size() == 1 || i + 1 < shape.size() ? "," : "");
    if (i + 1 < shape.size()) dims += " ";
  }
  std::string dict =
      "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + dims + "), }";
  std::size_t total = 10 + dict.size() + 1;
  dict.append((64 - total % 64) % 64, ' ');
  dict += '\n';
  std::string header = "\x93NUMPY";
  header += '\x01';
  header += '\x00';
  auto len = static_cast<std::uint16_t>(dict.size());
  header += static_cast<char>(len & 0xff);
  header += static_cast<char>(len >> 8);
  return header + dict;
}

void write_npy(const fs::path& path, const std::string& descr,
               const std::vector<std::int64_t>& shape, const void* data, std::size_t bytes) {
  std::string header = header_for(descr, shape);
  atomic_write(path, [&](const fs::path& temp) {
    std::FILE* f = std::fopen(temp.c_str(), "wb");
    if (!f) throw RunError("cannot write " + path.string());
    bool ok = std::fwrite(header.data(), 1, header.size(), f) == header.size() &&
              std::fwrite(data, 1, bytes, f) == bytes;
    ok &= std::fclose(f) == 0;
    if (!ok) throw RunError("cannot write " + path.string() + ": disk full?");
  });
}

struct NpyHeader {
  std::string dtype;
  std::vector<std::int64_t> shape;
  std::size_t count = 1;  // values
  std::size_t item = 0;   // bytes per value
};

constexpr std::uint32_t kMaxHeaderBytes = 10000;

// The text after `'key':` in a header's dict, up to (not including) the first of `stops`
// (a string value without its opening quote); "" when the key is not there.
std::string dict_entry(const std::string& text, const std::string& key, const char* stops) {
  std::size_t at = text.find("'" + key + "'");
  if (at == std::string::npos) return "";
  at = text.find_first_not_of(" \t", at + key.size() + 2);
  if (at == std::string::npos || text[at] != ':') return "";
  at = text.find_first_not_of(" \t", at + 1);
  if (at == std::string::npos) return "";
  if (text[at] == '\'') ++at;
  const std::size_t end = text.find_first_of(stops, at);
  return end == std::string::npos ? "" : text.substr(at, end - at);
}

// The header of a .npy stream, left positioned at the data.
Result<NpyHeader> read_npy_header(std::istream& in) {
  using R = Result<NpyHeader>;
  char magic[8];
  if (!in.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0)
    return R::failure("not a .npy file (bad magic bytes)");
  std::uint32_t header_len = 0;
  unsigned char len_bytes[4] = {0, 0, 0, 0};
  int len_size = magic[6] == 1 ? 2 : 4;
  if (!in.read(reinterpret_cast<char*>(len_bytes), len_size))
    return R::failure("truncated .npy header");
  for (int i = len_size - 1; i >= 0; --i) header_len = header_len * 256 + len_bytes[i];
  // NumPy itself refuses headers over 10000 bytes: a longer claim is a damaged file, and no
  // allocation follows it
  if (header_len > kMaxHeaderBytes)
    return R::failure("the .npy header claims " + std::to_string(header_len) +
                      " bytes; NumPy writes at most 10000");
  std::string text(header_len, '\0');
  if (!in.read(text.data(), header_len)) return R::failure("truncated .npy header");
  NpyHeader header;
  std::string descr = dict_entry(text, "descr", "'");
  if (descr.empty()) return R::failure("no dtype in the .npy header");
  header.dtype = descr;
  if (dict_entry(text, "fortran_order", ",}").rfind("True", 0) == 0)
    return R::failure(
        "Fortran-ordered .npy arrays are not supported; save with np.ascontiguousarray");
  std::string dims = dict_entry(text, "shape", ")");
  if (dims.empty() || dims[0] != '(') return R::failure("no shape in the .npy header");
  dims = dims.substr(1);
  double values = 1;  // in floating point: a lying header cannot wrap it
  for (std::size_t at = dims.find_first_of("-0123456789"); at != std::string::npos;
       at = dims.find_first_of("-0123456789", at)) {
    const std::size_t end = dims.find_first_not_of("-0123456789", at);
    const std::string text = dims.substr(at, end == std::string::npos ? end : end - at);
    at = end;
    if (text[0] == '-' || text.find('-') != std::string::npos || text.size() > 12)
      return R::failure("the .npy header's shape (" + dims + ") is not an array's");
    header.shape.push_back(std::stoll(text));
    values *= static_cast<double>(header.shape.back());
    header.count *= static_cast<std::size_t>(header.shape.back());
  }
  if (values > max_image_pixels())
    return R::failure("the .npy header's shape (" + dims +
                      ") holds more values than "
                      "max_image_pixels; a damaged file, or raise max_image_pixels");
  if (header.dtype[0] == '>') return R::failure("big-endian .npy arrays are not supported");
  static const std::vector<std::pair<std::string, std::size_t>> sizes = {
      {"b1", 1}, {"u1", 1}, {"i1", 1}, {"u2", 2}, {"i2", 2}, {"u4", 4},
      {"i4", 4}, {"u8", 8}, {"i8", 8}, {"f4", 4}, {"f8", 8}};
  for (const auto& [name, size] : sizes)
    if (name == header.dtype.substr(1)) header.item = size;
  if (!header.item) return R::failure("unsupported .npy dtype " + header.dtype);
  return header;
}

void convert_by_kind(const std::string& kind, const std::vector<char>& raw, std::size_t count,
                     std::vector<double>& out) {
  if (kind == "b1" || kind == "u1")
    convert_values<std::uint8_t>(raw, count, out);
  else if (kind == "i1")
    convert_values<std::int8_t>(raw, count, out);
  else if (kind == "u2")
    convert_values<std::uint16_t>(raw, count, out);
  else if (kind == "i2")
    convert_values<std::int16_t>(raw, count, out);
  else if (kind == "u4")
    convert_values<std::uint32_t>(raw, count, out);
  else if (kind == "i4")
    convert_values<std::int32_t>(raw, count, out);
  else if (kind == "u8")
    convert_values<std::uint64_t>(raw, count, out);
  else if (kind == "i8")
    convert_values<std::int64_t>(raw, count, out);
  else if (kind == "f4")
    convert_values<float>(raw, count, out);
  else
    convert_values<double>(raw, count, out);
}

}  // namespace

Result<NpyArray> read_npy(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Result<NpyArray>::failure("cannot open the file");
  Result<NpyHeader> header = read_npy_header(in);
  if (!header) return Result<NpyArray>::failure(header.error());
  const NpyHeader& h = header.value();
  std::error_code ec;
  const auto file_bytes = fs::file_size(path, ec);
  // the shape is checked against the file before anything is allocated for it
  if (ec || h.count > file_bytes / h.item ||
      h.count * h.item > file_bytes - static_cast<std::uintmax_t>(in.tellg()))
    return Result<NpyArray>::failure(
        "truncated .npy data (the header's shape is larger than "
        "the file)");
  std::vector<char> raw(h.count * h.item);
  if (!in.read(raw.data(), static_cast<std::streamsize>(raw.size())))
    return Result<NpyArray>::failure("truncated .npy data");
  NpyArray array;
  array.dtype = h.dtype;
  array.shape = h.shape;
  convert_by_kind(h.dtype.substr(1), raw, h.count, array.values);
  return array;
}

void write_npy_f32(const fs::path& path, const std::vector<std::int64_t>& shape,
                   const float* data) {
  std::size_t count = 1;
  for (auto d : shape) count *= static_cast<std::size_t>(d);
  write_npy(path, "<f4", shape, data, count * sizeof(float));
}

void write_npy_u8(const fs::path& path, const std::vector<std::int64_t>& shape,
                  const std::uint8_t* data) {
  std::size_t count = 1;
  for (auto d : shape) count *= static_cast<std::size_t>(d);
  write_npy(path, "|u1", shape, data, count);
}

}  // namespace medpipe
