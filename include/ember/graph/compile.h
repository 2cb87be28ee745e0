#pragma once
// ember::compile: a function that traces itself on first use and then runs
// its graph, re-tracing when called with inputs of a new signature (as
// tf.function and torch.compile do).
//
//   auto predict = ember::compile([&](const TensorList& in) { return TensorList{net(in[0])}; });
//   Tensor y = predict({x})[0];
//
// Note [Compile cache]
// The cache is keyed by each input's dtype and sizes. A new signature's first
// call runs eagerly (a warm-up: state that eager code creates lazily, such as
// gradients and optimizer moments, then exists and is captured rather than
// re-created); its second call traces (running eagerly while recording) and
// optimizes; later calls run the graph. At most `cache_limit` signatures are
// compiled; beyond that, calls run eagerly.
//
// A CompiledFunction is not safe to call from several threads at once (its
// cache changes on misses, and a training step updates shared state anyway);
// graph::Executor::run is, for serving one graph from several threads.
#include <map>
#include <memory>

#include "ember/graph/executor.h"
#include "ember/graph/passes.h"
#include "ember/graph/trace.h"

namespace ember {

struct CompileOptions {
  size_t cache_limit = 8;
  int warmup_calls = 1;
  bool optimize = true;
  bool fuse = true;
  std::vector<std::pair<std::string, Tensor>> named_state = {};  // names for captured tensors
};

class CompiledFunction {
 public:
  CompiledFunction(graph::TracedFunction fn, CompileOptions options);
  TensorList operator()(const TensorList& inputs);
  size_t num_compiled() const { return cache_.size(); }
  // The graph serving this signature, or null if it is not compiled (yet).
  const graph::Graph* graph_for(const TensorList& inputs) const;

 private:
  struct Entry {
    int calls = 0;
    std::unique_ptr<graph::Executor> executor;
  };
  static std::vector<int64_t> signature(const TensorList& inputs);
  graph::TracedFunction fn_;
  CompileOptions options_;
  std::map<std::vector<int64_t>, Entry> cache_;
};

CompiledFunction compile(graph::TracedFunction fn, CompileOptions options = {});

}  // namespace ember
