#pragma once
// Shared by the .ember fuzzers: a model file's bytes must either load or
// throw ember::Error; what loads must print, and save and load again to the
// same bytes (the format is canonical). Anything else traps.
#include <cstdint>
#include <span>
#include <string>

#include "ember/io/model_file.h"

namespace ember::fuzz {

inline std::span<const uint8_t> as_bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

inline void check_model_round_trip(std::span<const uint8_t> file) {
  graph::Graph g;
  try {
    g = load_model_bytes(file, "<fuzz>");
  } catch (const Error&) {
    return;
  }
  (void)graph::print(g);
  const std::string bytes = to_model_bytes(g);
  const graph::Graph again = load_model_bytes(as_bytes(bytes), "<round trip>");
  if (to_model_bytes(again) != bytes) __builtin_trap();
}

}  // namespace ember::fuzz
