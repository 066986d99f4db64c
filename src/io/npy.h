// io/npy.h: NumPy .npy arrays (format 1.0-3.0), little-endian numeric dtypes.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/fs.h"

namespace medpipe {

struct NpyArray {
  std::vector<std::int64_t> shape;
  std::string dtype;           // numpy descr, e.g. "<f4", "|u1", "|b1"
  std::vector<double> values;  // converted, C order
};

Result<NpyArray> read_npy(const fs::path& path);
// Writes float32 ("<f4") or uint8 ("|u1") data, C order, atomically.
void write_npy_f32(const fs::path& path, const std::vector<std::int64_t>& shape, const float* data);
void write_npy_u8(const fs::path& path, const std::vector<std::int64_t>& shape,
                  const std::uint8_t* data);

}  // namespace medpipe
