// Convolution and average-pooling kernels (see conv.h). float32 goes through oneDNN primitives,
// created once per geometry and cached; float64 (what gradchecks run in) and
// geometries oneDNN rejects use the direct loops below.
#include "conv.h"

#include <algorithm>
#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <unordered_map>

#include "../elementwise.h"
#include "ember/core/parallel.h"

namespace ember::detail {
namespace {

enum class Pass { forward, backward_data, backward_weight };

int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }  // b > 0

// The output positions q whose input position q * stride + offset lies in [0, size).
struct Range {
  int64_t begin, end;
};
Range valid_outputs(int64_t offset, int64_t stride, int64_t size, int64_t out_size) {
  const int64_t begin = std::max<int64_t>(0, floor_div(-offset + stride - 1, stride));
  const int64_t end = std::min(out_size, floor_div(size - 1 - offset, stride) + 1);
  return {begin, std::max(begin, end)};
}

// ---- direct loops (float64, and float32 where oneDNN declines) ----
// Each task owns whole output planes, so no two threads write the same element.

// Items per task so that a task has at least kElementwiseGrain multiply-adds:
// small convolutions (gradchecks run thousands) stay on one thread.
int64_t grain_for(int64_t work_per_item) {
  return std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(1, work_per_item));
}

template <class T>
void ref_forward(const ConvGeometry& g, const T* x, const T* w, const T* bias, T* y) {
  const int64_t cg = g.in_channels / g.groups, og = g.out_channels / g.groups;
  const int64_t in_plane = g.in_h * g.in_w, out_plane = g.out_h * g.out_w, ksize = g.kernel_h * g.kernel_w;
  parallel_for(0, g.batch * g.out_channels, grain_for(cg * ksize * out_plane), [&](int64_t begin, int64_t end) {
    for (int64_t no = begin; no < end; ++no) {
      const int64_t n = no / g.out_channels, o = no % g.out_channels, group = o / og;
      T* yp = y + no * out_plane;
      std::fill_n(yp, out_plane, bias ? bias[o] : T(0));
      for (int64_t c = 0; c < cg; ++c) {
        const T* xp = x + (n * g.in_channels + group * cg + c) * in_plane;
        const T* wp = w + (o * cg + c) * ksize;
        for (int64_t i = 0; i < g.kernel_h; ++i) {
          const int64_t row = i * g.dilation_h - g.pad_h;
          const Range rows = valid_outputs(row, g.stride_h, g.in_h, g.out_h);
          for (int64_t j = 0; j < g.kernel_w; ++j) {
            const T wv = wp[i * g.kernel_w + j];
            const int64_t col = j * g.dilation_w - g.pad_w;
            const Range cols = valid_outputs(col, g.stride_w, g.in_w, g.out_w);
            for (int64_t r = rows.begin; r < rows.end; ++r) {
              const T* xr = xp + (r * g.stride_h + row) * g.in_w;
              T* yr = yp + r * g.out_w;
              for (int64_t q = cols.begin; q < cols.end; ++q) yr[q] += wv * xr[q * g.stride_w + col];
            }
          }
        }
      }
    }
  });
}

