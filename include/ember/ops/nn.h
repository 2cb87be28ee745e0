#pragma once
// Neural-network functions (torch.nn.functional). Options are aggregates:
//   auto y = ember::conv2d(x, w, b, {.stride = 2, .padding = 1});
#include <optional>
#include <string_view>

#include "ember/core/generator.h"
#include "ember/core/tensor.h"
#include "ember/ops/reduce.h"  // ValuesIndices

namespace ember {

// An int or an (h, w) pair, as PyTorch's _pair.
struct Int2 {
  int64_t h = 0, w = 0;
  Int2(int64_t v = 0) : h(v), w(v) {}  // NOLINT
  Int2(int64_t h_, int64_t w_) : h(h_), w(w_) {}
  bool operator==(const Int2&) const = default;
};

enum class Reduction { none, mean, sum };

Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);
Tensor layer_norm(const Tensor& x, Shape normalized_shape, const Tensor& weight = {}, const Tensor& bias = {},
                  double eps = 1e-5);
// In training mode updates running_mean/running_var in place (if given) with
// `momentum` and the unbiased batch variance, as PyTorch does.
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight = {}, const Tensor& bias = {}, bool training = false,
                  double momentum = 0.1, double eps = 1e-5);
Tensor group_norm(const Tensor& x, int64_t num_groups, const Tensor& weight = {}, const Tensor& bias = {},
                  double eps = 1e-5);
Tensor dropout(const Tensor& x, double p = 0.5, bool training = true, Generator* gen = nullptr);

struct Conv1dOptions {
  int64_t stride = 1, padding = 0, dilation = 1, groups = 1;
};
struct Conv2dOptions {
  Int2 stride = 1, padding = 0, dilation = 1;
  int64_t groups = 1;
};
struct ConvTranspose2dOptions {
  Int2 stride = 1, padding = 0, output_padding = 0;
  int64_t groups = 1;
  Int2 dilation = 1;
};
Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias = {}, const Conv1dOptions& options = {});
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = {}, const Conv2dOptions& options = {});
Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias = {},
                        const ConvTranspose2dOptions& options = {});

struct Pool2dOptions {
  Int2 kernel_size;
  std::optional<Int2> stride = {};  // defaults to kernel_size
  Int2 padding = 0;
  Int2 dilation = 1;       // max pooling only
  bool ceil_mode = false;
  bool count_include_pad = true;  // avg pooling only
};
Tensor max_pool2d(const Tensor& x, const Pool2dOptions& options);
Tensor max_pool2d(const Tensor& x, Int2 kernel_size);
ValuesIndices max_pool2d_with_indices(const Tensor& x, const Pool2dOptions& options);  // flat h*w indices
Tensor avg_pool2d(const Tensor& x, const Pool2dOptions& options);
Tensor avg_pool2d(const Tensor& x, Int2 kernel_size);
Tensor adaptive_avg_pool2d(const Tensor& x, Int2 output_size);

struct InterpolateOptions {
  std::optional<Int2> size = {};
  std::optional<std::pair<double, double>> scale_factor = {};
  std::string_view mode = "nearest";  // "nearest" or "bilinear"
  bool align_corners = false;         // bilinear only
};
Tensor interpolate(const Tensor& x, const InterpolateOptions& options);

struct CrossEntropyOptions {
  Tensor weight = {};          // per-class weights [C], optional
  int64_t ignore_index = -100;
  Reduction reduction = Reduction::mean;
  double label_smoothing = 0.0;
};
// target: class indices (int64, shape of input without dim 1) or probabilities (shape of input).
Tensor cross_entropy(const Tensor& input, const Tensor& target, const CrossEntropyOptions& options = {});
struct NllLossOptions {
  Tensor weight = {};
  int64_t ignore_index = -100;
  Reduction reduction = Reduction::mean;
};
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, const NllLossOptions& options = {});
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean);
Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean);
Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean,
                      double beta = 1.0);
struct BCEWithLogitsOptions {
  Tensor weight = {};
  Tensor pos_weight = {};
  Reduction reduction = Reduction::mean;
};
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        const BCEWithLogitsOptions& options = {});
Tensor kl_div(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean,
              bool log_target = false);
struct AttentionOptions {
  Tensor attn_mask = {};  // bool (true = attend) or float (added to scores), broadcastable to [..., L, S]
  double dropout_p = 0.0;
  bool is_causal = false;
  std::optional<double> scale = {};  // default 1/sqrt(head_dim)
  Generator* generator = nullptr;
};
// q [..., L, E], k [..., S, E], v [..., S, Ev] -> [..., L, Ev]
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const AttentionOptions& options = {});

}  // namespace ember
