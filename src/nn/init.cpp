#include "ember/nn/init.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "ember/autograd/autograd.h"
#include "ember/ops/creation.h"

namespace ember::nn::init {

namespace {

int64_t fan(const Tensor& t, FanMode mode) {
  auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  return mode == FanMode::fan_in ? fan_in : fan_out;
}

// Inverse of erf on (-1, 1): Giles' single-precision approximation
// ("Approximating the erfinv function", 2010), polished by Newton steps on
// std::erf to double precision.
double erfinv(double y) {
  if (y <= -1) return -INFINITY;
  if (y >= 1) return INFINITY;
  double w = -std::log((1.0 - y) * (1.0 + y)), x;
  if (w < 5.0) {
    w -= 2.5;
    double p = 2.81022636e-08;
    for (double c : {3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503,
                     -0.00417768164, 0.246640727, 1.50140941})
      p = c + p * w;
    x = p * y;
  } else {
    w = std::sqrt(w) - 3.0;
    double p = -0.000200214257;
    for (double c : {0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613,
                     0.00943887047, 1.00167406, 2.83297682})
      p = c + p * w;
    x = p * y;
  }
  const double two_over_sqrt_pi = 1.1283791670955126;
  for (int i = 0; i < 2; ++i) x -= (std::erf(x) - y) / (two_over_sqrt_pi * std::exp(-x * x));
  return x;
}

double norm_cdf(double x) { return 0.5 * (1.0 + std::erf(x / std::sqrt(2.0))); }

void check_defined(const Tensor& t, const char* fn) {
  EMBER_CHECK(t.defined(), ValueError, "nn::init::", fn, ": tensor is undefined");
}

}  // namespace

double calculate_gain(std::string_view nonlinearity, std::optional<double> param) {
  if (nonlinearity == "linear" || nonlinearity == "conv1d" || nonlinearity == "conv2d" ||
      nonlinearity == "conv3d" || nonlinearity == "conv_transpose1d" || nonlinearity == "conv_transpose2d" ||
      nonlinearity == "conv_transpose3d" || nonlinearity == "sigmoid")
    return 1.0;
  if (nonlinearity == "tanh") return 5.0 / 3.0;
  if (nonlinearity == "relu") return std::sqrt(2.0);
  if (nonlinearity == "leaky_relu") {
    const double slope = param.value_or(0.01);
    return std::sqrt(2.0 / (1.0 + slope * slope));
  }
  if (nonlinearity == "selu") return 3.0 / 4.0;
  EMBER_THROW(ValueError, "calculate_gain: unsupported nonlinearity \"", nonlinearity, "\"");
}

std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& tensor) {
  check_defined(tensor, "calculate_fan_in_and_fan_out");
  EMBER_CHECK(tensor.dim() >= 2, ValueError,
              "calculate_fan_in_and_fan_out: fan in and fan out can not be computed for a tensor with fewer than 2 "
              "dimensions, got shape ",
              shape_str(tensor.sizes()));
  int64_t receptive_field = 1;
  for (int64_t d = 2; d < tensor.dim(); ++d) receptive_field *= tensor.size(d);
  return {tensor.size(1) * receptive_field, tensor.size(0) * receptive_field};
}

Tensor& uniform_(Tensor& tensor, double a, double b, Generator* generator) {
  check_defined(tensor, "uniform_");
  autograd::NoGradGuard no_grad;
  return ::ember::uniform_(tensor, a, b, generator);
}

Tensor& normal_(Tensor& tensor, double mean, double std, Generator* generator) {
  check_defined(tensor, "normal_");
  autograd::NoGradGuard no_grad;
  return ::ember::normal_(tensor, mean, std, generator);
}

Tensor& constant_(Tensor& tensor, double value) {
  check_defined(tensor, "constant_");
  autograd::NoGradGuard no_grad;
  return tensor.fill_(value);
}

Tensor& zeros_(Tensor& tensor) { return constant_(tensor, 0.0); }
Tensor& ones_(Tensor& tensor) { return constant_(tensor, 1.0); }

Tensor& xavier_uniform_(Tensor& tensor, double gain, Generator* generator) {
  auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(tensor);
  const double stddev = gain * std::sqrt(2.0 / double(fan_in + fan_out));
  const double bound = std::sqrt(3.0) * stddev;
  return init::uniform_(tensor, -bound, bound, generator);
}

