// io/bytes.h (internal to io): an unsigned field of `bytes` bytes (at most 8) stored at `p`,
// little- or big-endian: how the header checks of every format read their fields.
#pragma once
#include <cstdint>

namespace medpipe::io_detail {

inline std::uint64_t unsigned_at(const void* p, int bytes, bool little) {
  const auto* b = static_cast<const unsigned char*>(p);
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | b[little ? bytes - 1 - i : i];
  return v;
}

}  // namespace medpipe::io_detail
