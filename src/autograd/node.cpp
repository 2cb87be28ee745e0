// The nodes autograd records: OpNode (an op-table entry applied once) and
// AccumulateGrad (a leaf's sink). See include/ember/autograd/autograd.h.
#include "node.h"

#include <atomic>

#include "ember/ops/binary.h"

namespace ember::autograd {

namespace {
thread_local bool grad_enabled = true;
thread_local bool inference_enabled = false;
std::atomic<bool> anomaly_enabled{false};
std::atomic<uint64_t> next_sequence_nr{0};
}  // namespace

bool GradMode::is_enabled() { return grad_enabled; }
void GradMode::set_enabled(bool enabled) { grad_enabled = enabled; }

InferenceModeGuard::InferenceModeGuard() : prev_grad_(grad_enabled), prev_inference_(inference_enabled) {
  grad_enabled = false;
  inference_enabled = true;
}
InferenceModeGuard::~InferenceModeGuard() {
  grad_enabled = prev_grad_;
  inference_enabled = prev_inference_;
}
bool InferenceModeGuard::is_enabled() { return inference_enabled; }

void set_detect_anomaly(bool enabled) { anomaly_enabled = enabled; }
bool is_anomaly_enabled() { return anomaly_enabled; }

bool needs_grad(const Tensor& t) { return t.defined() && t.requires_grad() && GradMode::is_enabled(); }

uint64_t new_sequence_nr() { return next_sequence_nr++; }

// Note [Saved tensor versions]
// A saved tensor remembers its version counter at save time. Unpacking it
// after an in-place op bumped the counter raises the error PyTorch users know:
// "modified by an inplace operation". Outputs are saved without their grad_fn
// (the node would otherwise own itself) and get it back on unpack.
SavedTensor::SavedTensor(const Tensor& t, bool is_output_of_saver) {
  if (!t.defined()) return;
  version_ = t.version();
  is_output_ = is_output_of_saver;
  if (is_output_) {
    data_ = t.detach();
    // detach() links the alias to its base; here the base owns this node
    // through grad_fn, so that link would be a reference cycle (a leak).
    data_.impl().view_base.reset();
    output_nr_ = t.impl().output_nr;
    had_grad_fn_ = t.grad_fn() != nullptr;
    data_.impl().requires_grad = t.requires_grad();
  } else {
    data_ = t;
  }
}

Tensor SavedTensor::unpack(const std::shared_ptr<Node>& saver, std::string_view op) const {
  EMBER_CHECK(!released_, AutogradError,
              "Trying to backward through the graph a second time (or directly access saved tensors after they "
              "have already been freed). Saved intermediate values of the graph are freed when you call backward() "
              "or autograd::grad(). Specify retain_graph=true if you need to backward through the graph a second "
              "time (op: ",
              op, ")");
  if (!data_.defined()) return {};
  EMBER_CHECK(data_.version() == version_, AutogradError,
              "one of the variables needed for gradient computation has been modified by an inplace operation: [",
              data_.meta_str(), "], which is saved by ", op, ", is at version ", data_.version(),
              "; expected version ", version_, " instead");
  if (!is_output_ || !had_grad_fn_) return data_;
  // Re-attach the producing node so second-order gradients flow through it.
  Tensor t = data_.detach();
  t.impl().grad_fn = saver;
  t.impl().output_nr = output_nr_;
  t.impl().requires_grad = true;
  return t;
}

// ---- OpNode ----

OpNode::OpNode(const OpDef& op, Attrs attrs) : op_(&op), attrs_(std::move(attrs)) {}

std::string OpNode::name() const { return std::string(op_->name) + "Backward"; }

void OpNode::release_saved() {
  for (auto& s : saved_inputs_) s.reset();
  for (auto& s : saved_outputs_) s.reset();
}

TensorList OpNode::apply(TensorList&& grads) {
  auto self = shared_from_this();
  TensorList inputs, outputs;
  inputs.reserve(saved_inputs_.size());
  outputs.reserve(saved_outputs_.size());
  for (const auto& s : saved_inputs_) inputs.push_back(s.unpack(self, op_->name));
  for (const auto& s : saved_outputs_) outputs.push_back(s.unpack(self, op_->name));
  // (std::vector<bool> has no bool* to make a span from.) Ops with more
  // inputs than fit on the stack are rare: concatenations, einsum.
  const size_t n = next_edges.size();
  bool on_stack[8];
  std::unique_ptr<bool[]> on_heap(n > std::size(on_stack) ? new bool[n] : nullptr);
  bool* needs = on_heap ? on_heap.get() : on_stack;
  for (size_t i = 0; i < n; ++i) needs[i] = next_edges[i].node != nullptr;
  BackwardContext ctx(inputs, outputs, attrs_, std::span<const bool>(needs, n), input_meta);
  return op_->backward(ctx, grads);
}

// ---- AccumulateGrad ----

AccumulateGrad::AccumulateGrad(std::shared_ptr<TensorImpl> leaf) : leaf_(std::move(leaf)) {
  input_meta = {};
  output_meta = {TensorMeta{leaf_->sizes, leaf_->dtype, leaf_->device}};
}

TensorList AccumulateGrad::apply(TensorList&& grads) {
  Tensor g = grads[0];
  for (const auto& hook : leaf_->hooks) {
    Tensor replaced = hook(g);
    if (replaced.defined()) g = replaced;
  }
  if (!leaf_->grad) {
    // Own the gradient: never alias a tensor the user or the graph holds.
    // (With create_graph the clone is recorded, so .grad keeps its history.)
    leaf_->grad = g.clone().impl_ptr();
  } else if (GradMode::is_enabled()) {
    leaf_->grad = add(Tensor(leaf_->grad), g).impl_ptr();  // create_graph: keep history
  } else {
    Tensor acc(leaf_->grad);
    acc.add_(g);
  }
  return {};
}

std::shared_ptr<Node> grad_accumulator(const Tensor& leaf) {
  auto& impl = leaf.impl();
  if (auto existing = impl.grad_accumulator.lock()) return existing;
  auto node = std::make_shared<AccumulateGrad>(leaf.impl_ptr());
  node->sequence_nr = UINT64_MAX;  // sinks run last among ready nodes
  impl.grad_accumulator = node;
  return node;
}

Edge gradient_edge(const Tensor& t) {
  if (!t.defined() || !t.requires_grad()) return {};
  if (t.grad_fn()) return {t.grad_fn(), t.impl().output_nr};
  return {grad_accumulator(t), 0};
}

void record(const OpDef& op, std::span<const Tensor> inputs, std::span<Tensor> outputs, const Attrs& attrs) {
  EMBER_CHECK(!InferenceModeGuard::is_enabled(), AutogradError, op.name,
              ": cannot record gradients inside inference mode");
  auto node = std::make_shared<OpNode>(op, attrs);
  node->sequence_nr = new_sequence_nr();
  // One allocation per list rather than a few per growing push_back.
  node->next_edges.reserve(inputs.size());
  node->input_meta.reserve(inputs.size());
  node->output_meta.reserve(outputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& t = inputs[i];
    const bool integer_input =
        std::find(op.integer_inputs.begin(), op.integer_inputs.end(), int(i)) != op.integer_inputs.end();
    node->next_edges.push_back(integer_input ? Edge{} : gradient_edge(t));
    node->input_meta.push_back(t.defined() ? TensorMeta{t.sizes(), t.dtype(), t.device()}
                                           : TensorMeta{{}, DType::f32, kCPU});
  }
  const bool saves_inputs = op.saves == Saves::inputs || op.saves == Saves::both;
  const bool saves_outputs = op.saves == Saves::outputs || op.saves == Saves::both;
  if (saves_inputs) {
    node->saved_inputs_.reserve(inputs.size());
    for (const auto& t : inputs) node->saved_inputs_.emplace_back(t, false);
  }
  for (uint32_t i = 0; i < outputs.size(); ++i) {
    Tensor& out = outputs[i];
    node->output_meta.push_back({out.sizes(), out.dtype(), out.device()});
    // Integer outputs (indices) carry no gradient.
    if (!is_floating(out.dtype())) continue;
    out.impl().grad_fn = node;
    out.impl().output_nr = i;
    out.impl().requires_grad = true;
  }
  if (saves_outputs) {
    node->saved_outputs_.reserve(outputs.size());
    for (const auto& t : outputs) node->saved_outputs_.emplace_back(t, true);
  }
}

}  // namespace ember::autograd