Tensor& xavier_normal_(Tensor& tensor, double gain, Generator* generator) {
  auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(tensor);
  return init::normal_(tensor, 0.0, gain * std::sqrt(2.0 / double(fan_in + fan_out)), generator);
}

Tensor& kaiming_uniform_(Tensor& tensor, const KaimingOptions& o) {
  check_defined(tensor, "kaiming_uniform_");
  if (tensor.numel() == 0) return tensor;  // PyTorch: a no-op on zero-element tensors
  const double stddev = calculate_gain(o.nonlinearity, o.a) / std::sqrt(double(fan(tensor, o.mode)));
  const double bound = std::sqrt(3.0) * stddev;
  return init::uniform_(tensor, -bound, bound, o.generator);
}

Tensor& kaiming_normal_(Tensor& tensor, const KaimingOptions& o) {
  check_defined(tensor, "kaiming_normal_");
  if (tensor.numel() == 0) return tensor;
  const double stddev = calculate_gain(o.nonlinearity, o.a) / std::sqrt(double(fan(tensor, o.mode)));
  return init::normal_(tensor, 0.0, stddev, o.generator);
}

Tensor& trunc_normal_(Tensor& tensor, const TruncNormalOptions& o) {
  check_defined(tensor, "trunc_normal_");
  EMBER_CHECK(o.std > 0 && o.a < o.b, ValueError, "trunc_normal_: need std > 0 and a < b, got std=", o.std,
              ", a=", o.a, ", b=", o.b);
  // Uniform in [cdf(a), cdf(b)] mapped through the inverse normal CDF.
  const double lo = 2 * norm_cdf((o.a - o.mean) / o.std) - 1, hi = 2 * norm_cdf((o.b - o.mean) / o.std) - 1;
  std::vector<double> values = rand(tensor.sizes(), DType::f64, o.generator).to_vector<double>();
  for (double& v : values)
    v = std::clamp(o.mean + o.std * std::sqrt(2.0) * erfinv(lo + (hi - lo) * v), o.a, o.b);
  autograd::NoGradGuard no_grad;
  tensor.copy_(ember::tensor(values, tensor.sizes(), DType::f64));
  return tensor;
}

Tensor& orthogonal_(Tensor& tensor, double gain, Generator* generator) {
  check_defined(tensor, "orthogonal_");
  EMBER_CHECK(tensor.dim() >= 2, ValueError, "orthogonal_: only tensors with 2 or more dimensions are supported, got shape ",
              shape_str(tensor.sizes()));
  if (tensor.numel() == 0) return tensor;
  const int64_t rows = tensor.size(0), cols = tensor.numel() / rows;
  // QR of a Gaussian matrix with R's diagonal made positive gives a Haar-
  // distributed Q (PyTorch's recipe). Gram-Schmidt yields exactly that Q;
  // it runs on the taller orientation, columns of a [m, n] matrix with m >= n.
  const bool transposed = rows < cols;
  const int64_t m = transposed ? cols : rows, n = transposed ? rows : cols;
  const std::vector<double> g = randn({rows, cols}, DType::f64, generator).to_vector<double>();
  std::vector<double> q(size_t(m * n));  // column-major: q[j * m + i]
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) {
      const double v = g[size_t(i * cols + j)];
      if (transposed) q[size_t(i * m + j)] = v;  // column i of the transpose
      else q[size_t(j * m + i)] = v;
    }
  for (int64_t j = 0; j < n; ++j) {
    double* qj = q.data() + j * m;
    // Two passes of modified Gram-Schmidt keep the columns orthogonal to rounding.
    for (int pass = 0; pass < 2; ++pass)
      for (int64_t k = 0; k < j; ++k) {
        const double* qk = q.data() + k * m;
        double dot = 0;
        for (int64_t i = 0; i < m; ++i) dot += qk[i] * qj[i];
        for (int64_t i = 0; i < m; ++i) qj[i] -= dot * qk[i];
      }
    double norm = 0;
    for (int64_t i = 0; i < m; ++i) norm += qj[i] * qj[i];
    norm = std::sqrt(norm);
    for (int64_t i = 0; i < m; ++i) qj[i] /= norm;
  }
  std::vector<double> out(size_t(rows * cols));
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j)
      out[size_t(i * cols + j)] = gain * (transposed ? q[size_t(i * m + j)] : q[size_t(j * m + i)]);
  autograd::NoGradGuard no_grad;
  tensor.copy_(ember::tensor(out, tensor.sizes(), DType::f64));
  return tensor;
}

}  // namespace ember::nn::init
