#include "ember/nn/functional.h"

#include "ember/ops/binary.h"
#include "ember/ops/linalg.h"
#include "ember/ops/reduce.h"
#include "ember/ops/unary.h"

namespace ember {

Tensor bilinear(const Tensor& x1, const Tensor& x2, const Tensor& weight, const Tensor& bias) {
  EMBER_CHECK(x1.defined() && x2.defined() && weight.defined(), ValueError,
              "bilinear: input1, input2 and weight must be defined");
  EMBER_CHECK(weight.dim() == 3, ShapeError, "bilinear: expected a 3-d weight [out, in1, in2], got ",
              shape_str(weight.sizes()));
  const int64_t out = weight.size(0), in1 = weight.size(1), in2 = weight.size(2);
  EMBER_CHECK(x1.dim() >= 1 && x2.dim() == x1.dim() && x1.size(-1) == in1 && x2.size(-1) == in2 &&
                  Shape(x1.sizes().begin(), x1.sizes().end() - 1) == Shape(x2.sizes().begin(), x2.sizes().end() - 1),
              ShapeError, "bilinear: inputs ", shape_str(x1.sizes()), " and ", shape_str(x2.sizes()),
              " do not match weight ", shape_str(weight.sizes()), " (need [..., ", in1, "] and [..., ", in2,
              "] with the same leading dims)");
  EMBER_CHECK(!bias.defined() || bias.sizes() == Shape{out}, ShapeError, "bilinear: bias of shape ",
              shape_str(bias.sizes()), " does not match ", out, " output features");
  Shape out_shape(x1.sizes().begin(), x1.sizes().end() - 1);
  out_shape.push_back(out);
  // One GEMM: (x1 [n, in1]) @ (W as [in1, out * in2]), then a row-wise dot with x2.
  const Tensor a = x1.reshape({-1, in1}), b = x2.reshape({-1, in2});
  const Tensor w = weight.permute({1, 0, 2}).reshape({in1, out * in2});
  Tensor y = (matmul(a, w).view({-1, out, in2}) * b.unsqueeze(1)).sum({-1});
  if (bias.defined()) y = y + bias;
  return y.reshape(out_shape);
}

Tensor huber_loss(const Tensor& input, const Tensor& target, Reduction reduction, double delta) {
  EMBER_CHECK(input.defined() && target.defined(), ValueError, "huber_loss: input and target must be defined");
  EMBER_CHECK(input.sizes() == target.sizes(), ShapeError, "huber_loss: input ", shape_str(input.sizes()),
              " and target ", shape_str(target.sizes()), " must have the same shape");
  EMBER_CHECK(delta > 0, ValueError, "huber_loss: delta must be positive, got ", delta);
  const Tensor diff = input - target;
  const Tensor abs_diff = abs(diff);
  const Tensor loss = where(abs_diff < delta, 0.5 * diff * diff, delta * (abs_diff - 0.5 * delta));
  switch (reduction) {
    case Reduction::none: return loss;
    case Reduction::sum: return loss.sum();
    case Reduction::mean: return loss.mean();
  }
  EMBER_THROW(ValueError, "huber_loss: unknown reduction");
}

}  // namespace ember
