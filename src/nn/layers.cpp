#include "ember/nn/layers.h"

#include <charconv>
#include <cmath>

#include "ember/autograd/autograd.h"
#include "ember/nn/functional.h"
#include "ember/nn/init.h"
#include "ember/ops/creation.h"
#include "ember/ops/index.h"
#include "ember/ops/linalg.h"
#include "ember/ops/unary.h"

namespace ember::nn {

namespace {

// Python's repr of a float: shortest round-trip digits, "1.0", "0.1", "1e-05".
std::string py_float(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  auto sci = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  const std::string s(buf, sci.ptr);
  const size_t e = s.find('e');
  const int exponent = std::stoi(s.substr(e + 1));
  if (exponent < -4 || exponent >= 16) {
    const std::string mantissa = s.substr(0, e);
    const int abs_exp = std::abs(exponent);
    return mantissa + (exponent < 0 ? "e-" : "e+") + (abs_exp < 10 ? "0" : "") + std::to_string(abs_exp);
  }
  auto fixed = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  std::string f(buf, fixed.ptr);
  if (f.find('.') == std::string::npos) f += ".0";
  return f;
}

std::string py_bool(bool b) { return b ? "True" : "False"; }
std::string pair_str(Int2 v) { return ::ember::detail::str_cat("(", v.h, ", ", v.w, ")"); }
// Pooling layers print an int when both sides agree, as PyTorch prints what it was given.
std::string int_or_pair(Int2 v) { return v.h == v.w ? std::to_string(v.h) : pair_str(v); }

Tensor parameter(Tensor t) { return t.requires_grad_(true); }

// U(-1/sqrt(fan_in), 1/sqrt(fan_in)): PyTorch's default bias initialization.
void init_bias(Tensor& bias, int64_t fan_in) {
  if (!bias.defined()) return;
  const double bound = fan_in > 0 ? 1.0 / std::sqrt(double(fan_in)) : 0.0;
  init::uniform_(bias, -bound, bound);
}

// PyTorch's Linear/Conv default: kaiming_uniform_(a=sqrt(5)), i.e. U(+-1/sqrt(fan_in)).
void init_weight_and_bias(Tensor& weight, Tensor& bias) {
  init::kaiming_uniform_(weight, {.a = std::sqrt(5.0)});
  init_bias(bias, weight.numel() > 0 ? init::calculate_fan_in_and_fan_out(weight).first : 0);
}

void check_positive(int64_t v, const char* layer, const char* what) {
  EMBER_CHECK(v > 0, ValueError, layer, ": ", what, " must be positive, got ", v);
}
void check_non_negative(int64_t v, const char* layer, const char* what) {
  EMBER_CHECK(v >= 0, ValueError, layer, ": ", what, " must be non-negative, got ", v);
}
void check_groups(int64_t in, int64_t out, int64_t groups, const char* layer) {
  check_positive(groups, layer, "groups");
  EMBER_CHECK(in % groups == 0 && out % groups == 0, ValueError, layer, ": in_channels (", in,
              ") and out_channels (", out, ") must both be divisible by groups (", groups, ")");
}

// An input of rank `batched` (or `batched - 1`, unbatched) with `channels` in its channel dim.
void check_channels_input(const Module& layer, const Tensor& x, int64_t batched, int64_t channels,
                          const char* layout) {
  EMBER_CHECK(x.defined(), ValueError, layer.repr(), ": input is an undefined Tensor");
  EMBER_CHECK(x.dim() == batched || x.dim() == batched - 1, ShapeError, layer.repr(), ": expected a ", batched,
              "-d input ", layout, " (or ", batched - 1, "-d unbatched), got shape ", shape_str(x.sizes()));
  const int64_t c = x.size(x.dim() == batched ? 1 : 0);
  EMBER_CHECK(c == channels, ShapeError, layer.repr(), ": expected input with ", channels,
              " channels, got shape ", shape_str(x.sizes()));
}

}  // namespace

// ---- Linear ----

Linear::Linear(int64_t in, int64_t out, LinearOptions options) : in_features(in), out_features(out) {
  check_non_negative(in, "Linear", "in_features");
  check_non_negative(out, "Linear", "out_features");
  weight = empty({out, in});
  if (options.bias) bias = empty({out});
  reset_parameters();
}

void Linear::reset_parameters() {
  init_weight_and_bias(weight, bias);
  parameter(weight);
  if (bias.defined()) parameter(bias);
}

Tensor Linear::forward(const Tensor& x) const {
  EMBER_CHECK(x.defined(), ValueError, repr(), ": input is an undefined Tensor");
  EMBER_CHECK(x.dim() >= 1 && x.size(-1) == in_features, ShapeError, repr(), ": expected input with ",
              in_features, " features in the last dim, got shape ", shape_str(x.sizes()));
  return linear(x, weight, bias);
}

std::string Linear::extra_repr() const {
  return ::ember::detail::str_cat("in_features=", in_features, ", out_features=", out_features,
                         ", bias=", py_bool(bias.defined()));
}

// ---- Bilinear ----

Bilinear::Bilinear(int64_t in1, int64_t in2, int64_t out, LinearOptions options)
    : in1_features(in1), in2_features(in2), out_features(out) {
  check_non_negative(in1, "Bilinear", "in1_features");
  check_non_negative(in2, "Bilinear", "in2_features");
  check_non_negative(out, "Bilinear", "out_features");
  weight = empty({out, in1, in2});
  if (options.bias) bias = empty({out});
  reset_parameters();
}

void Bilinear::reset_parameters() {
  const double bound = in1_features > 0 ? 1.0 / std::sqrt(double(in1_features)) : 0.0;
  init::uniform_(weight, -bound, bound);
  parameter(weight);
  if (bias.defined()) parameter(init::uniform_(bias, -bound, bound));
}

Tensor Bilinear::forward(const Tensor& x1, const Tensor& x2) const {
  EMBER_CHECK(x1.defined() && x2.defined(), ValueError, repr(), ": inputs must be defined");
  EMBER_CHECK(x1.dim() >= 1 && x1.size(-1) == in1_features && x2.dim() >= 1 && x2.size(-1) == in2_features,
              ShapeError, repr(), ": expected inputs with ", in1_features, " and ", in2_features,
              " features in the last dim, got shapes ", shape_str(x1.sizes()), " and ", shape_str(x2.sizes()));
  return bilinear(x1, x2, weight, bias);
}

std::string Bilinear::extra_repr() const {
  return ::ember::detail::str_cat("in1_features=", in1_features, ", in2_features=", in2_features,
                         ", out_features=", out_features, ", bias=", py_bool(bias.defined()));
}

// ---- convolutions ----

Conv1d::Conv1d(int64_t in, int64_t out, int64_t k, Conv1dOptions o)
    : in_channels(in), out_channels(out), kernel_size(k), options(o) {
  check_groups(in, out, o.groups, "Conv1d");
  check_positive(k, "Conv1d", "kernel_size");
  check_positive(o.stride, "Conv1d", "stride");
  check_positive(o.dilation, "Conv1d", "dilation");
  check_non_negative(o.padding, "Conv1d", "padding");
  weight = empty({out, in / o.groups, k});
  if (o.bias) bias = empty({out});
  reset_parameters();
}

void Conv1d::reset_parameters() {
  init_weight_and_bias(weight, bias);
  parameter(weight);
  if (bias.defined()) parameter(bias);
}

Tensor Conv1d::forward(const Tensor& x) const {
  check_channels_input(*this, x, 3, in_channels, "[N, C, L]");
  return conv1d(x, weight, bias,
                {.stride = options.stride, .padding = options.padding, .dilation = options.dilation,
                 .groups = options.groups});
}

std::string Conv1d::extra_repr() const {
  std::string s = ::ember::detail::str_cat(in_channels, ", ", out_channels, ", kernel_size=(", kernel_size,
                                  ",), stride=(", options.stride, ",)");
  if (options.padding != 0) s += ::ember::detail::str_cat(", padding=(", options.padding, ",)");
  if (options.dilation != 1) s += ::ember::detail::str_cat(", dilation=(", options.dilation, ",)");
  if (options.groups != 1) s += ::ember::detail::str_cat(", groups=", options.groups);
  if (!bias.defined()) s += ", bias=False";
  return s;
}

namespace {
void check_pair(Int2 v, bool positive, const char* layer, const char* what) {
  EMBER_CHECK(positive ? (v.h > 0 && v.w > 0) : (v.h >= 0 && v.w >= 0), ValueError, layer, ": ", what, " must be ",
              positive ? "positive" : "non-negative", ", got ", pair_str(v));
}
}  // namespace

Conv2d::Conv2d(int64_t in, int64_t out, Int2 k, Conv2dOptions o)
    : in_channels(in), out_channels(out), kernel_size(k), options(o) {
  check_groups(in, out, o.groups, "Conv2d");
  check_pair(k, true, "Conv2d", "kernel_size");
  check_pair(o.stride, true, "Conv2d", "stride");
  check_pair(o.dilation, true, "Conv2d", "dilation");
  check_pair(o.padding, false, "Conv2d", "padding");
  weight = empty({out, in / o.groups, k.h, k.w});
  if (o.bias) bias = empty({out});
  reset_parameters();
}

void Conv2d::reset_parameters() {
  init_weight_and_bias(weight, bias);
  parameter(weight);
  if (bias.defined()) parameter(bias);
}

Tensor Conv2d::forward(const Tensor& x) const {
  check_channels_input(*this, x, 4, in_channels, "[N, C, H, W]");
  return conv2d(x, weight, bias,
                {.stride = options.stride, .padding = options.padding, .dilation = options.dilation,
                 .groups = options.groups});
}

std::string Conv2d::extra_repr() const {
  std::string s = ::ember::detail::str_cat(in_channels, ", ", out_channels, ", kernel_size=", pair_str(kernel_size),
                                  ", stride=", pair_str(options.stride));
  if (options.padding != Int2(0)) s += ", padding=" + pair_str(options.padding);
  if (options.dilation != Int2(1)) s += ", dilation=" + pair_str(options.dilation);
  if (options.groups != 1) s += ::ember::detail::str_cat(", groups=", options.groups);
  if (!bias.defined()) s += ", bias=False";
  return s;
}

ConvTranspose2d::ConvTranspose2d(int64_t in, int64_t out, Int2 k, ConvTranspose2dOptions o)
    : in_channels(in), out_channels(out), kernel_size(k), options(o) {
  check_groups(in, out, o.groups, "ConvTranspose2d");
  check_pair(k, true, "ConvTranspose2d", "kernel_size");
  check_pair(o.stride, true, "ConvTranspose2d", "stride");
  check_pair(o.dilation, true, "ConvTranspose2d", "dilation");
  check_pair(o.padding, false, "ConvTranspose2d", "padding");
  check_pair(o.output_padding, false, "ConvTranspose2d", "output_padding");
  weight = empty({in, out / o.groups, k.h, k.w});
  if (o.bias) bias = empty({out});
  reset_parameters();
}

void ConvTranspose2d::reset_parameters() {
  init_weight_and_bias(weight, bias);
  parameter(weight);
  if (bias.defined()) parameter(bias);
}

Tensor ConvTranspose2d::forward(const Tensor& x) const {
  check_channels_input(*this, x, 4, in_channels, "[N, C, H, W]");
  return conv_transpose2d(x, weight, bias,
                          {.stride = options.stride, .padding = options.padding,
                           .output_padding = options.output_padding, .groups = options.groups,
                           .dilation = options.dilation});
}

std::string ConvTranspose2d::extra_repr() const {
  std::string s = ::ember::detail::str_cat(in_channels, ", ", out_channels, ", kernel_size=", pair_str(kernel_size),
                                  ", stride=", pair_str(options.stride));
  if (options.padding != Int2(0)) s += ", padding=" + pair_str(options.padding);
  if (options.dilation != Int2(1)) s += ", dilation=" + pair_str(options.dilation);
  if (options.output_padding != Int2(0)) s += ", output_padding=" + pair_str(options.output_padding);
  if (options.groups != 1) s += ::ember::detail::str_cat(", groups=", options.groups);
  if (!bias.defined()) s += ", bias=False";
  return s;
}

// ---- pooling ----

MaxPool2d::MaxPool2d(Int2 k, MaxPool2dOptions o) : kernel_size(k), options(o) {
  check_pair(k, true, "MaxPool2d", "kernel_size");
}

Tensor MaxPool2d::forward(const Tensor& x) const {
  return max_pool2d(x, {.kernel_size = kernel_size, .stride = options.stride, .padding = options.padding,
                        .dilation = options.dilation, .ceil_mode = options.ceil_mode});
}

std::string MaxPool2d::extra_repr() const {
  return "kernel_size=" + int_or_pair(kernel_size) + ", stride=" + int_or_pair(options.stride.value_or(kernel_size)) +
         ", padding=" + int_or_pair(options.padding) + ", dilation=" + int_or_pair(options.dilation) +
         ", ceil_mode=" + py_bool(options.ceil_mode);
}

AvgPool2d::AvgPool2d(Int2 k, AvgPool2dOptions o) : kernel_size(k), options(o) {
  check_pair(k, true, "AvgPool2d", "kernel_size");
}

Tensor AvgPool2d::forward(const Tensor& x) const {
  return avg_pool2d(x, {.kernel_size = kernel_size, .stride = options.stride, .padding = options.padding,
                        .ceil_mode = options.ceil_mode, .count_include_pad = options.count_include_pad});
}

std::string AvgPool2d::extra_repr() const {
  return "kernel_size=" + int_or_pair(kernel_size) + ", stride=" + int_or_pair(options.stride.value_or(kernel_size)) +
         ", padding=" + int_or_pair(options.padding);
}

Tensor AdaptiveAvgPool2d::forward(const Tensor& x) const { return adaptive_avg_pool2d(x, output_size); }

std::string AdaptiveAvgPool2d::extra_repr() const { return "output_size=" + int_or_pair(output_size); }

// ---- normalization ----

BatchNorm::BatchNorm(int64_t n, BatchNormOptions o, int64_t min_rank, int64_t max_rank)
    : num_features(n), options(o), min_rank_(min_rank), max_rank_(max_rank) {
  check_positive(n, "BatchNorm", "num_features");
  if (o.affine) {
    weight = parameter(ones({n}));
    if (o.bias) bias = parameter(zeros({n}));
  }
  if (o.track_running_stats) {
    running_mean = zeros({n});
    running_var = ones({n});
    num_batches_tracked = zeros({}, DType::i64);
  }
}

BatchNorm1d::BatchNorm1d(int64_t n, BatchNormOptions o) : BatchNorm(n, o, 2, 3) {}
BatchNorm2d::BatchNorm2d(int64_t n, BatchNormOptions o) : BatchNorm(n, o, 4, 4) {}

void BatchNorm::visit(Visitor& v) {
  v.parameter("weight", weight);
  v.parameter("bias", bias);
  v.buffer("running_mean", running_mean);
  v.buffer("running_var", running_var);
  v.buffer("num_batches_tracked", num_batches_tracked);
}

void BatchNorm::reset_running_stats() {
  if (!options.track_running_stats) return;
  init::zeros_(running_mean);
  init::ones_(running_var);
  init::zeros_(num_batches_tracked);
}

void BatchNorm::reset_parameters() {
  reset_running_stats();
  if (weight.defined()) init::ones_(weight);
  if (bias.defined()) init::zeros_(bias);
}

Tensor BatchNorm::forward(const Tensor& x) {
  EMBER_CHECK(x.defined(), ValueError, repr(), ": input is an undefined Tensor");
  EMBER_CHECK(x.dim() >= min_rank_ && x.dim() <= max_rank_, ShapeError, repr(), ": expected a ",
              min_rank_ == max_rank_ ? std::to_string(min_rank_) : ::ember::detail::str_cat(min_rank_, "-d or ", max_rank_),
              "-d input, got shape ", shape_str(x.sizes()));
  EMBER_CHECK(x.size(1) == num_features, ShapeError, repr(), ": expected input with ", num_features,
              " channels in dim 1, got shape ", shape_str(x.sizes()));
  double momentum = options.momentum.value_or(0.0);
  if (training_ && options.track_running_stats) {
    {
      autograd::NoGradGuard no_grad;
      num_batches_tracked.add_(1);
    }
    // No momentum: a cumulative average, each batch weighted 1 / batches seen.
    if (!options.momentum) momentum = 1.0 / double(num_batches_tracked.item<int64_t>());
  }
  // Without running statistics, eval mode normalizes with the batch's own.
  const bool use_batch_stats = training_ || !options.track_running_stats;
  return batch_norm(x, running_mean, running_var, weight, bias, use_batch_stats, momentum, options.eps);
}

std::string BatchNorm::extra_repr() const {
  return ::ember::detail::str_cat(num_features, ", eps=", py_float(options.eps),
                         ", momentum=", options.momentum ? py_float(*options.momentum) : "None",
                         ", affine=", py_bool(options.affine), ", bias=", py_bool(bias.defined()),
                         ", track_running_stats=", py_bool(options.track_running_stats));
}

LayerNorm::LayerNorm(Shape shape, LayerNormOptions o) : normalized_shape(std::move(shape)), options(o) {
  for (int64_t d : normalized_shape) check_non_negative(d, "LayerNorm", "normalized_shape");
  if (o.elementwise_affine) {
    weight = parameter(ones(normalized_shape));
    if (o.bias) bias = parameter(zeros(normalized_shape));
  }
}

void LayerNorm::reset_parameters() {
  if (weight.defined()) init::ones_(weight);
  if (bias.defined()) init::zeros_(bias);
}

Tensor LayerNorm::forward(const Tensor& x) const {
  EMBER_CHECK(x.defined(), ValueError, repr(), ": input is an undefined Tensor");
  const int64_t n = int64_t(normalized_shape.size());
  const bool matches = x.dim() >= n && Shape(x.sizes().end() - n, x.sizes().end()) == normalized_shape;
  EMBER_CHECK(matches, ShapeError, repr(), ": expected input whose trailing dims are ", shape_str(normalized_shape),
              ", got shape ", shape_str(x.sizes()));
  return layer_norm(x, normalized_shape, weight, bias, options.eps);
}

std::string LayerNorm::extra_repr() const {
  std::string shape = "(";
  for (size_t i = 0; i < normalized_shape.size(); ++i)
    shape += (i ? ", " : "") + std::to_string(normalized_shape[i]);
  shape += normalized_shape.size() == 1 ? ",)" : ")";
  return shape + ", eps=" + py_float(options.eps) + ", elementwise_affine=" + py_bool(options.elementwise_affine) +
         ", bias=" + py_bool(bias.defined());
}

GroupNorm::GroupNorm(int64_t groups, int64_t channels, GroupNormOptions o)
    : num_groups(groups), num_channels(channels), options(o) {
  check_positive(groups, "GroupNorm", "num_groups");
  EMBER_CHECK(channels % groups == 0, ValueError, "GroupNorm: num_channels (", channels,
              ") must be divisible by num_groups (", groups, ")");
  if (o.affine) {
    weight = parameter(ones({channels}));
    if (o.bias) bias = parameter(zeros({channels}));
  }
}

void GroupNorm::reset_parameters() {
  if (weight.defined()) init::ones_(weight);
  if (bias.defined()) init::zeros_(bias);
}

Tensor GroupNorm::forward(const Tensor& x) const {
  EMBER_CHECK(x.defined(), ValueError, repr(), ": input is an undefined Tensor");
  EMBER_CHECK(x.dim() >= 2 && x.size(1) == num_channels, ShapeError, repr(), ": expected input [N, ", num_channels,
              ", *], got shape ", shape_str(x.sizes()));
  return group_norm(x, num_groups, weight, bias, options.eps);
}

std::string GroupNorm::extra_repr() const {
  return ::ember::detail::str_cat(num_groups, ", ", num_channels, ", eps=", py_float(options.eps),
                         ", affine=", py_bool(options.affine), ", bias=", py_bool(bias.defined()));
}

// ---- dropout, embedding, flatten ----

Dropout::Dropout(double p_, Generator* gen) : p(p_), generator(gen) {
  EMBER_CHECK(p >= 0 && p <= 1, ValueError, "Dropout: probability has to be between 0 and 1, got ", p);
}

Tensor Dropout::forward(const Tensor& x) const { return dropout(x, p, training_, generator); }

std::string Dropout::extra_repr() const { return "p=" + py_float(p) + ", inplace=False"; }

Embedding::Embedding(int64_t num, int64_t dim, EmbeddingOptions o) : num_embeddings(num), embedding_dim(dim) {
  check_non_negative(num, "Embedding", "num_embeddings");
  check_non_negative(dim, "Embedding", "embedding_dim");
  if (o.padding_idx) {
    const int64_t idx = *o.padding_idx;
    EMBER_CHECK(idx >= -num && idx < num, ValueError, "Embedding: padding_idx ", idx,
                " must be within num_embeddings (", num, ")");
    padding_idx = idx < 0 ? idx + num : idx;
  }
  weight = empty({num, dim});
  reset_parameters();
}

void Embedding::reset_parameters() {
  init::normal_(weight);
  if (padding_idx) {
    autograd::NoGradGuard no_grad;
    weight.select(0, *padding_idx).zero_();
  }
  parameter(weight);
}

Tensor Embedding::forward(const Tensor& indices) const {
  EMBER_CHECK(indices.defined(), ValueError, repr(), ": input is an undefined Tensor");
  EMBER_CHECK(indices.dtype() == DType::i64 || indices.dtype() == DType::i32, DTypeError, repr(),
              ": expected integer indices (int64 or int32), got ", indices.dtype());
  return embedding(weight, indices, padding_idx);
}

std::string Embedding::extra_repr() const {
  std::string s = ::ember::detail::str_cat(num_embeddings, ", ", embedding_dim);
  if (padding_idx) s += ::ember::detail::str_cat(", padding_idx=", *padding_idx);
  return s;
}

std::string Flatten::extra_repr() const { return ::ember::detail::str_cat("start_dim=", start_dim, ", end_dim=", end_dim); }

// ---- activations ----

Tensor ReLU::forward(const Tensor& x) const { return relu(x); }
Tensor LeakyReLU::forward(const Tensor& x) const { return leaky_relu(x, negative_slope); }
std::string LeakyReLU::extra_repr() const { return "negative_slope=" + py_float(negative_slope); }
Tensor ELU::forward(const Tensor& x) const { return elu(x, alpha); }
std::string ELU::extra_repr() const { return "alpha=" + py_float(alpha); }
GELU::GELU(std::string approx) : approximate(std::move(approx)) {
  EMBER_CHECK(approximate == "none" || approximate == "tanh", ValueError,
              "GELU: approximate must be \"none\" or \"tanh\", got \"", approximate, "\"");
}
Tensor GELU::forward(const Tensor& x) const { return gelu(x, approximate); }
std::string GELU::extra_repr() const { return "approximate='" + approximate + "'"; }
Tensor SiLU::forward(const Tensor& x) const { return silu(x); }
Tensor Sigmoid::forward(const Tensor& x) const { return sigmoid(x); }
Tensor Tanh::forward(const Tensor& x) const { return tanh(x); }
Tensor Softplus::forward(const Tensor& x) const { return softplus(x, beta, threshold); }
std::string Softplus::extra_repr() const { return "beta=" + py_float(beta) + ", threshold=" + py_float(threshold); }
Tensor Softmax::forward(const Tensor& x) const { return softmax(x, dim); }
std::string Softmax::extra_repr() const { return ::ember::detail::str_cat("dim=", dim); }
Tensor LogSoftmax::forward(const Tensor& x) const { return log_softmax(x, dim); }
std::string LogSoftmax::extra_repr() const { return ::ember::detail::str_cat("dim=", dim); }

}  // namespace ember::nn
