#pragma once
// Parameter initialization (torch.nn.init). Each function fills its tensor in
// place without recording autograd history and returns it; random ones draw
// from `generator` (the default generator when null).
//
//   nn::Linear fc(256, 128);
//   nn::init::kaiming_normal_(fc.weight, {.mode = nn::init::FanMode::fan_out, .nonlinearity = "relu"});
//   nn::init::zeros_(fc.bias);
//   ember::Generator gen(42);
//   nn::init::orthogonal_(fc.weight, /*gain=*/1.0, &gen);
#include <optional>
#include <string_view>
#include <utility>

#include "ember/core/generator.h"
#include "ember/core/tensor.h"

namespace ember::nn::init {

enum class FanMode { fan_in, fan_out };

// The recommended gain for a nonlinearity: "linear", "conv1d", "conv2d",
// "sigmoid" -> 1; "tanh" -> 5/3; "relu" -> sqrt(2); "leaky_relu" ->
// sqrt(2 / (1 + slope^2)) with slope = param (default 0.01); "selu" -> 3/4.
double calculate_gain(std::string_view nonlinearity, std::optional<double> param = {});
// (fan_in, fan_out) of a weight of >= 2 dims: [out, in, *kernel] -> (in * k, out * k).
std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& tensor);

Tensor& uniform_(Tensor& tensor, double a = 0.0, double b = 1.0, Generator* generator = nullptr);
Tensor& normal_(Tensor& tensor, double mean = 0.0, double std = 1.0, Generator* generator = nullptr);
Tensor& constant_(Tensor& tensor, double value);
Tensor& zeros_(Tensor& tensor);
Tensor& ones_(Tensor& tensor);

// U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out)).
Tensor& xavier_uniform_(Tensor& tensor, double gain = 1.0, Generator* generator = nullptr);
// N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out)).
Tensor& xavier_normal_(Tensor& tensor, double gain = 1.0, Generator* generator = nullptr);

struct KaimingOptions {
  double a = 0.0;  // negative slope of the following leaky_relu
  FanMode mode = FanMode::fan_in;
  std::string_view nonlinearity = "leaky_relu";
  Generator* generator = nullptr;
};
// U(-b, b) with b = gain * sqrt(3 / fan), gain = calculate_gain(nonlinearity, a).
Tensor& kaiming_uniform_(Tensor& tensor, const KaimingOptions& options = {});
// N(0, std^2) with std = gain / sqrt(fan).
Tensor& kaiming_normal_(Tensor& tensor, const KaimingOptions& options = {});

struct TruncNormalOptions {
  double mean = 0.0, std = 1.0;
  double a = -2.0, b = 2.0;  // absolute bounds, as in PyTorch
  Generator* generator = nullptr;
};
// N(mean, std^2) restricted to [a, b] (inverse-CDF sampling, as PyTorch).
Tensor& trunc_normal_(Tensor& tensor, const TruncNormalOptions& options = {});

// A (semi-)orthogonal matrix: the tensor viewed as [size(0), numel / size(0)]
// gets orthonormal rows or columns (whichever are fewer), times gain.
Tensor& orthogonal_(Tensor& tensor, double gain = 1.0, Generator* generator = nullptr);

}  // namespace ember::nn::init
