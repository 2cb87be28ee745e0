// Factories and random tensors. None of these record autograd history.
#include "ember/ops/creation.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "ember/ops/shape.h"
#include "iter.h"

namespace ember {
using namespace detail;
namespace {

void fill_with(Tensor& t, Scalar value) {
  visit_dtype(t.dtype(), [&]<class T>() {
    const T v = value.to<T>();
    StridedOperands<1> ops{{static_cast<char*>(t.raw_data())}, {detail::broadcast_byte_strides(t, t.sizes())}};
    for_each_strided<1>(t.sizes(), ops, kElementwiseGrain,
                        [&](const std::array<char*, 1>& p, const std::array<int64_t, 1>& s, int64_t n) {
                          for (int64_t j = 0; j < n; ++j) *reinterpret_cast<T*>(p[0] + j * s[0]) = v;
                        });
  });
}

// Fills contiguous `t` with f(i) for element index i, in parallel; f must be
// a pure function of i (that is what makes random tensors thread-count independent).
template <class T, class F>
void fill_indexed(Tensor& t, const F& f) {
  T* p = t.data_ptr<T>();
  parallel_for(0, t.numel(), kElementwiseGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) p[i] = T(f(i));
  });
}

Generator& gen_or_default(Generator* gen) { return gen ? *gen : default_generator(); }

}  // namespace


Tensor empty(Shape sizes, DType dtype) { return Tensor::empty(std::move(sizes), dtype); }

Tensor full(Shape sizes, Scalar value, std::optional<DType> dtype) {
  Tensor t = Tensor::empty(std::move(sizes), dtype.value_or(value.dtype()));
  fill_with(t, value);
  return t;
}
Tensor zeros(Shape sizes, DType dtype) { return full(std::move(sizes), 0, dtype); }
Tensor ones(Shape sizes, DType dtype) { return full(std::move(sizes), 1, dtype); }
Tensor empty_like(const Tensor& t, std::optional<DType> dtype) { return empty(t.sizes(), dtype.value_or(t.dtype())); }
Tensor zeros_like(const Tensor& t, std::optional<DType> dtype) { return zeros(t.sizes(), dtype.value_or(t.dtype())); }
Tensor ones_like(const Tensor& t, std::optional<DType> dtype) { return ones(t.sizes(), dtype.value_or(t.dtype())); }
Tensor full_like(const Tensor& t, Scalar value, std::optional<DType> dtype) {
  return full(t.sizes(), value, dtype.value_or(t.dtype()));
}
Tensor rand_like(const Tensor& t, Generator* gen) { return rand(t.sizes(), t.dtype(), gen); }
Tensor randn_like(const Tensor& t, Generator* gen) { return randn(t.sizes(), t.dtype(), gen); }

Tensor scalar_tensor(Scalar value, std::optional<DType> dtype) { return full({}, value, dtype); }

namespace detail {
Tensor tensor_from_data(const void* data, DType src_dtype, Shape sizes, std::optional<DType> dtype) {
  Tensor src = Tensor::empty(sizes, src_dtype);
  // An empty std::vector's data() may be null, which memcpy must never see.
  if (src.numel() > 0) std::memcpy(src.raw_data(), data, size_t(src.numel()) * itemsize(src_dtype));
  return dtype && *dtype != src_dtype ? src.to(*dtype) : src;
}
}  // namespace detail

Tensor arange(Scalar end) { return arange(0, end); }

