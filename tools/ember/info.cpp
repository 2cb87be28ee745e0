// `ember info FILE`: what a .safetensors file holds: a training checkpoint,
// an .ember model, or plain weights.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <iostream>
#include <map>

#include "args.h"
#include "commands.h"
#include "ember/graph/executor.h"
#include "ember/io/model_file.h"
#include "ember/io/safetensors.h"
#include "format.h"
#include "graph_summary.h"
#include "recipe.h"

namespace ember::cli {
namespace {

// "model.3.weight" before "model.10.weight": digit runs compare as numbers.
bool natural_less(const std::string& a, const std::string& b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (std::isdigit(uint8_t(a[i])) && std::isdigit(uint8_t(b[j]))) {
      size_t i_end = i, j_end = j;
      while (i_end < a.size() && std::isdigit(uint8_t(a[i_end]))) ++i_end;
      while (j_end < b.size() && std::isdigit(uint8_t(b[j_end]))) ++j_end;
      const std::string x = a.substr(i, i_end - i), y = b.substr(j, j_end - j);
      if (x.size() != y.size()) return x.size() < y.size();
      if (x != y) return x < y;
      i = i_end, j = j_end;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i, ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

void print_table(const std::vector<std::pair<std::string, std::string>>& rows) {
  size_t width = 0;
  for (const auto& [key, value] : rows) width = std::max(width, key.size());
  for (const auto& [key, value] : rows)
    std::cout << "  " << key << std::string(width - key.size() + 2, ' ') << value << "\n";
}

}  // namespace

void print_model_info(const std::string& path) {
  const graph::Graph g = load(path);
  std::cout << path << "  (" << format_bytes(std::filesystem::file_size(path)) << ", ember model)\n";
  std::vector<std::pair<std::string, std::string>> rows;
  for (graph::ValueId id : g.inputs) rows.emplace_back(g.value(id).name, value_type(g, id));
  std::cout << "inputs:\n";
  print_table(rows);
  rows.clear();
  for (size_t i = 0; i < g.outputs.size(); ++i) rows.emplace_back("output" + std::to_string(i), value_type(g, g.outputs[i]));
  std::cout << "outputs:\n";
  print_table(rows);

  // Ops by how often they occur, then by name.
  std::map<std::string, int64_t> counts;
  for (const graph::Node& n : g.nodes) ++counts[std::string(n.op->name)];
  std::vector<std::pair<std::string, int64_t>> ops(counts.begin(), counts.end());
  std::stable_sort(ops.begin(), ops.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  std::cout << "nodes: " << g.nodes.size() << "\n";
  rows.clear();
  for (const auto& [op, count] : ops) rows.emplace_back(op, std::to_string(count));
  print_table(rows);

  int64_t tensors = 0;
  for (const graph::Value& v : g.values)
    tensors += (v.kind == graph::ValueKind::parameter || v.kind == graph::ValueKind::constant) &&
               !v.data.impl().is_wrapped_number;
  std::cout << "parameters: " << format_count(count_weights(g)) << " in " << tensors << " tensors\n";
  // The executor's arena (Note [Memory planning]); the plan depends on the
  // dynamic dimensions, so it is shown at two values of them.
  std::cout << "planned arena:";
  // A graph without symbols has one plan (its one size; the 1 is unused).
  const std::vector<int64_t> symbol_values = g.symbols.empty() ? std::vector<int64_t>{1} : std::vector<int64_t>{1, 64};
  for (size_t k = 0; k < symbol_values.size(); ++k) {
    const std::vector<int64_t> bindings(g.symbols.size(), symbol_values[k]);
    const graph::MemoryPlan plan = graph::plan_memory(g, bindings);
    std::string at;
    for (const std::string& symbol : g.symbols)
      at += (at.empty() ? " at " : ", ") + symbol + "=" + std::to_string(symbol_values[k]);
    std::cout << (k ? ";" : "") << " " << format_bytes(uint64_t(plan.arena_bytes)) << at << " (unplanned "
              << format_bytes(uint64_t(plan.unplanned_bytes)) << ")";
  }
  std::cout << "\n";
}

int run_info(int argc, const char* const* argv) {
  ArgParser args("ember info", "FILE",
                 "Print what a .safetensors file holds: for a training checkpoint its recipe, epoch and\n"
                 "step, then the model's tensors (name, dtype, shape) and parameter count; for an .ember\n"
                 "model its inputs, outputs, ops, parameter count and planned memory.");
  args.switch_("--all", "also list every metadata entry and the optimizer's and scheduler's tensors");
  if (!args.parse(argc, argv, std::cout)) return 0;
  if (args.positional().size() != 1) throw UsageError("ember info: expected one FILE");
  const std::string& path = args.positional()[0];
  const bool all = args.get_switch("--all");

  const io::SafetensorsContents contents = io::load_safetensors_file(path);
  const auto& meta = contents.metadata;
  auto value = [&](const std::string& key) {
    const auto it = meta.find(key);
    return it == meta.end() ? std::string() : it->second;
  };
  if (value("format") == "ember" && !all) {
    print_model_info(path);
    return 0;
  }
  // A training checkpoint (io/checkpoint.h) keeps the model's weights under
  // "model."; its other sections (optimizer moments, ...) are not parameters.
  const bool is_checkpoint = value("format") == "ember.checkpoint";
  std::cout << path << "  (" << format_bytes(std::filesystem::file_size(path)) << ", "
            << (is_checkpoint ? "ember training checkpoint" : "safetensors") << ")\n";

  std::vector<std::pair<std::string, std::string>> facts;
  if (all) {
    for (const auto& [key, v] : meta) facts.emplace_back(key, v);
  } else if (is_checkpoint) {
    for (const char* key : {"info.recipe", "epoch", "step", "info.command", "info.data", "trainer.seed",
                            "optimizer.optimizer", "scheduler.scheduler"})
      if (!value(key).empty()) facts.emplace_back(std::string(key).substr(std::string(key).find('.') + 1), value(key));
  } else {
    for (const auto& [key, v] : meta) facts.emplace_back(key, v);
  }
  if (!facts.empty()) {
    std::cout << "metadata:\n";
    print_table(facts);
  }

  // The model as PyTorch prints it, rebuilt from the recipe `ember train` stored.
  if (const std::string config = value("info.config"); !config.empty()) {
    const Json json = Json::parse(config, nullptr, /*allow_exceptions=*/false);
    EMBER_CHECK(!json.is_discarded(), FormatError, path, ": info.config is not valid JSON");
    std::cout << "model: " << build_model(recipe_from_json(json, value("info.recipe"), path + ": info.config")) << "\n";
  }

  std::vector<std::string> names;
  std::map<std::string, std::pair<int64_t, int64_t>> other_sections;  // section -> tensors, values
  int64_t elements = 0;
  for (const auto& [name, tensor] : contents.tensors) {
    if (!is_checkpoint || all || name.starts_with("model.")) {
      names.push_back(name);
      if (!is_checkpoint || name.starts_with("model.")) elements += tensor.numel();
    } else {
      auto& [count, values] = other_sections[name.substr(0, name.find('.'))];
      ++count;
      values += tensor.numel();
    }
  }
  std::sort(names.begin(), names.end(), natural_less);
  std::vector<std::pair<std::string, std::string>> rows;
  for (const std::string& name : names) {
    const Tensor& t = contents.tensors.at(name);
    std::string dtype(dtype_name(t.dtype()));
    dtype.resize(std::max<size_t>(dtype.size(), 9), ' ');
    rows.emplace_back(name, dtype + " " + shape_str(t.shape()));
  }
  std::cout << "tensors: " << names.size() << "\n";
  print_table(rows);
  for (const auto& [section, counts] : other_sections)
    std::cout << "  (" << section << ": " << counts.first << " more tensors, " << format_count(counts.second)
              << " values; --all lists them)\n";

  // The trainer records the exact count. Otherwise every model tensor counts,
  // which includes buffers such as BatchNorm's running statistics.
  const std::string recorded = value("info.parameters");
  std::cout << "parameters: " << format_count(recorded.empty() ? elements : parse_int("info.parameters", recorded));
  const bool has_buffers = std::any_of(names.begin(), names.end(), [](const std::string& n) {
    return n.ends_with(".running_mean") || n.ends_with(".running_var") || n.ends_with(".num_batches_tracked");
  });
  if (recorded.empty() && has_buffers) std::cout << " (buffers included)";
  std::cout << "\n";
  return 0;
}

}  // namespace ember::cli
