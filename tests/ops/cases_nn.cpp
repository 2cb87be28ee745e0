// Reference cases for src/ops/nn.cpp; goldens: scripts/goldens/nn.py.
#include "reference.h"

namespace ember::testing {
namespace {

TensorList one(const Tensor& t) { return {t}; }

// Constants shared with scripts/goldens/nn.py (CLASS_WEIGHT, RUNNING_MEAN, RUNNING_VAR).
Tensor class_weight(int64_t classes, DType dtype = DType::f32) {
  return tensor({0.5, 2.0, 1.0, 1.5, 0.25}, dtype).slice(0, 0, classes).contiguous();
}
Tensor running_mean(DType dtype) { return tensor({0.1, -0.2, 0.3}, dtype); }
Tensor running_var(DType dtype) { return tensor({0.5, 1.5, 2.0}, dtype); }

struct BatchNormCase {
  bool affine = true, training = true, running = true;
  double momentum = 0.1;
  bool stats = false;
};
// y, and with stats the updated running statistics too (as nn.py's batch_norm_case).
TensorList batch_norm_case(const Tensor& x, const TensorList& in, BatchNormCase c) {
  const Tensor w = c.affine ? in[1] : Tensor(), b = c.affine ? in[2] : Tensor();
  Tensor rm = c.running ? running_mean(x.dtype()) : Tensor(), rv = c.running ? running_var(x.dtype()) : Tensor();
  Tensor y = batch_norm(x, rm, rv, w, b, c.training, c.momentum);
  if (!c.stats) return {y};
  return {y, rm, rv};
}

// aten's nll_loss_backward for log-probabilities of shape [target.size(0), 4] (nn.py: nll_backward).
TensorList nll_backward(const Tensor& g, const Tensor& target, const Tensor& weight, Reduction reduction,
                        int64_t ignore_index) {
  const Shape shape{target.size(0), 4};
  Attrs attrs{{"reduction", int64_t(reduction)}, {"ignore_index", ignore_index}};
  const Tensor total_weight = call(*find_op("nll_loss"), {zeros(shape, g.dtype()), target, weight}, attrs)[1];
  attrs.set("input_shape", shape);
  return call(*find_op("nll_loss_backward"), {g, target, weight, total_weight}, attrs);
}

// Ember's backward ops called directly (nn.py: the aten ops they mirror).
TensorList softmax_backward_data(const char* op, const TensorList& in, int64_t dim) {
  return call(*find_op(op), {in[0], in[1]}, {{"dim", dim}});
}
// (dx, dw, db), or dx alone without a weight (nn.py: layer_norm_backward).
TensorList layer_norm_backward(const Tensor& g, const Tensor& x, const Tensor& w, const Shape& normalized_shape) {
  const TensorList d =
      call(*find_op("layer_norm_backward"), {g, x, w}, {{"normalized_shape", normalized_shape}, {"eps", 1e-5}});
  return w.defined() ? d : TensorList{d[0]};
}
// The gradient of cross_entropy by its input (nn.py: cross_entropy_backward).
TensorList cross_entropy_backward(const Tensor& g, const Tensor& x, const Tensor& target,
                                  const CrossEntropyOptions& options) {
  const Attrs attrs{{"reduction", int64_t(options.reduction)},
                    {"ignore_index", options.ignore_index},
                    {"label_smoothing", options.label_smoothing}};
  // The forward's side results: total_weight and each sample's logsumexp.
  const TensorList forward = call(*find_op("cross_entropy_loss"), {x.detach(), target, options.weight}, attrs);
  return call(*find_op("cross_entropy_loss_backward"), {g, x, target, options.weight, forward[1], forward[2]},
              attrs);
}

std::vector<RefCase> softmax_cases(const std::string& name, Tensor (*fn)(const Tensor&, int64_t)) {
  return {
      {name + "/basic", [fn](const TensorList& in) { return one(fn(in[0], -1)); }, {.gradgradcheck = true}},
      {name + "/dim0", [fn](const TensorList& in) { return one(fn(in[0], 0)); }},
      {name + "/middle", [fn](const TensorList& in) { return one(fn(in[0], 1)); }, {.gradgradcheck = true}},
      {name + "/noncontig", [fn](const TensorList& in) { return one(fn(in[0].t(), -1)); }},
      {name + "/zero_dim", [fn](const TensorList& in) { return one(fn(in[0], 0)); }},
      {name + "/empty", [fn](const TensorList& in) { return one(fn(in[0], 1)); }},
      {name + "/f64", [fn](const TensorList& in) { return one(fn(in[0], 1)); }},
      {name + "/bf16", [fn](const TensorList& in) { return one(fn(in[0], -1)); }},
      {name + "/f16", [fn](const TensorList& in) { return one(fn(in[0], -1)); }},
      {name + "/large", [fn](const TensorList& in) { return one(fn(in[0], -1)); }},
  };
}

std::vector<RefCase> nn_cases() {
  std::vector<RefCase> cases = softmax_cases("softmax", softmax);
  for (auto& c : softmax_cases("log_softmax", log_softmax)) cases.push_back(std::move(c));
  auto nll = [](Reduction r) {
    return [r](const TensorList& in) { return one(nll_loss(in[0], in[1], {.reduction = r})); };
  };
  std::vector<RefCase> more = {
      // rows longer than a vector with a tail, and far from zero: the f32 row kernels
      {"softmax/long_rows", [](const TensorList& in) { return one(softmax(in[0], -1)); }},
      {"log_softmax/long_rows", [](const TensorList& in) { return one(log_softmax(in[0], -1)); }},
      {"softmax/large_middle", [](const TensorList& in) { return one(softmax(in[0], 1)); }},
      // the backward ops
      {"softmax_backward_data/basic",
       [](const TensorList& in) { return softmax_backward_data("softmax_backward_data", in, -1); },
       {.gradgradcheck = true}},
      {"softmax_backward_data/dim0",
       [](const TensorList& in) { return softmax_backward_data("softmax_backward_data", in, 0); }},
      {"softmax_backward_data/long_rows",
       [](const TensorList& in) { return softmax_backward_data("softmax_backward_data", in, -1); }},
      {"log_softmax_backward_data/basic",
       [](const TensorList& in) { return softmax_backward_data("log_softmax_backward_data", in, -1); },
       {.gradgradcheck = true}},
      {"log_softmax_backward_data/middle",
       [](const TensorList& in) { return softmax_backward_data("log_softmax_backward_data", in, 1); }},
      {"log_softmax_backward_data/long_rows",
       [](const TensorList& in) { return softmax_backward_data("log_softmax_backward_data", in, -1); }},
      {"layer_norm_backward/basic", [](const TensorList& in) { return layer_norm_backward(in[0], in[1], in[2], {6}); },
       {.gradgradcheck = true}},
      {"layer_norm_backward/multi_dim",
       [](const TensorList& in) { return layer_norm_backward(in[0], in[1], in[2], {3, 4}); }},
      {"layer_norm_backward/no_weight", [](const TensorList& in) { return layer_norm_backward(in[0], in[1], {}, {5}); }},
      {"layer_norm_backward/long_rows",
       [](const TensorList& in) { return layer_norm_backward(in[0], in[1], in[2], {67}); }},
      {"layer_norm/long_rows", [](const TensorList& in) { return one(layer_norm(in[0], {67}, in[1], in[2])); }},
      {"cross_entropy_loss_backward/mean",
       [](const TensorList& in) { return cross_entropy_backward(in[0], in[1], in[2], {}); }, {.gradgradcheck = true}},
      {"cross_entropy_loss_backward/none",
       [](const TensorList& in) {
         return cross_entropy_backward(in[0], in[1], in[2], {.reduction = Reduction::none});
       }},
      {"cross_entropy_loss_backward/smoothing_weight_ignore",
       [](const TensorList& in) {
         return cross_entropy_backward(in[0], in[1], in[2],
                                       {.weight = class_weight(5), .ignore_index = 1, .label_smoothing = 0.2});
       },
       {.gradgradcheck = true}},
      {"cross_entropy_loss_backward/spatial_sum",
       [](const TensorList& in) {
         return cross_entropy_backward(in[0], in[1], in[2], {.reduction = Reduction::sum, .label_smoothing = 0.1});
       }},
      {"cross_entropy_loss_backward/long_rows",
       [](const TensorList& in) {
         return cross_entropy_backward(in[0], in[1], in[2], {.reduction = Reduction::none, .label_smoothing = 0.1});
       }},
      {"cross_entropy/long_rows",
       [](const TensorList& in) { return one(cross_entropy(in[0], in[1], {.label_smoothing = 0.3})); }},
      // layer_norm
      {"layer_norm/basic", [](const TensorList& in) { return one(layer_norm(in[0], {6}, in[1], in[2])); },
       {.gradgradcheck = true}},
      {"layer_norm/no_affine", [](const TensorList& in) { return one(layer_norm(in[0], {5})); }},
      {"layer_norm/weight_only", [](const TensorList& in) { return one(layer_norm(in[0], {5}, in[1])); }},
      {"layer_norm/multi_dim", [](const TensorList& in) { return one(layer_norm(in[0], {3, 4}, in[1], in[2])); },
       {.gradgradcheck = true}},
      {"layer_norm/noncontig", [](const TensorList& in) { return one(layer_norm(in[0].t(), {6}, in[1], in[2])); }},
      {"layer_norm/one_dim", [](const TensorList& in) { return one(layer_norm(in[0], {5})); }},
      {"layer_norm/empty", [](const TensorList& in) { return one(layer_norm(in[0], {5}, in[1], in[2])); }},
      {"layer_norm/eps", [](const TensorList& in) { return one(layer_norm(in[0], {4}, {}, {}, 1e-2)); }},
      {"layer_norm/f64", [](const TensorList& in) { return one(layer_norm(in[0], {7}, in[1], in[2])); }},
      {"layer_norm/bf16", [](const TensorList& in) { return one(layer_norm(in[0], {16}, in[1], in[2])); }},
      {"layer_norm/f16", [](const TensorList& in) { return one(layer_norm(in[0], {16}, in[1], in[2])); }},
      // batch_norm
      {"batch_norm/train_2d", [](const TensorList& in) { return batch_norm_case(in[0], in, {}); },
       {.gradgradcheck = true}},
      {"batch_norm/train_3d", [](const TensorList& in) { return batch_norm_case(in[0], in, {}); }},
      {"batch_norm/train_4d", [](const TensorList& in) { return batch_norm_case(in[0], in, {}); }},
      {"batch_norm/eval", [](const TensorList& in) { return batch_norm_case(in[0], in, {.training = false}); },
       {.gradgradcheck = true}},
      {"batch_norm/eval_no_affine",
       [](const TensorList& in) { return batch_norm_case(in[0], in, {.affine = false, .training = false}); }},
      {"batch_norm/no_affine", [](const TensorList& in) { return batch_norm_case(in[0], in, {.affine = false}); }},
      {"batch_norm/no_running", [](const TensorList& in) { return batch_norm_case(in[0], in, {.running = false}); }},
      // The running statistics are non-differentiable side results (not gradchecked, as in PyTorch).
      {"batch_norm/running_stats", [](const TensorList& in) { return batch_norm_case(in[0], in, {.stats = true}); }},
      {"batch_norm/momentum",
       [](const TensorList& in) { return batch_norm_case(in[0], in, {.momentum = 0.3, .stats = true}); }},
      {"batch_norm/noncontig", [](const TensorList& in) { return batch_norm_case(in[0].t(), in, {}); }},
      {"batch_norm/f64", [](const TensorList& in) { return batch_norm_case(in[0], in, {}); }},
      {"batch_norm/bf16", [](const TensorList& in) { return batch_norm_case(in[0], in, {}); }},
      // group_norm
      {"group_norm/basic", [](const TensorList& in) { return one(group_norm(in[0], 3, in[1], in[2])); },
       {.gradgradcheck = true}},
      {"group_norm/four_d", [](const TensorList& in) { return one(group_norm(in[0], 2, in[1], in[2])); }},
      {"group_norm/no_affine", [](const TensorList& in) { return one(group_norm(in[0], 2)); }},
      {"group_norm/f64", [](const TensorList& in) { return one(group_norm(in[0], 6, in[1], in[2])); }},
      // dropout
      {"dropout/eval", [](const TensorList& in) { return one(dropout(in[0], 0.5, false)); }},
      {"dropout/p0", [](const TensorList& in) { return one(dropout(in[0], 0.0, true)); }},
      {"dropout/p1", [](const TensorList& in) { return one(dropout(in[0], 1.0, true)); }},
      // nll_loss
      {"nll_loss/basic", nll(Reduction::mean)},
      {"nll_loss/sum", nll(Reduction::sum)},
      {"nll_loss/none", nll(Reduction::none)},
      {"nll_loss/weight", [](const TensorList& in) { return one(nll_loss(in[0], in[1], {.weight = class_weight(5)})); }},
      {"nll_loss/weight_none",
       [](const TensorList& in) {
         return one(nll_loss(in[0], in[1], {.weight = class_weight(5), .reduction = Reduction::none}));
       }},
      {"nll_loss/ignore_index", nll(Reduction::mean)},
      {"nll_loss/ignore_weight",
       [](const TensorList& in) { return one(nll_loss(in[0], in[1], {.weight = class_weight(4), .ignore_index = 2})); }},
      {"nll_loss/spatial", nll(Reduction::mean)},
      {"nll_loss/spatial_none", nll(Reduction::none)},
      {"nll_loss/one_dim", nll(Reduction::mean)},
      {"nll_loss/noncontig", [](const TensorList& in) { return one(nll_loss(in[0].t(), in[1])); }},
      {"nll_loss/empty", nll(Reduction::sum)},
      {"nll_loss/f64", nll(Reduction::mean)},
      {"nll_loss/bf16", nll(Reduction::sum)},
      {"nll_loss_backward/mean_weight",
       [](const TensorList& in) { return nll_backward(in[0], in[1], class_weight(4), Reduction::mean, 2); }},
      {"nll_loss_backward/none",
       [](const TensorList& in) { return nll_backward(in[0], in[1], {}, Reduction::none, -100); }},
      // cross_entropy
      {"cross_entropy/basic", [](const TensorList& in) { return one(cross_entropy(in[0], in[1])); },
       {.gradgradcheck = true}},
      {"cross_entropy/sum",
       [](const TensorList& in) { return one(cross_entropy(in[0], in[1], {.reduction = Reduction::sum})); }},
      {"cross_entropy/none",
       [](const TensorList& in) { return one(cross_entropy(in[0], in[1], {.reduction = Reduction::none})); }},
      {"cross_entropy/weight",
       [](const TensorList& in) { return one(cross_entropy(in[0], in[1], {.weight = class_weight(5)})); }},
      {"cross_entropy/ignore_index", [](const TensorList& in) { return one(cross_entropy(in[0], in[1])); }},
      {"cross_entropy/spatial", [](const TensorList& in) { return one(cross_entropy(in[0], in[1])); }},
      {"cross_entropy/one_dim", [](const TensorList& in) { return one(cross_entropy(in[0], in[1])); }},
      {"cross_entropy/noncontig", [](const TensorList& in) { return one(cross_entropy(in[0].t(), in[1])); }},
      {"cross_entropy/f64", [](const TensorList& in) { return one(cross_entropy(in[0], in[1])); }},
      {"cross_entropy/smoothing",
       [](const TensorList& in) { return one(cross_entropy(in[0], in[1], {.label_smoothing = 0.1})); },
       {.gradgradcheck = true}},
      {"cross_entropy/smoothing_none",
       [](const TensorList& in) {
         return one(cross_entropy(in[0], in[1], {.reduction = Reduction::none, .label_smoothing = 0.2}));
       }},
      {"cross_entropy/smoothing_weight_ignore",
       [](const TensorList& in) {
         return one(cross_entropy(in[0], in[1], {.weight = class_weight(5), .ignore_index = 1, .label_smoothing = 0.2}));
       }},
      {"cross_entropy/smoothing_sum_ignore",
       [](const TensorList& in) {
         return one(cross_entropy(in[0], in[1], {.reduction = Reduction::sum, .label_smoothing = 0.3}));
       }},
      {"cross_entropy/probs", [](const TensorList& in) { return one(cross_entropy(in[0], in[1])); },
       {.gradgradcheck = true}},
      {"cross_entropy/probs_none",
       [](const TensorList& in) { return one(cross_entropy(in[0], in[1], {.reduction = Reduction::none})); }},
      {"cross_entropy/probs_weight_smoothing",
       [](const TensorList& in) {
         return one(cross_entropy(in[0], in[1],
                                  {.weight = class_weight(5), .reduction = Reduction::sum, .label_smoothing = 0.1}));
       }},
      // regression losses
      {"mse_loss/basic", [](const TensorList& in) { return one(mse_loss(in[0], in[1])); }, {.gradgradcheck = true}},
      {"mse_loss/sum", [](const TensorList& in) { return one(mse_loss(in[0], in[1], Reduction::sum)); }},
      {"mse_loss/none", [](const TensorList& in) { return one(mse_loss(in[0], in[1], Reduction::none)); }},
      {"mse_loss/f64", [](const TensorList& in) { return one(mse_loss(in[0], in[1])); }},
      {"mse_loss/zero_dim", [](const TensorList& in) { return one(mse_loss(in[0], in[1])); }},
      {"l1_loss/basic", [](const TensorList& in) { return one(l1_loss(in[0], in[1])); }},
      {"l1_loss/sum", [](const TensorList& in) { return one(l1_loss(in[0], in[1], Reduction::sum)); }},
      {"l1_loss/none", [](const TensorList& in) { return one(l1_loss(in[0], in[1], Reduction::none)); }},
      {"smooth_l1_loss/basic", [](const TensorList& in) { return one(smooth_l1_loss(in[0], in[1])); }},
      {"smooth_l1_loss/beta",
       [](const TensorList& in) { return one(smooth_l1_loss(in[0], in[1], Reduction::mean, 0.5)); }},
      {"smooth_l1_loss/beta_zero",
       [](const TensorList& in) { return one(smooth_l1_loss(in[0], in[1], Reduction::mean, 0.0)); }},
      {"smooth_l1_loss/none",
       [](const TensorList& in) { return one(smooth_l1_loss(in[0], in[1], Reduction::none, 2.0)); }},
      {"smooth_l1_loss/f64", [](const TensorList& in) { return one(smooth_l1_loss(in[0], in[1])); }},
      // binary_cross_entropy_with_logits
      {"binary_cross_entropy_with_logits/basic",
       [](const TensorList& in) { return one(binary_cross_entropy_with_logits(in[0], in[1])); },
       {.gradgradcheck = true}},
      {"binary_cross_entropy_with_logits/large",
       [](const TensorList& in) {
         return one(binary_cross_entropy_with_logits(in[0], in[1], {.reduction = Reduction::none}));
       }},
      {"binary_cross_entropy_with_logits/weight",
       [](const TensorList& in) {
         return one(binary_cross_entropy_with_logits(in[0], in[1],
                                                     {.weight = class_weight(4), .reduction = Reduction::sum}));
       }},
      {"binary_cross_entropy_with_logits/pos_weight",
       [](const TensorList& in) {
         return one(binary_cross_entropy_with_logits(in[0], in[1], {.pos_weight = class_weight(4)}));
       }},
      {"binary_cross_entropy_with_logits/f64",
       [](const TensorList& in) { return one(binary_cross_entropy_with_logits(in[0], in[1])); }},
      // kl_div
      {"kl_div/basic", [](const TensorList& in) { return one(kl_div(in[0], in[1])); }},
      {"kl_div/sum", [](const TensorList& in) { return one(kl_div(in[0], in[1], Reduction::sum)); }},
      {"kl_div/log_target", [](const TensorList& in) { return one(kl_div(in[0], in[1], Reduction::none, true)); }},
      {"kl_div/zero_target", [](const TensorList& in) { return one(kl_div(in[0], in[1], Reduction::none)); }},
      {"kl_div/f64", [](const TensorList& in) { return one(kl_div(in[0], in[1], Reduction::sum)); }},
      // scaled_dot_product_attention
      {"scaled_dot_product_attention/basic",
       [](const TensorList& in) { return one(scaled_dot_product_attention(in[0], in[1], in[2])); },
       {.gradgradcheck = true}},
      {"scaled_dot_product_attention/heads",
       [](const TensorList& in) { return one(scaled_dot_product_attention(in[0], in[1], in[2])); }},
      {"scaled_dot_product_attention/bool_mask",
       [](const TensorList& in) {
         return one(scaled_dot_product_attention(in[0], in[1], in[2], {.attn_mask = in[3]}));
       }},
      {"scaled_dot_product_attention/float_mask",
       [](const TensorList& in) {
         return one(scaled_dot_product_attention(in[0], in[1], in[2], {.attn_mask = in[3]}));
       }},
      {"scaled_dot_product_attention/causal",
       [](const TensorList& in) { return one(scaled_dot_product_attention(in[0], in[1], in[2], {.is_causal = true})); }},
      {"scaled_dot_product_attention/causal_rect",
       [](const TensorList& in) { return one(scaled_dot_product_attention(in[0], in[1], in[2], {.is_causal = true})); }},
      {"scaled_dot_product_attention/scale",
       [](const TensorList& in) { return one(scaled_dot_product_attention(in[0], in[1], in[2], {.scale = 0.3})); }},
      {"scaled_dot_product_attention/f64",
       [](const TensorList& in) { return one(scaled_dot_product_attention(in[0], in[1], in[2])); }},
  };
  for (auto& c : more) cases.push_back(std::move(c));
  return cases;
}

const RegisterCases nn_registered("nn", nn_cases());

}  // namespace
}  // namespace ember::testing
