#pragma once
// What the graph subcommands (export, run, info) print about an .ember model.
#include <string>

#include "ember/graph/graph.h"

namespace ember::cli {

// "float32[batch, 1, 28, 28]": a value's dtype and sizes, dynamic ones by symbol.
std::string value_type(const graph::Graph& graph, graph::ValueId id);
// "x: float32[batch, 1, 28, 28]" for each graph input, comma-separated.
std::string describe_inputs(const graph::Graph& graph);
// Elements in the graph's parameters and constants, not counting numbers
// written in the code (x * 2): the model's weights.
int64_t count_weights(const graph::Graph& graph);

}  // namespace ember::cli
