#include "ember/nn/loss.h"

namespace ember::nn {

Tensor CrossEntropyLoss::forward(const Tensor& input, const Tensor& target) const {
  return cross_entropy(input, target, options);
}
void CrossEntropyLoss::visit(Visitor& visitor) { visitor.buffer("weight", options.weight); }

Tensor NLLLoss::forward(const Tensor& input, const Tensor& target) const { return nll_loss(input, target, options); }
void NLLLoss::visit(Visitor& visitor) { visitor.buffer("weight", options.weight); }

Tensor MSELoss::forward(const Tensor& input, const Tensor& target) const { return mse_loss(input, target, reduction); }

Tensor L1Loss::forward(const Tensor& input, const Tensor& target) const { return l1_loss(input, target, reduction); }

Tensor SmoothL1Loss::forward(const Tensor& input, const Tensor& target) const {
  return smooth_l1_loss(input, target, options.reduction, options.beta);
}

Tensor HuberLoss::forward(const Tensor& input, const Tensor& target) const {
  return huber_loss(input, target, options.reduction, options.delta);
}

Tensor BCEWithLogitsLoss::forward(const Tensor& input, const Tensor& target) const {
  return binary_cross_entropy_with_logits(input, target, options);
}
void BCEWithLogitsLoss::visit(Visitor& visitor) {
  visitor.buffer("weight", options.weight);
  visitor.buffer("pos_weight", options.pos_weight);
}

Tensor KLDivLoss::forward(const Tensor& input, const Tensor& target) const {
  return kl_div(input, target, options.reduction, options.log_target);
}

}  // namespace ember::nn
