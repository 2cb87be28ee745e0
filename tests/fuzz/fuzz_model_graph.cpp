// libFuzzer target for the .ember graph validator: the input is the graph
// JSON itself (fuzz_model_file's mutations mostly break the safetensors
// framing around it), wrapped with the few tensors the seeds name. Any input
// must load or throw ember::Error; what loads must save and load again to
// the same bytes.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "ember/io/safetensors.h"
#include "ember/ops/creation.h"
#include "model_round_trip.h"

namespace {

// The tensors of tests/fuzz/corpus/fuzz_model_graph's seeds (make_corpus.py).
const ember::io::TensorMap& seed_tensors() {
  static const ember::io::TensorMap tensors = {
      {"fc.weight", ember::ones({4, 3})},
      {"fc.bias", ember::zeros({4})},
      {"two", ember::scalar_tensor(2.0, ember::DType::f64)},
      {"ten", ember::scalar_tensor(int64_t(10))},
      {"one", ember::scalar_tensor(int64_t(1))},
      {"conv.weight", ember::ones({3, 2, 3, 3})},
      {"conv.bias", ember::zeros({3})},
  };
  return tensors;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string graph(reinterpret_cast<const char*>(data), size);
  // Only the tensors the graph names: unused ones are an error of their own.
  ember::io::TensorMap tensors;
  for (const auto& [key, tensor] : seed_tensors())
    if (graph.find("\"" + key + "\"") != std::string::npos) tensors.emplace(key, tensor);
  std::string file;
  try {
    file = ember::io::to_safetensors_bytes(tensors, {{"format", "ember"}, {"format_version", "1"}, {"graph", graph}});
  } catch (const std::exception&) {  // not UTF-8: no safetensors file can hold it (this harness's framing)
    return 0;
  }
  ember::fuzz::check_model_round_trip(ember::fuzz::as_bytes(file));
  return 0;
}