Tensor arange(Scalar start, Scalar end, Scalar step, std::optional<DType> dtype) {
  const double s = start.to_double(), e = end.to_double(), st = step.to_double();
  EMBER_CHECK(st != 0, ValueError, "arange: step must be nonzero");
  EMBER_CHECK((st > 0 && e >= s) || (st < 0 && e <= s), ValueError, "arange: upper bound and larger bound "
              "inconsistent with step sign (start ", start, ", end ", end, ", step ", step, ")");
  const bool all_int = !start.is_floating() && !end.is_floating() && !step.is_floating();
  const DType dt = dtype.value_or(all_int ? DType::i64 : kDefaultFloat);
  const int64_t n = all_int ? (end.to_int() - start.to_int() + step.to_int() - (st > 0 ? 1 : -1)) / step.to_int()
                            : int64_t(std::ceil((e - s) / st));
  Tensor t = Tensor::empty({std::max<int64_t>(n, 0)}, dt);
  visit_dtype(dt, [&]<class T>() {
    if (all_int) fill_indexed<T>(t, [&](int64_t i) { return compute_t<T>(start.to_int() + i * step.to_int()); });
    else fill_indexed<T>(t, [&](int64_t i) { return compute_t<T>(s + double(i) * st); });
  });
  return t;
}

Tensor linspace(double start, double end, int64_t steps, DType dtype) {
  EMBER_CHECK(steps >= 0, ValueError, "linspace: number of steps must be non-negative, got ", steps);
  Tensor t = Tensor::empty({steps}, dtype);
  const double step = steps > 1 ? (end - start) / double(steps - 1) : 0;
  // Like PyTorch, fill the second half backwards from `end` so both ends are exact.
  visit_dtype(dtype, [&]<class T>() {
    fill_indexed<T>(t, [&](int64_t i) {
      // One step is `start`, as in PyTorch (the backward half would give `end`).
      if (steps == 1) return compute_t<T>(start);
      const double v = i < steps / 2 ? start + step * double(i) : end - step * double(steps - 1 - i);
      return compute_t<T>(v);
    });
  });
  return t;
}

Tensor eye(int64_t n, std::optional<int64_t> m, DType dtype) {
  const int64_t cols = m.value_or(n);
  EMBER_CHECK(n >= 0 && cols >= 0, ValueError, "eye: sizes must be non-negative, got ", n, " x ", cols);
  Tensor t = zeros({n, cols}, dtype);
  visit_dtype(dtype, [&]<class T>() {
    T* p = t.data_ptr<T>();
    for (int64_t i = 0; i < std::min(n, cols); ++i) p[i * cols + i] = T(compute_t<T>(1));
  });
  return t;
}

Tensor one_hot(const Tensor& indices, int64_t num_classes) {
  EMBER_CHECK(indices.dtype() == DType::i64, DTypeError, "one_hot: indices must be int64, got ", indices.dtype());
  std::vector<int64_t> idx = indices.to_vector<int64_t>();
  int64_t classes = num_classes;
  if (classes < 0) {
    EMBER_CHECK(!idx.empty(), ValueError, "one_hot: cannot infer the number of classes of an empty tensor");
    classes = *std::max_element(idx.begin(), idx.end()) + 1;
  }
  Shape sizes = indices.sizes();
  sizes.push_back(classes);
  Tensor t = zeros(sizes, DType::i64);
  int64_t* p = t.data_ptr<int64_t>();
  for (size_t i = 0; i < idx.size(); ++i) {
    EMBER_CHECK(idx[i] >= 0 && idx[i] < classes, IndexError, "one_hot: class index ", idx[i],
                " is out of range for ", classes, " classes");
    p[int64_t(i) * classes + idx[i]] = 1;
  }
  return t;
}

Tensor rand(Shape sizes, DType dtype, Generator* gen) {
  EMBER_CHECK(is_floating(dtype), DTypeError, "rand: dtype must be floating point, got ", dtype);
  Tensor t = Tensor::empty(std::move(sizes), dtype);
  Generator& g = gen_or_default(gen);
  const uint64_t seed = g.seed(), first = g.reserve(uint64_t(t.numel()));
  visit_dtype(dtype, [&]<class T>() {
    if constexpr (std::is_same_v<T, double>) fill_indexed<T>(t, [&](int64_t i) { return random_uniform_f64(seed, first, uint64_t(i)); });
    else if constexpr (is_floating_v<T>) fill_indexed<T>(t, [&](int64_t i) { return random_uniform_f32(seed, first, uint64_t(i)); });
  });
  return t;
}

