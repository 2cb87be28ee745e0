#include "ember/graph/compile.h"

namespace ember {

CompiledFunction::CompiledFunction(graph::TracedFunction fn, CompileOptions options)
    : fn_(std::move(fn)), options_(std::move(options)) {
  EMBER_CHECK(fn_ != nullptr, ValueError, "compile: no function");
}

std::vector<int64_t> CompiledFunction::signature(const TensorList& inputs) {
  std::vector<int64_t> key;
  for (const Tensor& t : inputs) {
    EMBER_CHECK(t.defined(), ValueError, "compiled function: an input is undefined");
    key.push_back(int64_t(t.dtype()));
    key.push_back(t.dim());
    key.insert(key.end(), t.sizes().begin(), t.sizes().end());
  }
  return key;
}

const graph::Graph* CompiledFunction::graph_for(const TensorList& inputs) const {
  auto it = cache_.find(signature(inputs));
  return it == cache_.end() || !it->second.executor ? nullptr : &it->second.executor->graph();
}

TensorList CompiledFunction::operator()(const TensorList& inputs) {
  // Called while an outer function is traced: be part of that trace.
  if (graph::is_tracing()) return fn_(inputs);
  const std::vector<int64_t> key = signature(inputs);
  auto it = cache_.find(key);
  if (it == cache_.end()) {
    if (cache_.size() >= options_.cache_limit) return fn_(inputs);  // see Note [Compile cache]
    it = cache_.emplace(key, Entry{}).first;
  }
  Entry& entry = it->second;
  if (entry.executor) return entry.executor->run(inputs);
  if (entry.calls++ < options_.warmup_calls) return fn_(inputs);
  TensorList results;
  graph::Graph g = graph::trace(fn_, inputs, {.dynamic = {}, .named_state = options_.named_state, .input_names = {}}, &results);
  if (options_.optimize) {
    // Parameters stay live inputs: the model may be trained or reloaded later.
    g = graph::optimize(std::move(g), {.freeze = false, .fuse = options_.fuse});
  }
  entry.executor = std::make_unique<graph::Executor>(std::move(g));
  return results;
}

CompiledFunction compile(graph::TracedFunction fn, CompileOptions options) {
  return CompiledFunction(std::move(fn), std::move(options));
}

}  // namespace ember
