#pragma once
// Layers, named and initialized as in torch.nn. Options are aggregates:
//
//   #include <ember/ember.h>
//   namespace nn = ember::nn;
//
//   // A residual block: two 3x3 convolutions with batch norm and a skip.
//   struct Residual : nn::Module {
//     nn::Conv2d conv1, conv2;
//     nn::BatchNorm2d bn1, bn2;
//     explicit Residual(int64_t c)
//         : conv1(c, c, 3, {.padding = 1, .bias = false}), conv2(c, c, 3, {.padding = 1, .bias = false}),
//           bn1(c), bn2(c) {}
//     EMBER_MODULE(conv1, bn1, conv2, bn2)
//     ember::Tensor forward(const ember::Tensor& x) {
//       auto y = ember::relu(bn1(conv1(x)));
//       return ember::relu(x + bn2(conv2(y)));
//     }
//   };
//
//   nn::Sequential net{nn::Conv2d(1, 16, 3, {.padding = 1}), nn::ReLU(), Residual(16),
//                      nn::AdaptiveAvgPool2d(1), nn::Flatten(), nn::Linear(16, 10)};
//   auto logits = net(ember::randn({8, 1, 28, 28}));   // [8, 10]
//   net.eval();                                       // batch norm uses its running stats
//
// Each layer checks its input and names itself in the error, e.g.
// "Linear(in_features=3136, out_features=128, bias=True): expected input with
// 3136 features in the last dim, got shape [8, 100]".
#include <optional>
#include <string>
#include <string_view>

#include "ember/core/generator.h"
#include "ember/core/tensor.h"
#include "ember/nn/module.h"
#include "ember/ops/nn.h"

namespace ember::nn {

// ---- linear ----
struct LinearOptions {
  bool bias = true;
};
// y = x W^T + b; weight [out_features, in_features], bias [out_features].
class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, LinearOptions options = {});
  Tensor forward(const Tensor& x) const;
  EMBER_MODULE(weight, bias)
  std::string extra_repr() const override;
  void reset_parameters();

  int64_t in_features, out_features;
  Tensor weight, bias;  // bias undefined with {.bias = false}
};

// y = x1^T A x2 + b; weight [out_features, in1_features, in2_features].
class Bilinear : public Module {
 public:
  Bilinear(int64_t in1_features, int64_t in2_features, int64_t out_features, LinearOptions options = {});
  Tensor forward(const Tensor& x1, const Tensor& x2) const;
  EMBER_MODULE(weight, bias)
  std::string extra_repr() const override;
  void reset_parameters();

  int64_t in1_features, in2_features, out_features;
  Tensor weight, bias;
};

// ---- convolution ----
struct Conv1dOptions {
  int64_t stride = 1, padding = 0, dilation = 1, groups = 1;
  bool bias = true;
};
class Conv1d : public Module {
 public:
  Conv1d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, Conv1dOptions options = {});
  Tensor forward(const Tensor& x) const;  // [N, C, L] or [C, L]
  EMBER_MODULE(weight, bias)
  std::string extra_repr() const override;
  void reset_parameters();

  int64_t in_channels, out_channels, kernel_size;
  Conv1dOptions options;
  Tensor weight, bias;  // weight [out, in / groups, k]
};

struct Conv2dOptions {
  Int2 stride = 1, padding = 0, dilation = 1;
  int64_t groups = 1;
  bool bias = true;
};
class Conv2d : public Module {
 public:
  Conv2d(int64_t in_channels, int64_t out_channels, Int2 kernel_size, Conv2dOptions options = {});
  Tensor forward(const Tensor& x) const;  // [N, C, H, W] or [C, H, W]
  EMBER_MODULE(weight, bias)
  std::string extra_repr() const override;
  void reset_parameters();

  int64_t in_channels, out_channels;
  Int2 kernel_size;
  Conv2dOptions options;
  Tensor weight, bias;  // weight [out, in / groups, kh, kw]
};