template <class T>
void ref_backward_data(const ConvGeometry& g, const T* gy, const T* w, T* gx) {
  const int64_t cg = g.in_channels / g.groups, og = g.out_channels / g.groups;
  const int64_t in_plane = g.in_h * g.in_w, out_plane = g.out_h * g.out_w, ksize = g.kernel_h * g.kernel_w;
  parallel_for(0, g.batch * g.in_channels, grain_for(og * ksize * out_plane), [&](int64_t begin, int64_t end) {
    for (int64_t nc = begin; nc < end; ++nc) {
      const int64_t n = nc / g.in_channels, group = (nc % g.in_channels) / cg, c = nc % cg;
      T* xp = gx + nc * in_plane;
      std::fill_n(xp, in_plane, T(0));
      for (int64_t o = group * og; o < (group + 1) * og; ++o) {
        const T* yp = gy + (n * g.out_channels + o) * out_plane;
        const T* wp = w + (o * cg + c) * ksize;
        for (int64_t i = 0; i < g.kernel_h; ++i) {
          const int64_t row = i * g.dilation_h - g.pad_h;
          const Range rows = valid_outputs(row, g.stride_h, g.in_h, g.out_h);
          for (int64_t j = 0; j < g.kernel_w; ++j) {
            const T wv = wp[i * g.kernel_w + j];
            const int64_t col = j * g.dilation_w - g.pad_w;
            const Range cols = valid_outputs(col, g.stride_w, g.in_w, g.out_w);
            for (int64_t r = rows.begin; r < rows.end; ++r) {
              T* xr = xp + (r * g.stride_h + row) * g.in_w;
              const T* yr = yp + r * g.out_w;
              for (int64_t q = cols.begin; q < cols.end; ++q) xr[q * g.stride_w + col] += wv * yr[q];
            }
          }
        }
      }
    }
  });
}

template <class T>
void ref_backward_weight(const ConvGeometry& g, const T* x, const T* gy, T* gw) {
  const int64_t cg = g.in_channels / g.groups, og = g.out_channels / g.groups;
  const int64_t in_plane = g.in_h * g.in_w, out_plane = g.out_h * g.out_w, ksize = g.kernel_h * g.kernel_w;
  parallel_for(0, g.out_channels * cg, grain_for(g.batch * ksize * out_plane), [&](int64_t begin, int64_t end) {
    for (int64_t oc = begin; oc < end; ++oc) {
      const int64_t o = oc / cg, c = oc % cg, group = o / og;
      for (int64_t i = 0; i < g.kernel_h; ++i) {
        const int64_t row = i * g.dilation_h - g.pad_h;
        const Range rows = valid_outputs(row, g.stride_h, g.in_h, g.out_h);
        for (int64_t j = 0; j < g.kernel_w; ++j) {
          const int64_t col = j * g.dilation_w - g.pad_w;
          const Range cols = valid_outputs(col, g.stride_w, g.in_w, g.out_w);
          double acc = 0;
          for (int64_t n = 0; n < g.batch; ++n) {
            const T* xp = x + (n * g.in_channels + group * cg + c) * in_plane;
            const T* yp = gy + (n * g.out_channels + o) * out_plane;
            for (int64_t r = rows.begin; r < rows.end; ++r) {
              const T* xr = xp + (r * g.stride_h + row) * g.in_w;
              const T* yr = yp + r * g.out_w;
              for (int64_t q = cols.begin; q < cols.end; ++q) acc += double(yr[q]) * double(xr[q * g.stride_w + col]);
            }
          }
          gw[oc * ksize + i * g.kernel_w + j] = T(acc);
        }
      }
    }
  });
}

// ---- oneDNN ----

dnnl::engine& engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

using dnnl::memory;

memory::dims src_dims(const ConvGeometry& g) { return {g.batch, g.in_channels, g.in_h, g.in_w}; }
memory::dims dst_dims(const ConvGeometry& g) { return {g.batch, g.out_channels, g.out_h, g.out_w}; }
memory::dims weight_dims(const ConvGeometry& g) {
  if (g.groups == 1) return {g.out_channels, g.in_channels, g.kernel_h, g.kernel_w};
  return {g.groups, g.out_channels / g.groups, g.in_channels / g.groups, g.kernel_h, g.kernel_w};
}
memory::desc plain(const memory::dims& dims, memory::format_tag tag) {
  return memory::desc(dims, memory::data_type::f32, tag);
}
memory::desc any(const memory::dims& dims) { return plain(dims, memory::format_tag::any); }
memory::format_tag weight_tag(const ConvGeometry& g) {
  return g.groups == 1 ? memory::format_tag::oihw : memory::format_tag::goihw;
}

