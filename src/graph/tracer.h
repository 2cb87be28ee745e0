#pragma once
// The TraceHook graph mode installs (see Note [Tracing by running] in
// ember/graph/trace.h). Private to src/graph: trace.cpp and the control-flow
// ops, which trace their branches with a child tracer.
#include <unordered_map>
#include <unordered_set>

#include "ember/core/trace_hook.h"
#include "ember/graph/trace.h"

namespace ember::graph::detail {

class Tracer : public TraceHook {
 public:
  // A child tracer (a cond branch, a loop body) turns tensors its parent
  // knows into extra inputs of its graph: `captures` lists them, in order.
  Tracer(Graph& graph, const TraceOptions& options, Tracer* parent = nullptr);

  void record(const OpDef& op, std::span<const Tensor> inputs, std::span<const Tensor> outputs,
              const Attrs& attrs) override;
  void record_inplace(const OpDef& op, std::span<const Tensor> inputs, std::span<const Tensor> outputs,
                      const Attrs& attrs) override;
  void record_copy(const Tensor& dst, const Tensor& src) override;
  void read_on_host(const Tensor& t, const char* what) override;
  void draw_random() override;

  // Makes `t` a graph input with this name.
  void add_input(const Tensor& t, std::string name);
  // The value `t` currently holds, capturing it if it is new (see the Note).
  ValueId lookup(const Tensor& t);
  bool knows(const Tensor& t) const { return find(t) != kNoValue; }
  // True when `t` is computed from the traced inputs (not captured state).
  bool is_traced_value(const Tensor& t) const;
  // Appends a node whose outputs are the given (already computed) tensors.
  void add_node(const OpDef& op, std::span<const Tensor> inputs, Attrs attrs, std::span<const Tensor> outputs,
                std::vector<std::shared_ptr<const Graph>> subgraphs = {});
  // Sets graph outputs, state updates and host effects; call once at the end.
  void finish(const TensorList& outputs);

  void bind_next_attr(std::string name, std::function<AttrValue()> read);
  void add_host_effect(std::function<void()> effect);

  Graph& graph() { return graph_; }
  // Tensors of the parent's this child's graph took as extra inputs.
  const TensorList& captures() const { return captures_; }

 private:
  ValueId find(const Tensor& t) const;
  // Checks that `out` may be written in place in a graph, and captures it.
  void check_writable(const Tensor& out, std::string_view op);
  // `out` now holds `result` (see Note [In-place writes] in trace.cpp).
  void assign(const Tensor& out, ValueId result);
  void bind(const Tensor& t, ValueId id);

  Graph& graph_;
  const TraceOptions& options_;
  Tracer* parent_;
  std::unordered_map<const TensorImpl*, ValueId> value_of_;
  // Every tensor seen stays alive until the trace ends, so that a freed
  // tensor's address cannot be mistaken for a known one.
  TensorList keep_alive_;
  std::unordered_map<const TensorImpl*, std::string> names_;
  // Captured tensors written in place: impl -> the value they held at capture.
  std::unordered_map<const TensorImpl*, ValueId> captured_value_;
  std::vector<const TensorImpl*> mutated_;
  // Tensors read stale: a view taken before an in-place write to its storage.
  std::unordered_set<const TensorImpl*> stale_;
  // Gradients of captured parameters as they were when tracing began.
  std::unordered_set<const TensorImpl*> prior_grads_;
  TensorList captures_;
  std::vector<HostAttr> pending_host_attrs_;
  int unnamed_state_ = 0;
};

// The innermost active tracer of this thread, or null.
Tracer* active_tracer();

}  // namespace ember::graph::detail
