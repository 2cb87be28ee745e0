// Printing in the format of PyTorch's repr:
//   tensor([[1.0000, 2.5000],
//           [3.0000, 4.0000]], dtype=float64, requires_grad=True)
#include <cmath>
#include <cstdio>
#include <ostream>
#include <sstream>

#include "ember/autograd/autograd.h"
#include "ember/core/tensor.h"

namespace ember {
namespace {

PrintOptions g_options;

struct Formatter {
  bool floating = false, all_integral = true, scientific = false, is_bool = false;
  int precision = 4;
  size_t width = 1;

  std::string format(double v) const {
    char buf[64];
    if (is_bool) return v != 0 ? "True" : "False";
    if (!floating) std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
    else if (std::isnan(v)) std::snprintf(buf, sizeof buf, "nan");
    else if (std::isinf(v)) std::snprintf(buf, sizeof buf, v > 0 ? "inf" : "-inf");
    else if (scientific) std::snprintf(buf, sizeof buf, "%.*e", precision, v);
    else if (all_integral) std::snprintf(buf, sizeof buf, "%.0f.", v);
    else std::snprintf(buf, sizeof buf, "%.*f", precision, v);
    return buf;
  }
  std::string padded(double v) const {
    std::string s = format(v);
    return std::string(width > s.size() ? width - s.size() : 0, ' ') + s;
  }
};

// Element values as double, with index lists of what is shown (elided dims).
void write_dim(std::ostream& os, const std::vector<double>& values, const Shape& sizes, const Shape& strides,
               size_t dim, int64_t base, const Formatter& f, bool elide, int indent) {
  const int64_t n = sizes[dim];
  const int64_t edge = g_options.edgeitems;
  os << "[";
  for (int64_t i = 0; i < n; ++i) {
    if (elide && n > 2 * edge && i == edge) {
      os << (dim + 1 == sizes.size() ? "..., " : "...,\n" + std::string(size_t(indent + 1), ' '));
      if (dim + 1 < sizes.size() && sizes.size() - dim > 2) os << "\n" << std::string(size_t(indent + 1), ' ');
      i = n - edge;
    }
    const int64_t off = base + i * strides[dim];
    if (dim + 1 == sizes.size()) os << f.padded(values[size_t(off)]);
    else write_dim(os, values, sizes, strides, dim + 1, off, f, elide, indent + 1);
    if (i + 1 < n) {
      if (dim + 1 == sizes.size()) os << ", ";
      else os << "," << std::string(sizes.size() - dim - 1, '\n') << std::string(size_t(indent + 1), ' ');
    }
  }
  os << "]";
}

}  // namespace

void set_print_options(const PrintOptions& options) { g_options = options; }

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
  if (!t.defined()) return os << "tensor(undefined)";
  autograd::NoGradGuard no_grad;
  const Tensor c = t.to(DType::f64).contiguous();
  const std::vector<double> values = c.to_vector<double>();
  Formatter f;
  f.floating = t.is_floating_point();
  f.is_bool = t.dtype() == DType::b8;
  f.precision = g_options.precision;
  const bool elide = t.numel() > g_options.threshold;
  double max_abs = 0, min_abs = INFINITY;
  for (double v : values) {
    if (!std::isfinite(v)) continue;
    if (v != std::floor(v)) f.all_integral = false;
    max_abs = std::max(max_abs, std::abs(v));
    if (v != 0) min_abs = std::min(min_abs, std::abs(v));
  }
  if (f.floating && !f.all_integral && max_abs > 0)
    f.scientific = max_abs / min_abs > 1000 || max_abs > 1e8 || min_abs < 1e-4;
  if (f.floating && f.all_integral && max_abs > 1e8) f.scientific = true;
  for (double v : values) f.width = std::max(f.width, f.format(v).size());

  os << "tensor(";
  if (t.dim() == 0) {
    os << f.format(values[0]);
  } else if (t.numel() == 0) {
    os << "[]";
  } else {
    write_dim(os, values, c.sizes(), c.strides(), 0, 0, f, elide, 7);
  }
  const DType dt = t.dtype();
  if (t.numel() == 0 && t.dim() != 1) {
    os << ", size=(";
    for (int64_t i = 0; i < t.dim(); ++i) os << (i ? ", " : "") << t.sizes()[size_t(i)];
    os << (t.dim() == 1 ? ",)" : ")");
  }
  if (dt != DType::f32 && dt != DType::i64 && dt != DType::b8) os << ", dtype=" << dt;
  if (t.grad_fn()) os << ", grad_fn=<" << t.grad_fn()->name() << ">";
  else if (t.requires_grad()) os << ", requires_grad=True";  // Python spelling, as PyTorch prints it
  return os << ")";
}

std::string to_string(const Tensor& t) {
  std::ostringstream os;
  os << t;
  return os.str();
}

}  // namespace ember