// oneDNN's size rule is PyTorch's floor formula with equal left and right
// padding. Transposed convolutions whose output_padding reaches the stride
// break it; empty tensors have nothing to compute.
bool dnnl_takes(const ConvGeometry& g) {
  auto fits = [](int64_t in, int64_t k, int64_t s, int64_t p, int64_t d, int64_t out) {
    return floor_div(in + 2 * p - d * (k - 1) - 1, s) + 1 == out;
  };
  const int64_t sizes[] = {g.batch,    g.in_channels, g.in_h,  g.in_w, g.out_channels,
                           g.kernel_h, g.kernel_w,    g.out_h, g.out_w};
  return std::all_of(std::begin(sizes), std::end(sizes), [](int64_t s) { return s > 0; }) &&
         fits(g.in_h, g.kernel_h, g.stride_h, g.pad_h, g.dilation_h, g.out_h) &&
         fits(g.in_w, g.kernel_w, g.stride_w, g.pad_w, g.dilation_w, g.out_w);
}

// One pass's primitive and the (possibly blocked) layouts it computes in.
struct DnnlConv {
  memory::desc src, weight, dst;
  dnnl::primitive primitive;
};

// nullptr when oneDNN has no implementation for the geometry.
std::shared_ptr<const DnnlConv> make_primitive(Pass pass, const ConvGeometry& g, bool bias) {
  using namespace dnnl;
  const memory::dims src = src_dims(g), dst = dst_dims(g), wei = weight_dims(g);
  const memory::dims strides{g.stride_h, g.stride_w}, dilates{g.dilation_h - 1, g.dilation_w - 1},
      pad{g.pad_h, g.pad_w};
  const memory::desc bias_md = bias ? plain({g.out_channels}, memory::format_tag::x) : memory::desc();
  try {
    const convolution_forward::primitive_desc fwd(
        convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct, any(src), any(wei),
                                  bias_md, any(dst), strides, dilates, pad, pad),
        engine());
    switch (pass) {
      case Pass::forward:
        return std::make_shared<DnnlConv>(
            DnnlConv{fwd.src_desc(), fwd.weights_desc(), fwd.dst_desc(), convolution_forward(fwd)});
      case Pass::backward_data: {
        const convolution_backward_data::primitive_desc pd(
            convolution_backward_data::desc(algorithm::convolution_direct, any(src), any(wei), any(dst), strides,
                                            dilates, pad, pad),
            engine(), fwd);
        return std::make_shared<DnnlConv>(
            DnnlConv{pd.diff_src_desc(), pd.weights_desc(), pd.diff_dst_desc(), convolution_backward_data(pd)});
      }
      case Pass::backward_weight: {
        const convolution_backward_weights::primitive_desc pd(
            convolution_backward_weights::desc(algorithm::convolution_direct, any(src), any(wei), any(dst), strides,
                                               dilates, pad, pad),
            engine(), fwd);
        return std::make_shared<DnnlConv>(
            DnnlConv{pd.src_desc(), pd.diff_weights_desc(), pd.diff_dst_desc(), convolution_backward_weights(pd)});
      }
    }
  } catch (const dnnl::error&) {
  }
  return nullptr;
}

// Creating a primitive descriptor costs far more than a small convolution (or
// pooling), so each key (pass and geometry) is made once, by make() outside the
// lock. Declined geometries (nullptr) are cached too. One cache per value type.
template <class V, size_t N, class Make>
std::shared_ptr<const V> cached(const std::array<int64_t, N>& key, const Make& make) {
  static std::mutex mutex;
  static std::map<std::array<int64_t, N>, std::shared_ptr<const V>> cache;
  constexpr size_t kMaxEntries = 512;  // bounds memory under ever-changing shapes
  {
    std::lock_guard lock(mutex);
    if (auto it = cache.find(key); it != cache.end()) return it->second;
  }
  std::shared_ptr<const V> made = make();  // slow
  std::lock_guard lock(mutex);
  if (cache.size() >= kMaxEntries) cache.clear();
  cache.emplace(key, made);
  return made;
}

