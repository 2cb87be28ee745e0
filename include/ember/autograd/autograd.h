#pragma once
// Eager reverse-mode autograd.
//
//   auto w = ember::randn({3}).requires_grad_();
//   auto loss = (w * w).sum();
//   loss.backward();                       // w.grad() == 2 * w
//   auto [g] = ember::autograd::grad({loss2}, {w}, {}, /*create_graph=*/true);
//
// Every op call that sees an input requiring grad (with grad mode on) records
// a Node holding the op's backward formula and what it saved; backward() runs
// the nodes in reverse topological order. Backward formulas are Ember ops, so
// with create_graph they record too, giving higher-order gradients.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ember/core/tensor.h"
#include "ember/ops/op.h"

namespace ember::autograd {

// ---- grad mode ----
class GradMode {
 public:
  static bool is_enabled();
  static void set_enabled(bool enabled);
};
// Disables recording in a scope (torch.no_grad()).
class NoGradGuard {
 public:
  NoGradGuard() : prev_(GradMode::is_enabled()) { GradMode::set_enabled(false); }
  ~NoGradGuard() { GradMode::set_enabled(prev_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};
class EnableGradGuard {
 public:
  EnableGradGuard() : prev_(GradMode::is_enabled()) { GradMode::set_enabled(true); }
  ~EnableGradGuard() { GradMode::set_enabled(prev_); }
  EnableGradGuard(const EnableGradGuard&) = delete;
  EnableGradGuard& operator=(const EnableGradGuard&) = delete;

 private:
  bool prev_;
};
// torch.inference_mode(): no recording and no version-counter checks for
// tensors created inside; such tensors can never be used in autograd later.
class InferenceModeGuard {
 public:
  InferenceModeGuard();
  ~InferenceModeGuard();
  InferenceModeGuard(const InferenceModeGuard&) = delete;
  InferenceModeGuard& operator=(const InferenceModeGuard&) = delete;
  static bool is_enabled();

 private:
  bool prev_grad_, prev_inference_;
};

// Anomaly mode: after each backward node runs, checks its gradients for
// NaN/Inf and raises an AutogradError naming the op whose backward made them.
void set_detect_anomaly(bool enabled);
bool is_anomaly_enabled();
class DetectAnomalyGuard {
 public:
  DetectAnomalyGuard() : prev_(is_anomaly_enabled()) { set_detect_anomaly(true); }
  ~DetectAnomalyGuard() { set_detect_anomaly(prev_); }

 private:
  bool prev_;
};

// ---- the graph ----
struct Edge {
  std::shared_ptr<Node> node;  // null: that input needs no gradient
  uint32_t input_nr = 0;       // which of node's forward outputs this gradient is for
};

class Node : public std::enable_shared_from_this<Node> {
 public:
  virtual ~Node() = default;
  // grads: one per forward output (zeros where none flowed; undefined for
  // integer outputs, which carry no gradient).
  // Returns one gradient per forward input (next_edges), undefined = none.
  virtual TensorList apply(TensorList&& grads) = 0;
  virtual std::string name() const = 0;
  // Frees saved tensors after a backward without retain_graph.
  virtual void release_saved() {}

  std::vector<Edge> next_edges;        // one per forward input
  std::vector<TensorMeta> output_meta; // the forward outputs (= gradients this node receives)
  std::vector<TensorMeta> input_meta;  // the forward inputs (= gradients it returns)
  uint64_t sequence_nr = 0;            // creation order; later nodes run first
  // Output tensors with retain_grad() or hooks (weak: the graph must not keep them alive).
  std::vector<std::pair<uint32_t, std::weak_ptr<TensorImpl>>> watched_outputs;
};

// A tensor kept for backward, with the version it had when saved so that a
// later in-place change is caught (Note [Saved tensor versions]).
class SavedTensor {
 public:
  SavedTensor() = default;
  SavedTensor(const Tensor& t, bool is_output_of_saver);
  Tensor unpack(const std::shared_ptr<Node>& saver, std::string_view op) const;
  void reset() { data_ = {}; released_ = true; }
  bool defined() const { return data_.defined() || released_; }

 private:
  Tensor data_;  // for outputs: an alias without grad_fn (avoids a Node -> itself cycle)
  uint32_t version_ = 0;
  uint32_t output_nr_ = 0;
  bool is_output_ = false;
  bool had_grad_fn_ = false;
  bool released_ = false;
};

// Records `op` applied to `inputs` producing `outputs` (called by ember::call).
void record(const OpDef& op, std::span<const Tensor> inputs, std::span<Tensor> outputs, const Attrs& attrs);

// Whether `t` takes part in autograd (requires grad, with grad mode on).
bool needs_grad(const Tensor& t);

// ---- running backward ----
// Accumulates d(sum of outputs * grad_outputs)/d(leaf) into each leaf's .grad().
void backward(const TensorList& outputs, const TensorList& grad_outputs = {}, bool retain_graph = false,
              bool create_graph = false);
// Returns d(outputs)/d(inputs) without touching .grad(). allow_unused: an
// input the outputs do not depend on gets an undefined Tensor instead of an error.
TensorList grad(const TensorList& outputs, const TensorList& inputs, const TensorList& grad_outputs = {},
                bool create_graph = false, std::optional<bool> retain_graph = {}, bool allow_unused = false);

// ---- custom functions (torch.autograd.Function) ----
//   struct Cube {
//     static TensorList forward(FunctionContext& ctx, const TensorList& x) {
//       ctx.save_for_backward({x[0]}); return {x[0] * x[0] * x[0]}; }
//     static TensorList backward(FunctionContext& ctx, const TensorList& g) {
//       auto x = ctx.saved()[0]; return {g[0] * 3 * x * x}; }
//   };
//   auto y = ember::autograd::Function<Cube>::apply({x})[0];
class FunctionContext {
 public:
  void save_for_backward(const TensorList& tensors);
  TensorList saved() const;  // checks versions
  std::vector<bool> needs_input_grad;
  Attrs attrs;  // anything else the backward needs

 private:
  friend class CustomNode;
  std::vector<SavedTensor> saved_;
  std::weak_ptr<Node> node_;
};

using CustomBackward = std::function<TensorList(FunctionContext&, const TensorList&)>;
using CustomForward = std::function<TensorList(FunctionContext&, const TensorList&)>;
TensorList apply_custom(std::string name, const CustomForward& forward, const CustomBackward& backward,
                        const TensorList& inputs);

template <class F>
struct Function {
  static TensorList apply(const TensorList& inputs) {
    return apply_custom(typeid(F).name(), &F::forward, &F::backward, inputs);
  }
};

// ---- gradient checking ----
struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-5;
  double rtol = 1e-3;
};
// Compares analytical gradients of fn at `inputs` with central finite
// differences, for the inputs that require grad (those must be float64).
// Returns an empty string on success, else a description of the mismatch.
using DifferentiableFn = std::function<TensorList(const TensorList&)>;
std::string gradcheck(const DifferentiableFn& fn, const TensorList& inputs, const GradcheckOptions& options = {});
// Checks second derivatives: gradcheck of the function inputs -> (grad of
// fn's outputs w.r.t. inputs, with random grad_outputs).
std::string gradgradcheck(const DifferentiableFn& fn, const TensorList& inputs,
                          const GradcheckOptions& options = {});

}  // namespace ember::autograd
