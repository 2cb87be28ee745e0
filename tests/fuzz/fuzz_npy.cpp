// libFuzzer target for the .npy reader: any byte string must either parse or
// throw ember::Error, never crash, hang or leak; what parses writes back to
// a file that parses to the same tensor.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "ember/io/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ember::Tensor t;
  try {
    t = ember::io::parse_npy(std::span<const uint8_t>(data, size), "<fuzz>");
  } catch (const ember::Error&) {
    return 0;
  }
  const std::string bytes = ember::io::to_npy_bytes(t);
  const ember::Tensor again = ember::io::parse_npy(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), "<round trip>");
  const size_t n = size_t(t.numel()) * t.itemsize();
  if (again.dtype() != t.dtype() || again.sizes() != t.sizes() ||
      (n > 0 && std::memcmp(again.raw_data(), t.raw_data(), n) != 0))
    __builtin_trap();
  return 0;
}