std::shared_ptr<const DnnlConv> cached_primitive(Pass pass, const ConvGeometry& g, bool bias) {
  // oneDNN sizes a primitive's work split for the thread count at creation.
  const std::array<int64_t, 19> key{get_num_threads(), int64_t(pass), int64_t(bias), g.batch,      g.in_channels,
                                    g.in_h,            g.in_w,        g.out_channels, g.kernel_h,   g.kernel_w,
                                    g.out_h,           g.out_w,       g.stride_h,     g.stride_w,   g.pad_h,
                                    g.pad_w,           g.dilation_h,  g.dilation_w,   g.groups};
  return cached<DnnlConv>(key, [&] { return make_primitive(pass, g, bias); });
}

// Runs a pass on plain-layout buffers (nchw, oihw/goihw), reordering to and
// from the layouts the primitive chose.
void dnnl_execute(const DnnlConv& conv, Pass pass, const ConvGeometry& g, float* src, float* weight, float* dst,
                  const float* bias) {
  dnnl::stream stream(engine());
  const memory user_src(plain(src_dims(g), memory::format_tag::nchw), engine(), src);
  const memory user_weight(plain(weight_dims(g), weight_tag(g)), engine(), weight);
  const memory user_dst(plain(dst_dims(g), memory::format_tag::nchw), engine(), dst);
  auto bring_in = [&](const memory& user, const memory::desc& want) {
    if (user.get_desc() == want) return user;
    memory m(want, engine());
    dnnl::reorder(user, m).execute(stream, const_cast<memory&>(user), m);
    return m;
  };
  auto place_out = [&](const memory& user, const memory::desc& want) {
    return user.get_desc() == want ? user : memory(want, engine());
  };
  auto take_out = [&](const memory& computed, const memory& user) {
    if (computed.get() != user.get())
      dnnl::reorder(computed, user).execute(stream, const_cast<memory&>(computed), const_cast<memory&>(user));
  };
  switch (pass) {
    case Pass::forward: {
      const memory out = place_out(user_dst, conv.dst);
      std::unordered_map<int, memory> args{{DNNL_ARG_SRC, bring_in(user_src, conv.src)},
                                           {DNNL_ARG_WEIGHTS, bring_in(user_weight, conv.weight)},
                                           {DNNL_ARG_DST, out}};
      if (bias)
        args.emplace(DNNL_ARG_BIAS,
                     memory(plain({g.out_channels}, memory::format_tag::x), engine(), const_cast<float*>(bias)));
      conv.primitive.execute(stream, args);
      take_out(out, user_dst);
      break;
    }
    case Pass::backward_data: {
      const memory out = place_out(user_src, conv.src);
      conv.primitive.execute(stream, {{DNNL_ARG_DIFF_DST, bring_in(user_dst, conv.dst)},
                                      {DNNL_ARG_WEIGHTS, bring_in(user_weight, conv.weight)},
                                      {DNNL_ARG_DIFF_SRC, out}});
      take_out(out, user_src);
      break;
    }
    case Pass::backward_weight: {
      const memory out = place_out(user_weight, conv.weight);
      conv.primitive.execute(stream, {{DNNL_ARG_SRC, bring_in(user_src, conv.src)},
                                      {DNNL_ARG_DIFF_DST, bring_in(user_dst, conv.dst)},
                                      {DNNL_ARG_DIFF_WEIGHTS, out}});
      take_out(out, user_weight);
      break;
    }
  }
  stream.wait();
}

// dst[n, c, :] += bias[c] over a contiguous [N, C, plane]: the backward-data
// pass (conv_transpose2d's forward) has no bias of its own in oneDNN.
template <class T>
void add_bias(T* dst, const T* bias, int64_t batch, int64_t channels, int64_t plane) {
  parallel_for(0, batch * channels, grain_for(plane), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const T b = bias[p % channels];
      for (T *v = dst + p * plane, *e = v + plane; v < e; ++v) *v += b;
    }
  });
}

