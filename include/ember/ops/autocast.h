#pragma once
// Automatic mixed precision, as torch.autocast. Inside an AutocastGuard, each
// op's AutocastPolicy (a field of its OpDef) decides the dtype it runs in:
//   lower_precision  matmul, linear, addmm, conv2d, conv_transpose2d and what
//                    is built on them (mm, bmm, conv1d, nn::Linear, ...): the
//                    floating inputs are cast to the guard's dtype; bf16 GEMMs
//                    and convolutions multiply in bf16 and accumulate in float32.
//   fp32             softmax, log_softmax, layer_norm, batch_norm, nll_loss,
//                    sum, mean, norm, exp, log, ...: inputs are cast up to float32.
//   promote          ops that need one dtype (lerp, index_put, scatter_add, ...):
//                    mixed floating inputs are cast to the widest of them.
//   none             everything else runs in the dtype its inputs have
//                    (binary ops already promote bf16 + f32 to f32).
// The casts are ordinary `to` ops recorded by autograd, so gradients flow back
// through them into the float32 master weights, arriving as float32.
//
//   nn::Linear fc{784, 10};                       // float32 parameters
//   optim::SGD opt(fc.parameters(), {.lr = 0.1});
//   Tensor loss;
//   {
//     ember::AutocastGuard autocast(DType::bf16);
//     loss = ember::cross_entropy(fc(x), y);      // linear in bf16, the loss in float32
//   }
//   loss.backward();                              // fc.weight.grad() is float32
//   opt.step();                                   // updates the float32 weights
//
// Note [Autocast]
// - State is per thread, like grad mode. Guards nest and the innermost one
//   decides; AutocastGuard({.enabled = false}) turns autocast off inside a region.
// - Float64 tensors are never cast (as in PyTorch: autocast is for float32 models).
// - Weight casts are cached: a float32 leaf that requires grad (a parameter)
//   is cast once per outermost region and the copy is reused while the
//   parameter's version is unchanged, so a layer applied to several inputs
//   pays one cast. The cache dies with the outermost guard, so an optimizer
//   step between two regions never meets a stale copy.
// - Call backward() after the region ends, as in PyTorch. The backward
//   formulas see the saved bf16 values and produce bf16 gradients; the casts'
//   backward converts them to float32 for the parameters.
// - Only call() applies policies: in-place and out= forms run in the dtype of
//   the tensor they write, as PyTorch's autocast leaves them alone too.
#include <span>

#include "ember/core/dtype.h"
#include "ember/ops/op.h"

namespace ember {

struct AutocastOptions {
  DType dtype = DType::bf16;  // the lower precision: bf16 or f16
  bool enabled = true;        // false: a region where ops run in their inputs' dtypes
  bool cache = true;          // reuse weight casts within the outermost region
};

class AutocastGuard {
 public:
  explicit AutocastGuard(AutocastOptions options = {});
  explicit AutocastGuard(DType dtype) : AutocastGuard(AutocastOptions{.dtype = dtype}) {}
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  AutocastOptions previous_;
};

// Whether ops on this thread are autocast now, and to which dtype.
bool is_autocast_enabled();
DType autocast_dtype();

namespace detail {
// `inputs` cast as op.autocast says, for call() (is_autocast_enabled() is true).
TensorList autocast_inputs(const OpDef& op, std::span<const Tensor> inputs);
}  // namespace detail

}  // namespace ember
