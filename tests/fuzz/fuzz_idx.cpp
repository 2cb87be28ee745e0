// libFuzzer target for the IDX reader (raw and gzip): any byte string must
// either parse or throw ember::Error, never crash, hang or leak.
#include <cstddef>
#include <cstdint>
#include <span>

#include "ember/data/idx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const ember::Tensor t = ember::data::parse_idx(std::span<const uint8_t>(data, size), "<fuzz>");
    // Touch every element so a wrong size or offset shows up under ASan.
    if (t.numel() > 0) (void)t.to(ember::DType::f64).sum().item<double>();
  } catch (const ember::Error&) {
  }
  return 0;
}