// Runs a pass whose inputs are (a, b) and whose output is `out`:
//   forward (src, weight) -> dst, backward_data (grad_dst, weight) -> grad_src,
//   backward_weight (src, grad_dst) -> grad_weight.
// float64 runs the direct loops; everything else computes in float32. A bias
// is added to the output of forward and backward_data.
void run_pass(Pass pass, const ConvGeometry& g, const Tensor& a, const Tensor& b, const Tensor& bias, Tensor& out) {
  const DType dt = out.dtype() == DType::f64 ? DType::f64 : DType::f32;
  const Tensor da = dense(a, dt), db = dense(b, dt), dbias = dense(bias, dt);
  Tensor result = out.dtype() == dt && out.is_contiguous() ? out : Tensor::empty(out.sizes(), dt);
  auto direct = [&]<class T>() {
    const T* pa = da.data_ptr<T>();
    const T* pb = db.data_ptr<T>();
    T* po = result.data_ptr<T>();
    switch (pass) {
      case Pass::forward:
        ref_forward<T>(g, pa, pb, dbias.defined() ? dbias.data_ptr<T>() : nullptr, po);
        break;
      case Pass::backward_data:
        ref_backward_data<T>(g, pa, pb, po);
        break;
      case Pass::backward_weight:
        ref_backward_weight<T>(g, pa, pb, po);
        break;
    }
  };
  if (dt == DType::f64) {
    direct.operator()<double>();
  } else if (auto conv =
                 dnnl_takes(g) ? cached_primitive(pass, g, pass == Pass::forward && dbias.defined()) : nullptr) {
    float* pa = da.data_ptr<float>();
    float* pb = db.data_ptr<float>();
    float* po = result.data_ptr<float>();
    const float* pbias = dbias.defined() ? dbias.data_ptr<float>() : nullptr;
    switch (pass) {
      case Pass::forward:
        dnnl_execute(*conv, pass, g, pa, pb, po, pbias);
        break;
      case Pass::backward_data:
        dnnl_execute(*conv, pass, g, po, pb, pa, nullptr);
        break;
      case Pass::backward_weight:
        dnnl_execute(*conv, pass, g, pa, po, pb, nullptr);
        break;
    }
  } else {
    direct.operator()<float>();
  }
  if (pass == Pass::backward_data && dbias.defined()) {
    if (dt == DType::f64)
      add_bias(result.data_ptr<double>(), dbias.data_ptr<double>(), g.batch, g.in_channels, g.in_h * g.in_w);
    else
      add_bias(result.data_ptr<float>(), dbias.data_ptr<float>(), g.batch, g.in_channels, g.in_h * g.in_w);
  }
  if (!result.is_same(out)) copy_into(out, result);
}

// ---- average pooling (oneDNN, float32) ----

memory::dims pool_src_dims(const PoolGeometry& g) { return {g.batch, g.channels, g.in_h, g.in_w}; }
memory::dims pool_dst_dims(const PoolGeometry& g) { return {g.batch, g.channels, g.out_h, g.out_w}; }

// oneDNN divides by the whole kernel (include) or by the window clipped to the
// input (exclude). PyTorch also clips the include-pad divisor to the padded
// input, which only differs for ceil_mode windows that end past it; those
// calls, whose output size breaks the floor formula, stay on the loops.
bool dnnl_takes(const PoolGeometry& g) {
  auto fits = [](int64_t in, int64_t k, int64_t s, int64_t p, int64_t out) {
    return floor_div(in + 2 * p - k, s) + 1 == out;
  };
  return g.batch > 0 && g.channels > 0 && g.in_h > 0 && g.in_w > 0 &&
         fits(g.in_h, g.kernel_h, g.stride_h, g.pad_h, g.out_h) &&
         fits(g.in_w, g.kernel_w, g.stride_w, g.pad_w, g.out_w);
}

struct DnnlPool {
  dnnl::primitive primitive;
};

