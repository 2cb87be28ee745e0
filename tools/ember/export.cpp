// `ember export CHECKPOINT -o model.ember`: a trained model as a graph file
// that `ember run` (or any program linking Ember) runs without its recipe.
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "args.h"
#include "commands.h"
#include "ember/autograd/autograd.h"
#include "ember/graph/jit.h"
#include "ember/io/checkpoint.h"
#include "ember/io/model_file.h"
#include "ember/ops/creation.h"
#include "format.h"
#include "graph_summary.h"

namespace ember::cli {

TrainedModel load_trained_model(const std::string& path) {
  io::Checkpoint ckpt = io::load_checkpoint(path, {.required_sections = {"model"}});
  const auto config = ckpt.info.find("config");
  EMBER_CHECK(config != ckpt.info.end(), FormatError, path,
              ": holds no recipe (info.config); was it written by `ember train`?");
  const Json json = Json::parse(config->second, nullptr, /*allow_exceptions=*/false);
  EMBER_CHECK(!json.is_discarded(), FormatError, path, ": info.config is not valid JSON");
  const auto recipe_name = ckpt.info.find("recipe");
  Recipe recipe =
      recipe_from_json(json, recipe_name != ckpt.info.end() ? recipe_name->second : path, path + ": info.config");
  nn::AnyModule model = build_model(recipe);
  model.module().load_state_dict(ckpt.section("model").tensors);
  return {std::move(recipe), std::move(model), std::move(ckpt)};
}

int run_export(int argc, const char* const* argv) {
  ArgParser args("ember export", "CHECKPOINT",
                 "Trace the model of a checkpoint written by `ember train` (in eval mode, with a dynamic\n"
                 "batch dimension), optimize the graph for inference and save it as an .ember model file.\n"
                 "The graph takes raw images, float32[batch, 1, 28, 28] in [0, 1]: the recipe's input\n"
                 "normalization is part of it.");
  args.flag("-o", "FILE", "the .ember file to write (required)");
  args.flag("--batch", "N", "batch size of the example input the model is traced with (default 2)");
  if (!args.parse(argc, argv, std::cout)) return 0;
  if (args.positional().size() != 1) throw UsageError("ember export: expected one CHECKPOINT file");
  const auto out = args.get("-o");
  if (!out) throw UsageError("ember export: -o FILE is required");
  const int64_t batch = args.get_int("--batch", 1).value_or(2);

  TrainedModel trained = load_trained_model(args.positional()[0]);
  nn::Module& module = trained.model.module();
  module.eval();
  const Recipe& recipe = trained.recipe;
  // `ember train` feeds normalized IDX images; the graph normalizes raw ones.
  auto forward = [&](const TensorList& in) {
    Tensor x = in[0];
    if (recipe.normalize_mean != 0 || recipe.normalize_std != 1)
      x = (x - recipe.normalize_mean) / recipe.normalize_std;
    return TensorList{trained.model(x)};
  };
  autograd::NoGradGuard no_grad;
  graph::Graph g = graph::trace(forward, {zeros({batch, 1, 28, 28})},
                                {.dynamic = {{0, 0, "batch"}}, .named_state = jit::named_state(module),
                                 .input_names = {"x"}});
  const size_t traced_nodes = g.nodes.size();
  g = jit::optimize(std::move(g));
  save(g, *out);
  std::printf("%s: input %s; %zu -> %zu nodes; %s parameters; %s\n", out->c_str(), describe_inputs(g).c_str(),
              traced_nodes, g.nodes.size(), format_count(count_weights(g)).c_str(),
              format_bytes(std::filesystem::file_size(*out)).c_str());
  return 0;
}

}  // namespace ember::cli
