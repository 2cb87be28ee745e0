#pragma once
// Autograd's internal node types (private to src/autograd and src/ops).
#include "ember/autograd/autograd.h"

namespace ember::autograd {

uint64_t new_sequence_nr();

class OpNode : public Node {
 public:
  OpNode(const OpDef& op, Attrs attrs);
  TensorList apply(TensorList&& grads) override;
  std::string name() const override;
  void release_saved() override;
  const OpDef& op() const { return *op_; }

 private:
  friend void record(const OpDef&, std::span<const Tensor>, std::span<Tensor>, const Attrs&);
  const OpDef* op_;
  Attrs attrs_;
  std::vector<SavedTensor> saved_inputs_, saved_outputs_;
};

// The sink for a leaf's gradient: runs the leaf's hooks, then adds into .grad.
class AccumulateGrad : public Node {
 public:
  explicit AccumulateGrad(std::shared_ptr<TensorImpl> leaf);
  TensorList apply(TensorList&& grads) override;
  std::string name() const override { return "AccumulateGrad"; }
  const std::shared_ptr<TensorImpl>& leaf() const { return leaf_; }

 private:
  std::shared_ptr<TensorImpl> leaf_;
};

std::shared_ptr<Node> grad_accumulator(const Tensor& leaf);
// Where the gradient of `t` goes: its grad_fn's output, or its accumulator.
Edge gradient_edge(const Tensor& t);

}  // namespace ember::autograd
