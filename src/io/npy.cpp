#include "io/npy.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <regex>

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
  std::string text(header_len, '\0');
  if (!in.read(text.data(), header_len)) return R::failure("truncated .npy header");
  std::smatch m;
  NpyHeader header;
  if (!std::regex_search(text, m, std::regex("'descr':\\s*'([^']+)'")))
    return R::failure("no dtype in the .npy header");
  header.dtype = m[1];
  if (std::regex_search(text, m, std::regex("'fortran_order':\\s*True")))
    return R::failure(
        "Fortran-ordered .npy arrays are not supported; save with np.ascontiguousarray");
  if (!std::regex_search(text, m, std::regex("'shape':\\s*\\(([^)]*)\\)")))
    return R::failure("no shape in the .npy header");
  std::string dims = m[1];
  static const std::regex digits("-?\\d+");
  double values = 1;  // in floating point: a lying header cannot wrap it
  for (std::sregex_iterator it(dims.begin(), dims.end(), digits), end; it != end; ++it) {
    const std::string text = it->str();
    if (text[0] == '-' || text.size() > 12)
      return R::failure("the .npy header's shape " + dims + " is not an array's");
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
