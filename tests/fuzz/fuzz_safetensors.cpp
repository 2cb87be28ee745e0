// libFuzzer target for the safetensors reader and the checkpoint reader on
// top of it: any byte string must either parse or throw ember::Error, never
// crash, hang or leak. What parses must survive a write/read round trip.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "ember/io/checkpoint.h"
#include "ember/io/safetensors.h"

namespace {

bool same_bytes(const ember::Tensor& a, const ember::Tensor& b) {
  const size_t n = size_t(a.numel()) * a.itemsize();
  return a.dtype() == b.dtype() && a.sizes() == b.sizes() &&
         (n == 0 || std::memcmp(a.raw_data(), b.raw_data(), n) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ember::io::SafetensorsContents parsed;
  try {
    parsed = ember::io::parse_safetensors(std::span<const uint8_t>(data, size), "<fuzz>");
  } catch (const ember::Error&) {
    return 0;
  }
  const std::string bytes = ember::io::to_safetensors_bytes(parsed.tensors, parsed.metadata);
  const auto again = ember::io::parse_safetensors(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), "<round trip>");
  if (again.metadata != parsed.metadata || again.tensors.size() != parsed.tensors.size()) __builtin_trap();
  for (const auto& [name, t] : parsed.tensors)
    if (!again.tensors.contains(name) || !same_bytes(again.tensors.at(name), t)) __builtin_trap();
  try {
    (void)ember::io::checkpoint_from_safetensors(std::move(parsed), "<fuzz>");
  } catch (const ember::Error&) {
  }
  return 0;
}