struct ConvTranspose2dOptions {
  Int2 stride = 1, padding = 0, output_padding = 0;
  int64_t groups = 1;
  bool bias = true;
  Int2 dilation = 1;
};
class ConvTranspose2d : public Module {
 public:
  ConvTranspose2d(int64_t in_channels, int64_t out_channels, Int2 kernel_size,
                  ConvTranspose2dOptions options = {});
  Tensor forward(const Tensor& x) const;
  EMBER_MODULE(weight, bias)
  std::string extra_repr() const override;
  void reset_parameters();

  int64_t in_channels, out_channels;
  Int2 kernel_size;
  ConvTranspose2dOptions options;
  Tensor weight, bias;  // weight [in, out / groups, kh, kw]
};

// ---- pooling ----
struct MaxPool2dOptions {
  std::optional<Int2> stride = {};  // defaults to kernel_size
  Int2 padding = 0, dilation = 1;
  bool ceil_mode = false;
};
class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(Int2 kernel_size, MaxPool2dOptions options = {});
  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }
  std::string extra_repr() const override;

  Int2 kernel_size;
  MaxPool2dOptions options;
};

struct AvgPool2dOptions {
  std::optional<Int2> stride = {};  // defaults to kernel_size
  Int2 padding = 0;
  bool ceil_mode = false, count_include_pad = true;
};
class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(Int2 kernel_size, AvgPool2dOptions options = {});
  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }
  std::string extra_repr() const override;

  Int2 kernel_size;
  AvgPool2dOptions options;
};

class AdaptiveAvgPool2d : public Module {
 public:
  explicit AdaptiveAvgPool2d(Int2 output_size) : output_size(output_size) {}
  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }
  std::string extra_repr() const override;

  Int2 output_size;
};

// ---- normalization ----
struct BatchNormOptions {
  double eps = 1e-5;
  // nullopt: a cumulative moving average over all batches seen.
  std::optional<double> momentum = 0.1;
  bool affine = true, track_running_stats = true;
  bool bias = true;  // with affine: false keeps only the scale
};
// Normalizes over every dim except dim 1. In training mode uses the batch's
// statistics and updates running_mean / running_var (unbiased variance) and
// num_batches_tracked; in eval mode uses the running statistics.
class BatchNorm : public Module {
 public:
  void visit(Visitor& visitor) override;
  Tensor forward(const Tensor& x);
  Tensor operator()(const Tensor& x) { return forward(x); }
  std::string extra_repr() const override;
  void reset_running_stats();
  void reset_parameters();

  int64_t num_features;
  BatchNormOptions options;
  Tensor weight, bias;                                      // parameters, when affine
  Tensor running_mean, running_var, num_batches_tracked;   // buffers, when tracking

 protected:
  BatchNorm(int64_t num_features, BatchNormOptions options, int64_t min_rank, int64_t max_rank);
  int64_t min_rank_, max_rank_;  // accepted input ranks
};
class BatchNorm1d : public BatchNorm {
 public:
  explicit BatchNorm1d(int64_t num_features, BatchNormOptions options = {});  // [N, C] or [N, C, L]
};
class BatchNorm2d : public BatchNorm {
 public:
  explicit BatchNorm2d(int64_t num_features, BatchNormOptions options = {});  // [N, C, H, W]
};

struct LayerNormOptions {
  double eps = 1e-5;
  bool elementwise_affine = true, bias = true;
};
class LayerNorm : public Module {
 public:
  explicit LayerNorm(Shape normalized_shape, LayerNormOptions options = {});
  Tensor forward(const Tensor& x) const;
  EMBER_MODULE(weight, bias)
  std::string extra_repr() const override;
  void reset_parameters();

  Shape normalized_shape;
  LayerNormOptions options;
  Tensor weight, bias;
};

struct GroupNormOptions {
  double eps = 1e-5;
  bool affine = true;
  bool bias = true;  // with affine: false keeps only the scale
};
class GroupNorm : public Module {
 public:
  GroupNorm(int64_t num_groups, int64_t num_channels, GroupNormOptions options = {});
  Tensor forward(const Tensor& x) const;
  EMBER_MODULE(weight, bias)
  std::string extra_repr() const override;
  void reset_parameters();

  int64_t num_groups, num_channels;
  GroupNormOptions options;
  Tensor weight, bias;
};

