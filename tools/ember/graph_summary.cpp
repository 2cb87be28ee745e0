#include "graph_summary.h"

namespace ember::cli {

std::string value_type(const graph::Graph& graph, graph::ValueId id) {
  const graph::Value& v = graph.value(id);
  std::string s = std::string(dtype_name(v.meta.dtype)) + "[";
  for (size_t d = 0; d < v.meta.sizes.size(); ++d) {
    if (d > 0) s += ", ";
    if (!v.is_dynamic() || v.dims[d].is_static()) {
      s += std::to_string(v.meta.sizes[d]);
      continue;
    }
    const graph::DimExpr& e = v.dims[d];
    if (e.scale != 1) s += std::to_string(e.scale) + "*";
    s += graph.symbols[size_t(e.symbol)];
    if (e.offset != 0) s += (e.offset > 0 ? "+" : "") + std::to_string(e.offset);
  }
  return s + "]";
}

std::string describe_inputs(const graph::Graph& graph) {
  std::string s;
  for (graph::ValueId id : graph.inputs)
    s += (s.empty() ? "" : ", ") + graph.value(id).name + ": " + value_type(graph, id);
  return s;
}

int64_t count_weights(const graph::Graph& graph) {
  int64_t n = 0;
  for (const graph::Value& v : graph.values)
    if ((v.kind == graph::ValueKind::parameter || v.kind == graph::ValueKind::constant) && !v.data.impl().is_wrapped_number)
      n += shape_numel(v.meta.sizes);
  return n;
}

}  // namespace ember::cli
