// `ember run model.ember --input x.npy`: runs an .ember model file on tensors
// from .npy or .safetensors files and prints or saves its outputs.
#include <algorithm>
#include <cstdio>
#include <iostream>

#include "args.h"
#include "commands.h"
#include "ember/graph/executor.h"
#include "ember/io/model_file.h"
#include "ember/io/npy.h"
#include "ember/io/safetensors.h"
#include "graph_summary.h"

namespace ember::cli {
namespace {

bool ends_with(const std::string& s, std::string_view suffix) { return s.ends_with(suffix); }

// One tensor per file: an .npy array, or a .safetensors file holding one tensor.
Tensor read_input(const std::string& path) {
  if (ends_with(path, ".npy")) return io::load_npy(path);
  if (ends_with(path, ".safetensors")) {
    const io::TensorMap tensors = io::load_safetensors(path);
    EMBER_CHECK(tensors.size() == 1, ValueError, path, ": holds ", tensors.size(),
                " tensors; an --input file holds one");
    return tensors.begin()->second;
  }
  throw UsageError("ember run: --input " + path + ": expected a .npy or .safetensors file");
}

// The first few values, as PyTorch abbreviates a long tensor.
std::string preview(const Tensor& t) {
  constexpr int64_t kShown = 6;
  const Tensor flat = t.reshape({-1});
  const std::vector<double> values = flat.narrow(0, 0, std::min(kShown, flat.numel())).to_vector<double>();
  std::string s = "[";
  char buffer[32];
  for (size_t i = 0; i < values.size(); ++i) {
    std::snprintf(buffer, sizeof buffer, "%s%.6g", i ? ", " : "", values[i]);
    s += buffer;
  }
  return s + (flat.numel() > kShown ? ", ...]" : "]");
}

}  // namespace

int run_model(int argc, const char* const* argv) {
  ArgParser args("ember run", "MODEL",
                 "Run an .ember model file (from `ember export` or ember::save) on input tensors and print\n"
                 "each output's dtype, shape and first values, or save the outputs.");
  args.flag("--input", "FILE", "an input tensor (.npy, or .safetensors holding one tensor); one per model input, in order");
  args.flag("-o", "FILE", "save the outputs: .safetensors (output0, output1, ...) or .npy (one output)");
  if (!args.parse(argc, argv, std::cout)) return 0;
  if (args.positional().size() != 1) throw UsageError("ember run: expected one MODEL file");
  const std::string& path = args.positional()[0];
  const auto out = args.get("-o");
  if (out && !ends_with(*out, ".npy") && !ends_with(*out, ".safetensors"))
    throw UsageError("ember run: -o " + *out + ": expected a .npy or .safetensors file name");

  graph::Executor executor(load(path));
  const graph::Graph& g = executor.graph();
  TensorList inputs;
  for (const std::string& file : args.get_all("--input")) inputs.push_back(read_input(file));
  if (inputs.size() != g.inputs.size())
    throw UsageError("ember run: " + path + " takes " + std::to_string(g.inputs.size()) + " input" +
                     (g.inputs.size() == 1 ? "" : "s") + " (" + describe_inputs(g) + "), got " +
                     std::to_string(inputs.size()) + " --input file" + (inputs.size() == 1 ? "" : "s"));
  const TensorList outputs = executor.run(inputs);

  if (out && ends_with(*out, ".npy")) {
    EMBER_CHECK(outputs.size() == 1, ValueError, "-o ", *out, ": the model has ", outputs.size(),
                " outputs; save them to a .safetensors file");
    io::save_npy(*out, outputs[0]);
  } else if (out) {
    io::TensorMap named;
    for (size_t i = 0; i < outputs.size(); ++i) named.emplace("output" + std::to_string(i), outputs[i]);
    io::save_safetensors(*out, named);
  }
  for (size_t i = 0; i < outputs.size(); ++i)
    std::printf("output%zu: %s%s%s\n", i, outputs[i].meta_str().c_str(), out ? "" : "  ",
                out ? "" : preview(outputs[i]).c_str());
  if (out) std::printf("saved to %s\n", out->c_str());
  return 0;
}

}  // namespace ember::cli
