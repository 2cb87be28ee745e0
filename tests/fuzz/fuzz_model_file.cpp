// libFuzzer target for the .ember model loader (on top of the safetensors
// reader): any byte string must either load or throw ember::Error, never
// crash, hang or leak. What loads must print, and save and load again to
// the same bytes (the format is canonical).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "ember/io/model_file.h"

namespace {

std::span<const uint8_t> as_bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ember::graph::Graph g;
  try {
    g = ember::load_model_bytes(std::span<const uint8_t>(data, size), "<fuzz>");
  } catch (const ember::Error&) {
    return 0;
  }
  (void)ember::graph::print(g);
  const std::string bytes = ember::to_model_bytes(g);
  const ember::graph::Graph again = ember::load_model_bytes(as_bytes(bytes), "<round trip>");
  if (ember::to_model_bytes(again) != bytes) __builtin_trap();
  return 0;
}
