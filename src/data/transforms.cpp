#include "ember/data/transforms.h"

#include <cmath>

#include "ember/ops/creation.h"
#include "ember/ops/shape.h"
#include "seed.h"

namespace ember::data {

// A uniform integer in [0, n) from the generator's next counter.
static int64_t uniform_int(Generator& gen, int64_t n) {
  const double u = random_uniform_f64(gen.seed(), gen.reserve(1), 0);
  return std::min(n - 1, int64_t(u * double(n)));
}

Tensor Normalize::operator()(const Tensor& input, Generator&) const {
  EMBER_CHECK(input.is_floating_point(), DTypeError, "Normalize: input must be floating point, got ",
              input.dtype(), " (convert with .to(DType::f32) first)");
  EMBER_CHECK(input.dim() >= 1, ShapeError, "Normalize: input needs a channel dim, got ", input.meta_str());
  const int64_t channels = input.size(0);
  const auto per_channel = [&](const std::vector<double>& v, const char* what) {
    EMBER_CHECK(v.size() == 1 || int64_t(v.size()) == channels, ShapeError, "Normalize: ", what, " has ",
                v.size(), " values for ", channels, " channels of ", input.meta_str());
    Shape shape(size_t(input.dim()), 1);
    shape[0] = int64_t(v.size());
    return tensor(v, shape, input.dtype());
  };
  for (const double s : std) EMBER_CHECK(s != 0 && std::isfinite(s), ValueError, "Normalize: std ", s, " must be finite and nonzero");
  return (input - per_channel(mean, "mean")) / per_channel(std, "std");
}

Tensor RandomCrop::operator()(const Tensor& input, Generator& gen) const {
  EMBER_CHECK(input.dim() >= 2, ShapeError, "RandomCrop: input needs height and width dims, got ",
              input.meta_str());
  EMBER_CHECK(size.h >= 1 && size.w >= 1 && padding.h >= 0 && padding.w >= 0, ValueError,
              "RandomCrop: size must be positive and padding >= 0, got size (", size.h, ", ", size.w,
              ") padding (", padding.h, ", ", padding.w, ")");
  const Tensor padded = padding == Int2(0) ? input : pad(input, {padding.w, padding.w, padding.h, padding.h}, "constant", fill);
  const int64_t height = padded.size(-2), width = padded.size(-1);
  EMBER_CHECK(size.h <= height && size.w <= width, ValueError, "RandomCrop: crop (", size.h, ", ", size.w,
              ") is larger than the padded input (", height, ", ", width, ")");
  const int64_t top = uniform_int(gen, height - size.h + 1);
  const int64_t left = uniform_int(gen, width - size.w + 1);
  return padded.narrow(-2, top, size.h).narrow(-1, left, size.w).contiguous();
}

Tensor RandomHorizontalFlip::operator()(const Tensor& input, Generator& gen) const {
  EMBER_CHECK(p >= 0 && p <= 1, ValueError, "RandomHorizontalFlip: p must be in [0, 1], got ", p);
  EMBER_CHECK(input.dim() >= 1, ShapeError, "RandomHorizontalFlip: input is 0-d");
  const double u = random_uniform_f64(gen.seed(), gen.reserve(1), 0);
  return u < p ? flip(input, {-1}) : input;
}

Tensor Compose::operator()(const Tensor& input, Generator& gen) const {
  Tensor x = input;
  for (size_t i = 0; i < transforms.size(); ++i) {
    EMBER_CHECK(transforms[i] != nullptr, ValueError, "Compose: transform ", i, " is empty");
    x = transforms[i](x, gen);
  }
  return x;
}

uint64_t example_seed(uint64_t seed, int64_t epoch, int64_t index) {
  using detail::mix_seed;
  return mix_seed(mix_seed(mix_seed(seed, detail::kTransformStream), uint64_t(epoch)), uint64_t(index));
}

}  // namespace ember::data