std::shared_ptr<const DnnlPool> make_pool(bool backward, const PoolGeometry& g) {
  using namespace dnnl;
  const memory::desc src = plain(pool_src_dims(g), memory::format_tag::nchw);
  const memory::desc dst = plain(pool_dst_dims(g), memory::format_tag::nchw);
  const memory::dims strides{g.stride_h, g.stride_w}, kernel{g.kernel_h, g.kernel_w}, pad{g.pad_h, g.pad_w};
  const algorithm alg =
      g.count_include_pad ? algorithm::pooling_avg_include_padding : algorithm::pooling_avg_exclude_padding;
  try {
    const pooling_forward::primitive_desc fwd(
        pooling_forward::desc(prop_kind::forward_training, alg, src, dst, strides, kernel, pad, pad), engine());
    if (!backward) return std::make_shared<DnnlPool>(DnnlPool{pooling_forward(fwd)});
    const pooling_backward::primitive_desc bwd(pooling_backward::desc(alg, src, dst, strides, kernel, pad, pad),
                                               engine(), fwd);
    return std::make_shared<DnnlPool>(DnnlPool{pooling_backward(bwd)});
  } catch (const dnnl::error&) {
  }
  return nullptr;
}

// Runs the forward (a = src, out = dst) or backward (a = grad_dst, out = grad_src) pass.
bool run_avg_pool(bool backward, const PoolGeometry& g, const Tensor& a, Tensor& out) {
  if (a.dtype() != DType::f32 || out.dtype() != DType::f32 || !dnnl_takes(g)) return false;
  const std::array<int64_t, 15> key{get_num_threads(), int64_t(backward), g.batch,    g.channels,  g.in_h,
                                    g.in_w,            g.out_h,           g.out_w,    g.kernel_h,  g.kernel_w,
                                    g.stride_h,        g.stride_w,        g.pad_h,    g.pad_w,     g.count_include_pad};
  const auto pool = cached<DnnlPool>(key, [&] { return make_pool(backward, g); });
  if (!pool) return false;
  const Tensor da = dense(a, DType::f32);
  Tensor result = out.is_contiguous() ? out : Tensor::empty(out.sizes(), DType::f32);
  const memory src(plain(pool_src_dims(g), memory::format_tag::nchw), engine(),
                   backward ? result.data_ptr<float>() : da.data_ptr<float>());
  const memory dst(plain(pool_dst_dims(g), memory::format_tag::nchw), engine(),
                   backward ? da.data_ptr<float>() : result.data_ptr<float>());
  dnnl::stream stream(engine());
  if (backward)
    pool->primitive.execute(stream, {{DNNL_ARG_DIFF_DST, dst}, {DNNL_ARG_DIFF_SRC, src}});
  else
    pool->primitive.execute(stream, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}});
  stream.wait();
  if (!result.is_same(out)) copy_into(out, result);
  return true;
}

}  // namespace

bool avg_pool2d_forward(const PoolGeometry& g, const Tensor& src, Tensor& dst) {
  return run_avg_pool(false, g, src, dst);
}
bool avg_pool2d_backward(const PoolGeometry& g, const Tensor& grad_dst, Tensor& grad_src) {
  return run_avg_pool(true, g, grad_dst, grad_src);
}

Tensor dense(const Tensor& t, DType dt) {
  if (!t.defined() || (t.dtype() == dt && t.is_contiguous())) return t;
  Tensor out = Tensor::empty(t.sizes(), dt);
  copy_into(out, t);
  return out;
}

void conv2d_forward(const ConvGeometry& g, const Tensor& src, const Tensor& weight, const Tensor& bias, Tensor& dst) {
  run_pass(Pass::forward, g, src, weight, bias, dst);
}
void conv2d_backward_data(const ConvGeometry& g, const Tensor& grad_dst, const Tensor& weight, const Tensor& bias,
                          Tensor& grad_src) {
  run_pass(Pass::backward_data, g, grad_dst, weight, bias, grad_src);
}
void conv2d_backward_weight(const ConvGeometry& g, const Tensor& src, const Tensor& grad_dst, Tensor& grad_weight) {
  run_pass(Pass::backward_weight, g, src, grad_dst, Tensor(), grad_weight);
}

}  // namespace ember::detail
