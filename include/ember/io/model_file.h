#pragma once
// .ember model files: a traced graph and its weights in one file, loadable
// without the code that defined the model (see docs/FORMATS.md, ".ember").
//
//   ember::save(jit::optimize(jit::trace(net, {x})), "net.ember");
//   graph::Graph g = ember::load("net.ember");
//   Tensor y = graph::Executor(std::move(g)).run({x})[0];
//
// Loading validates everything before returning (format version, JSON
// structure, op names and arity, attribute types, value references, shapes
// and dtypes against the ops' shape rules, weight offsets) and throws a
// FormatError that names the file and what is wrong.
#include <cstdint>
#include <span>
#include <string>

#include "ember/graph/graph.h"

namespace ember {

// ValueError for a graph with host state (HostAttr, host_effects): a
// compiled training step reads its learning rate and step count from the
// host, which a file cannot hold.
void save(const graph::Graph& graph, const std::string& path);
graph::Graph load(const std::string& path);
// The same in memory; `name` appears in error messages.
std::string to_model_bytes(const graph::Graph& graph);
graph::Graph load_model_bytes(std::span<const uint8_t> bytes, const std::string& name);

}  // namespace ember
