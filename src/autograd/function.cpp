// Custom autograd functions: user code supplies forward and backward.
#include "node.h"

namespace ember::autograd {

class CustomNode : public Node {
 public:
  CustomNode(std::string name, CustomBackward backward) : name_(std::move(name)), backward_(std::move(backward)) {}
  TensorList apply(TensorList&& grads) override {
    ctx.node_ = weak_from_this();
    return backward_(ctx, grads);
  }
  std::string name() const override { return name_; }
  void release_saved() override {
    for (auto& s : ctx.saved_) s.reset();
  }
  FunctionContext ctx;

 private:
  std::string name_;
  CustomBackward backward_;
};

void FunctionContext::save_for_backward(const TensorList& tensors) {
  saved_.clear();
  for (const auto& t : tensors) saved_.emplace_back(t, false);
}

TensorList FunctionContext::saved() const {
  TensorList out;
  auto node = node_.lock();
  for (const auto& s : saved_) out.push_back(s.unpack(node, "custom function"));
  return out;
}

TensorList apply_custom(std::string name, const CustomForward& forward, const CustomBackward& backward,
                        const TensorList& inputs) {
  bool any_grad = false;
  for (const auto& t : inputs) any_grad = any_grad || needs_grad(t);
  auto node = std::make_shared<CustomNode>(std::move(name), backward);
  FunctionContext& ctx = node->ctx;
  for (const auto& t : inputs) ctx.needs_input_grad.push_back(needs_grad(t));
  TensorList outputs;
  {
    NoGradGuard no_grad;
    outputs = forward(ctx, inputs);
  }
  if (!any_grad) return outputs;
  node->sequence_nr = new_sequence_nr();
  for (const auto& t : inputs) {
    node->next_edges.push_back(needs_grad(t) ? gradient_edge(t) : Edge{});
    node->input_meta.push_back(t.defined() ? TensorMeta{t.sizes(), t.dtype(), t.device()}
                                           : TensorMeta{{}, DType::f32, kCPU});
  }
  for (uint32_t i = 0; i < outputs.size(); ++i) {
    // A returned input must not get this node as its history: return a view.
    for (const auto& in : inputs)
      if (outputs[i].is_same(in)) outputs[i] = outputs[i].detach();
    node->output_meta.push_back({outputs[i].sizes(), outputs[i].dtype(), outputs[i].device()});
    if (!is_floating(outputs[i].dtype())) continue;
    outputs[i].impl().grad_fn = node;
    outputs[i].impl().output_nr = i;
    outputs[i].impl().requires_grad = true;
  }
  return outputs;
}

}  // namespace ember::autograd
