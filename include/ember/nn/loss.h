#pragma once
// Losses as modules (torch.nn.*Loss), wrapping the functional losses of
// ember/ops/nn.h and ember/nn/functional.h.
//
//   nn::CrossEntropyLoss criterion{{.label_smoothing = 0.1}};
//   auto loss = criterion(logits, labels);      // logits [N, C], labels int64 [N]
//   nn::HuberLoss huber{{.reduction = ember::Reduction::sum, .delta = 0.5}};
//
// Class weights (and BCEWithLogitsLoss's pos_weight) are buffers, as in
// PyTorch, so they appear in state_dict and follow to(dtype).
#include "ember/core/tensor.h"
#include "ember/nn/functional.h"
#include "ember/nn/module.h"
#include "ember/ops/nn.h"

namespace ember::nn {

#define EMBER_NN_LOSS_CALL                                                            \
  Tensor operator()(const Tensor& input, const Tensor& target) const { return forward(input, target); }

class CrossEntropyLoss : public Module {
 public:
  explicit CrossEntropyLoss(CrossEntropyOptions options = {}) : options(std::move(options)) {}
  // input [N, C, ...] logits; target class indices [N, ...] or probabilities [N, C, ...].
  Tensor forward(const Tensor& input, const Tensor& target) const;
  EMBER_NN_LOSS_CALL
  void visit(Visitor& visitor) override;
  CrossEntropyOptions options;
};

class NLLLoss : public Module {
 public:
  explicit NLLLoss(NllLossOptions options = {}) : options(std::move(options)) {}
  Tensor forward(const Tensor& input, const Tensor& target) const;  // input: log-probabilities
  EMBER_NN_LOSS_CALL
  void visit(Visitor& visitor) override;
  NllLossOptions options;
};

class MSELoss : public Module {
 public:
  explicit MSELoss(Reduction reduction = Reduction::mean) : reduction(reduction) {}
  Tensor forward(const Tensor& input, const Tensor& target) const;
  EMBER_NN_LOSS_CALL
  Reduction reduction;
};

class L1Loss : public Module {
 public:
  explicit L1Loss(Reduction reduction = Reduction::mean) : reduction(reduction) {}
  Tensor forward(const Tensor& input, const Tensor& target) const;
  EMBER_NN_LOSS_CALL
  Reduction reduction;
};

struct SmoothL1LossOptions {
  Reduction reduction = Reduction::mean;
  double beta = 1.0;
};
class SmoothL1Loss : public Module {
 public:
  explicit SmoothL1Loss(SmoothL1LossOptions options = {}) : options(options) {}
  Tensor forward(const Tensor& input, const Tensor& target) const;
  EMBER_NN_LOSS_CALL
  SmoothL1LossOptions options;
};

struct HuberLossOptions {
  Reduction reduction = Reduction::mean;
  double delta = 1.0;
};
class HuberLoss : public Module {
 public:
  explicit HuberLoss(HuberLossOptions options = {}) : options(options) {}
  Tensor forward(const Tensor& input, const Tensor& target) const;
  EMBER_NN_LOSS_CALL
  HuberLossOptions options;
};

class BCEWithLogitsLoss : public Module {
 public:
  explicit BCEWithLogitsLoss(BCEWithLogitsOptions options = {}) : options(std::move(options)) {}
  Tensor forward(const Tensor& input, const Tensor& target) const;
  EMBER_NN_LOSS_CALL
  void visit(Visitor& visitor) override;
  BCEWithLogitsOptions options;
};

struct KLDivLossOptions {
  Reduction reduction = Reduction::mean;
  bool log_target = false;
};
// input: log-probabilities; target: probabilities (log-probabilities with log_target).
class KLDivLoss : public Module {
 public:
  explicit KLDivLoss(KLDivLossOptions options = {}) : options(options) {}
  Tensor forward(const Tensor& input, const Tensor& target) const;
  EMBER_NN_LOSS_CALL
  KLDivLossOptions options;
};

#undef EMBER_NN_LOSS_CALL

}  // namespace ember::nn
