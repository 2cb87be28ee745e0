// libFuzzer target for the .ember model loader (on top of the safetensors
// reader): any byte string must either load or throw ember::Error, never
// crash, hang or leak. What loads must print, and save and load again to
// the same bytes (the format is canonical).
#include <cstddef>
#include <cstdint>

#include "model_round_trip.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ember::fuzz::check_model_round_trip({data, size});
  return 0;
}