Tensor randn(Shape sizes, DType dtype, Generator* gen) {
  EMBER_CHECK(is_floating(dtype), DTypeError, "randn: dtype must be floating point, got ", dtype);
  Tensor t = Tensor::empty(std::move(sizes), dtype);
  Generator& g = gen_or_default(gen);
  const uint64_t seed = g.seed(), first = g.reserve(uint64_t(t.numel()));
  visit_dtype(dtype, [&]<class T>() {
    if constexpr (is_floating_v<T>)
      fill_indexed<T>(t, [&](int64_t i) { return compute_t<T>(random_normal(seed, first, uint64_t(i))); });
  });
  return t;
}

Tensor randint(int64_t low, int64_t high, Shape sizes, DType dtype, Generator* gen) {
  EMBER_CHECK(high > low, ValueError, "randint: high (", high, ") must be greater than low (", low, ")");
  Tensor t = Tensor::empty(std::move(sizes), dtype);
  Generator& g = gen_or_default(gen);
  const uint64_t seed = g.seed(), first = g.reserve(uint64_t(t.numel()));
  const uint64_t range = uint64_t(high - low);
  visit_dtype(dtype, [&]<class T>() {
    fill_indexed<T>(t, [&](int64_t i) {
      // 64 random bits make the modulo bias negligible for any realistic range.
      const auto b = Philox::block(seed, 2, first + uint64_t(i));
      const uint64_t r = (uint64_t(b[0]) << 32 | b[1]) % range;
      return compute_t<T>(low + int64_t(r));
    });
  });
  return t;
}

Tensor bernoulli(const Tensor& p, Generator* gen) {
  EMBER_CHECK(is_floating(p.dtype()), DTypeError, "bernoulli: p must be floating point, got ", p.dtype());
  Tensor probs = p.to(DType::f64).contiguous();
  Tensor u = rand(p.sizes(), DType::f64, gen);
  Tensor out = Tensor::empty(p.sizes(), p.dtype());
  const double* pp = probs.data_ptr<double>();
  const double* pu = u.data_ptr<double>();
  for (int64_t i = 0; i < p.numel(); ++i)
    EMBER_CHECK(pp[i] >= 0 && pp[i] <= 1, ValueError, "bernoulli: probability ", pp[i], " is not in [0, 1]");
  visit_dtype(p.dtype(), [&]<class T>() {
    fill_indexed<T>(out, [&](int64_t i) { return compute_t<T>(pu[i] < pp[i] ? 1 : 0); });
  });
  return out;
}

Tensor bernoulli(Shape sizes, double p, DType dtype, Generator* gen) {
  EMBER_CHECK(p >= 0 && p <= 1, ValueError, "bernoulli: probability ", p, " is not in [0, 1]");
  return bernoulli(full(std::move(sizes), p, dtype), gen);
}

Tensor randperm(int64_t n, DType dtype, Generator* gen) {
  EMBER_CHECK(n >= 0, ValueError, "randperm: n must be non-negative, got ", n);
  // Sort by random keys: a uniform permutation computed from counter-based
  // numbers, so the result does not depend on threads.
  Generator& g = gen_or_default(gen);
  const uint64_t seed = g.seed(), first = g.reserve(uint64_t(n));
  std::vector<std::pair<uint64_t, int64_t>> keys(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const auto b = Philox::block(seed, 3, first + uint64_t(i));
    keys[size_t(i)] = {uint64_t(b[0]) << 32 | b[1], i};
  }
  std::sort(keys.begin(), keys.end());
  std::vector<int64_t> perm(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) perm[size_t(i)] = keys[size_t(i)].second;
  return tensor(perm, {n}, dtype);
}

Tensor& uniform_(Tensor& t, double low, double high, Generator* gen) {
  t.copy_(rand(t.sizes(), t.dtype(), gen) * (high - low) + low);
  return t;
}

Tensor& normal_(Tensor& t, double mean, double std, Generator* gen) {
  t.copy_(randn(t.sizes(), t.dtype(), gen) * std + mean);
  return t;
}

}  // namespace ember