// ---- regularization, lookup, reshaping ----
// Zeroes elements with probability p in training mode and scales the rest by
// 1 / (1 - p); the identity in eval mode. Draws from `generator` (the default
// generator when null), so a seed fixes the masks.
class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5, Generator* generator = nullptr);
  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }
  std::string extra_repr() const override;

  double p;
  Generator* generator;
};

struct EmbeddingOptions {
  // Row whose gradient is always zero, initialized to zeros (negative counts from the end).
  std::optional<int64_t> padding_idx = {};
};
class Embedding : public Module {
 public:
  Embedding(int64_t num_embeddings, int64_t embedding_dim, EmbeddingOptions options = {});
  Tensor forward(const Tensor& indices) const;  // integer indices -> [..., embedding_dim]
  EMBER_MODULE(weight)
  std::string extra_repr() const override;
  void reset_parameters();

  int64_t num_embeddings, embedding_dim;
  std::optional<int64_t> padding_idx;  // normalized to [0, num_embeddings)
  Tensor weight;                       // [num_embeddings, embedding_dim], N(0, 1)
};

class Flatten : public Module {
 public:
  explicit Flatten(int64_t start_dim = 1, int64_t end_dim = -1) : start_dim(start_dim), end_dim(end_dim) {}
  Tensor forward(const Tensor& x) const { return x.flatten(start_dim, end_dim); }
  Tensor operator()(const Tensor& x) const { return forward(x); }
  std::string extra_repr() const override;

  int64_t start_dim, end_dim;
};

class Identity : public Module {
 public:
  Tensor forward(const Tensor& x) const { return x; }
  Tensor operator()(const Tensor& x) const { return forward(x); }
};

// ---- activations (one per activation op) ----
#define EMBER_NN_ACTIVATION_CALL                                     \
  Tensor operator()(const Tensor& x) const { return forward(x); }
class ReLU : public Module {
 public:
  Tensor forward(const Tensor& x) const;
  EMBER_NN_ACTIVATION_CALL
};
class LeakyReLU : public Module {
 public:
  explicit LeakyReLU(double negative_slope = 0.01) : negative_slope(negative_slope) {}
  Tensor forward(const Tensor& x) const;
  EMBER_NN_ACTIVATION_CALL
  std::string extra_repr() const override;
  double negative_slope;
};
class ELU : public Module {
 public:
  explicit ELU(double alpha = 1.0) : alpha(alpha) {}
  Tensor forward(const Tensor& x) const;
  EMBER_NN_ACTIVATION_CALL
  std::string extra_repr() const override;
  double alpha;
};
class GELU : public Module {
 public:
  explicit GELU(std::string approximate = "none");  // "none" or "tanh"
  Tensor forward(const Tensor& x) const;
  EMBER_NN_ACTIVATION_CALL
  std::string extra_repr() const override;
  std::string approximate;
};
class SiLU : public Module {
 public:
  Tensor forward(const Tensor& x) const;
  EMBER_NN_ACTIVATION_CALL
};
class Sigmoid : public Module {
 public:
  Tensor forward(const Tensor& x) const;
  EMBER_NN_ACTIVATION_CALL
};
class Tanh : public Module {
 public:
  Tensor forward(const Tensor& x) const;
  EMBER_NN_ACTIVATION_CALL
};
class Softplus : public Module {
 public:
  explicit Softplus(double beta = 1.0, double threshold = 20.0) : beta(beta), threshold(threshold) {}
  Tensor forward(const Tensor& x) const;
  EMBER_NN_ACTIVATION_CALL
  std::string extra_repr() const override;
  double beta, threshold;
};
class Softmax : public Module {
 public:
  explicit Softmax(int64_t dim) : dim(dim) {}
  Tensor forward(const Tensor& x) const;
  EMBER_NN_ACTIVATION_CALL
  std::string extra_repr() const override;
  int64_t dim;
};
class LogSoftmax : public Module {
 public:
  explicit LogSoftmax(int64_t dim) : dim(dim) {}
  Tensor forward(const Tensor& x) const;
  EMBER_NN_ACTIVATION_CALL
  std::string extra_repr() const override;
  int64_t dim;
};
#undef EMBER_NN_ACTIVATION_CALL

}  // namespace ember::nn
