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
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

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
memory::desc plain(const memory::dims& dims, memory::format_tag tag, memory::data_type dt = memory::data_type::f32) {
  return memory::desc(dims, dt, tag);
}
memory::desc any(const memory::dims& dims, memory::data_type dt) { return plain(dims, memory::format_tag::any, dt); }
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

// One pass's primitive, the (possibly blocked) layouts it computes in, and
// the scratch memory it needs. Primitives take their scratchpad from the
// caller (oneDNN's user mode), so it comes from Ember's caching allocator
// rather than a fresh, page-faulting allocation per call.
struct DnnlConv {
  memory::desc src, weight, dst, scratchpad;
  dnnl::primitive primitive;
};

dnnl::primitive_attr scratchpad_from_user() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

// nullptr when oneDNN has no implementation for the geometry, or (bf16) only
// its reference one, on CPUs without AVX-512: float32 is far faster there.
// oneDNN's eltwise algorithm and its alpha for an activation (silu is swish with beta 1).
std::pair<dnnl::algorithm, float> eltwise_of(Activation activation) {
  using dnnl::algorithm;
  switch (activation) {
    case Activation::relu: return {algorithm::eltwise_relu, 0.f};
    case Activation::gelu: return {algorithm::eltwise_gelu_erf, 0.f};
    case Activation::gelu_tanh: return {algorithm::eltwise_gelu_tanh, 0.f};
    case Activation::silu: return {algorithm::eltwise_swish, 1.f};
    case Activation::sigmoid: return {algorithm::eltwise_logistic, 0.f};
    case Activation::tanh: return {algorithm::eltwise_tanh, 0.f};
    case Activation::none: break;
  }
  EMBER_INTERNAL_ASSERT(false, "no oneDNN eltwise for activation ", int(activation));
  return {};
}

std::shared_ptr<const DnnlConv> make_primitive(Pass pass, const ConvGeometry& g, bool bias, memory::data_type dt,
                                               Activation activation = Activation::none) {
  using namespace dnnl;
  const memory::dims src = src_dims(g), dst = dst_dims(g), wei = weight_dims(g);
  const memory::dims strides{g.stride_h, g.stride_w}, dilates{g.dilation_h - 1, g.dilation_w - 1},
      pad{g.pad_h, g.pad_w};
  const memory::desc bias_md = bias ? plain({g.out_channels}, memory::format_tag::x, dt) : memory::desc();
  auto usable = [&](const auto& pd) {
    return dt != memory::data_type::bf16 || !std::string_view(pd.impl_info_str()).starts_with("ref");
  };
  primitive_attr attr = scratchpad_from_user();
  if (activation != Activation::none) {
    const auto [algorithm, alpha] = eltwise_of(activation);
    post_ops post;
    post.append_eltwise(1.f, algorithm, alpha, 0.f);
    attr.set_post_ops(post);
  }
  try {
    const convolution_forward::primitive_desc fwd(
        convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct, any(src, dt),
                                  any(wei, dt), bias_md, any(dst, dt), strides, dilates, pad, pad),
        attr, engine());
    switch (pass) {
      case Pass::forward:
        if (!usable(fwd)) return nullptr;
        return std::make_shared<DnnlConv>(DnnlConv{fwd.src_desc(), fwd.weights_desc(), fwd.dst_desc(),
                                                   fwd.scratchpad_desc(), convolution_forward(fwd)});
      case Pass::backward_data: {
        const convolution_backward_data::primitive_desc pd(
            convolution_backward_data::desc(algorithm::convolution_direct, any(src, dt), any(wei, dt), any(dst, dt),
                                            strides, dilates, pad, pad),
            attr, engine(), fwd);
        if (!usable(pd)) return nullptr;
        return std::make_shared<DnnlConv>(DnnlConv{pd.diff_src_desc(), pd.weights_desc(), pd.diff_dst_desc(),
                                                   pd.scratchpad_desc(), convolution_backward_data(pd)});
      }
      case Pass::backward_weight: {
        const convolution_backward_weights::primitive_desc pd(
            convolution_backward_weights::desc(algorithm::convolution_direct, any(src, dt), any(wei, dt), bias_md,
                                               any(dst, dt), strides, dilates, pad, pad),
            attr, engine(), fwd);
        if (!usable(pd)) return nullptr;
        return std::make_shared<DnnlConv>(DnnlConv{pd.src_desc(), pd.diff_weights_desc(), pd.diff_dst_desc(),
                                                   pd.scratchpad_desc(), convolution_backward_weights(pd)});
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

std::shared_ptr<const DnnlConv> cached_primitive(Pass pass, const ConvGeometry& g, bool bias, memory::data_type dt,
                                                 Activation activation = Activation::none) {
  // oneDNN sizes a primitive's work split for the thread count at creation.
  const std::array<int64_t, 21> key{int64_t(dt),  get_num_threads(), int64_t(pass),  int64_t(bias), g.batch,
                                    g.in_channels, g.in_h,           g.in_w,         g.out_channels, g.kernel_h,
                                    g.kernel_w,    g.out_h,          g.out_w,        g.stride_h,     g.stride_w,
                                    g.pad_h,       g.pad_w,          g.dilation_h,   g.dilation_w,   g.groups,
                                    int64_t(activation)};
  return cached<DnnlConv>(key, [&] { return make_primitive(pass, g, bias, dt, activation); });
}

// A oneDNN buffer of the given layout in memory from Ember's caching allocator;
// `owners` keeps that memory alive until the stream is done with it.
memory pooled_memory(const memory::desc& desc, std::vector<Tensor>& owners) {
  owners.push_back(Tensor::empty({int64_t((desc.get_size() + 3) / 4)}, DType::f32));
  return memory(desc, engine(), owners.back().raw_data());
}

// Note [Reordered copies]
// A training step reorders the same data twice: the forward's input is the
// backward-weight pass's input again, and grad_output feeds both backward
// passes; inference reorders unchanged weights on every call. So the forward
// and backward-data passes keep their reordered inputs here, and every pass
// looks here first. An entry matches the same storage (held weakly: a buffer
// freed and reallocated at the same address never matches), offset, version
// (an in-place change invalidates it; writes must bump the version, as
// autograd's saved tensors already require) and layout. A few entries
// suffice; entries whose storage has died are dropped at the next look-up.
class ReorderedCopies {
 public:
  // The copy, or an undefined tensor.
  Tensor find(const Tensor& source, const memory::desc& layout) {
    std::lock_guard lock(mutex_);
    std::erase_if(entries_, [](const Entry& e) { return e.storage.expired(); });
    for (const Entry& e : entries_)
      if (matches(e, source, layout)) return e.copy;
    return Tensor();
  }
  void insert(const Tensor& source, const memory::desc& layout, const Tensor& copy) {
    std::lock_guard lock(mutex_);
    if (entries_.size() >= kEntries) entries_.erase(entries_.begin());
    entries_.push_back({source.impl().storage, source.storage_offset(), source.version(), layout, copy});
  }

 private:
  struct Entry {
    std::weak_ptr<Storage> storage;
    int64_t offset;
    uint32_t version;
    memory::desc layout;
    Tensor copy;
  };
  static bool matches(const Entry& e, const Tensor& source, const memory::desc& layout) {
    return e.storage.lock() == source.impl().storage && e.offset == source.storage_offset() &&
           e.version == source.version() && e.layout == layout;
  }
  static constexpr size_t kEntries = 4;
  std::mutex mutex_;
  std::vector<Entry> entries_;  // oldest first
};

ReorderedCopies& reordered_copies() {
  static ReorderedCopies cache;
  return cache;
}

// Runs a pass on plain-layout buffers (nchw, oihw/goihw) of type dt,
// reordering to and from the layouts the primitive chose. `bias` is the
// forward pass's input, or the backward_weight pass's gradient output (when
// its primitive was made with one). a and b are the pass's inputs as tensors
// (see run_pass), for Note [Reordered copies].
void dnnl_execute(const DnnlConv& conv, Pass pass, const ConvGeometry& g, memory::data_type dt, void* src,
                  void* weight, void* dst, void* bias, const Tensor& a, const Tensor& b) {
  dnnl::stream stream(engine());
  std::vector<Tensor> owners;
  const memory user_src(plain(src_dims(g), memory::format_tag::nchw, dt), engine(), src);
  const memory user_weight(plain(weight_dims(g), weight_tag(g), dt), engine(), weight);
  const memory user_dst(plain(dst_dims(g), memory::format_tag::nchw, dt), engine(), dst);
  // The backward-weight pass is its inputs' last use: it reads copies, keeps none.
  const bool keep = pass != Pass::backward_weight;
  auto bring_in = [&](const memory& user, const memory::desc& want, const Tensor& source) {
    if (user.get_desc() == want) return user;
    if (Tensor copy = reordered_copies().find(source, want); copy.defined()) {
      owners.push_back(copy);
      return memory(want, engine(), copy.raw_data());
    }
    memory m = pooled_memory(want, owners);
    dnnl::reorder(user, m).execute(stream, const_cast<memory&>(user), m);
    if (keep) reordered_copies().insert(source, want, owners.back());
    return m;
  };
  auto place_out = [&](const memory& user, const memory::desc& want) {
    return user.get_desc() == want ? user : pooled_memory(want, owners);
  };
  auto take_out = [&](const memory& computed, const memory& user) {
    if (computed.get() != user.get())
      dnnl::reorder(computed, user).execute(stream, const_cast<memory&>(computed), const_cast<memory&>(user));
  };
  std::unordered_map<int, memory> args;
  if (conv.scratchpad.get_size() > 0) args.emplace(DNNL_ARG_SCRATCHPAD, pooled_memory(conv.scratchpad, owners));
  const memory user_bias =
      bias ? memory(plain({g.out_channels}, memory::format_tag::x, dt), engine(), bias) : memory();
  switch (pass) {
    case Pass::forward: {
      const memory out = place_out(user_dst, conv.dst);
      args.insert({{DNNL_ARG_SRC, bring_in(user_src, conv.src, a)},
                   {DNNL_ARG_WEIGHTS, bring_in(user_weight, conv.weight, b)},
                   {DNNL_ARG_DST, out}});
      if (bias) args.emplace(DNNL_ARG_BIAS, user_bias);
      conv.primitive.execute(stream, args);
      take_out(out, user_dst);
      break;
    }
    case Pass::backward_data: {
      const memory out = place_out(user_src, conv.src);
      args.insert({{DNNL_ARG_DIFF_DST, bring_in(user_dst, conv.dst, a)},
                   {DNNL_ARG_WEIGHTS, bring_in(user_weight, conv.weight, b)},
                   {DNNL_ARG_DIFF_SRC, out}});
      conv.primitive.execute(stream, args);
      take_out(out, user_src);
      break;
    }
    case Pass::backward_weight: {
      const memory out = place_out(user_weight, conv.weight);
      args.insert({{DNNL_ARG_SRC, bring_in(user_src, conv.src, a)},
                   {DNNL_ARG_DIFF_DST, bring_in(user_dst, conv.dst, b)},
                   {DNNL_ARG_DIFF_WEIGHTS, out}});
      if (bias) args.emplace(DNNL_ARG_DIFF_BIAS, user_bias);
      conv.primitive.execute(stream, args);
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

// grad_bias[o] = sum of grad_dst[:, o, :, :], accumulated in double.
template <class T>
void ref_backward_bias(const ConvGeometry& g, const T* gy, T* grad_bias) {
  const int64_t plane = g.out_h * g.out_w;
  parallel_for(0, g.out_channels, grain_for(g.batch * plane), [&](int64_t begin, int64_t end) {
    for (int64_t o = begin; o < end; ++o) {
      double acc = 0;
      for (int64_t n = 0; n < g.batch; ++n)
        for (const T *v = gy + (n * g.out_channels + o) * plane, *e = v + plane; v < e; ++v) acc += double(*v);
      grad_bias[o] = T(acc);
    }
  });
}

// Runs a pass whose inputs are (a, b) and whose output is `out`:
//   forward (src, weight) -> dst, backward_data (grad_dst, weight) -> grad_src,
//   backward_weight (src, grad_dst) -> grad_weight, and grad_bias when given
//   (oneDNN sums it in the same pass over grad_dst).
// float64 runs the direct loops; bfloat16 runs on oneDNN in bf16 where it
// can; everything else computes in float32. A bias is added to the output of
// forward and backward_data. A forward pass may apply an activation as a
// oneDNN post-op; when oneDNN does not run the pass, that returns false
// before computing anything.
bool run_pass(Pass pass, const ConvGeometry& g, const Tensor& a, const Tensor& b, const Tensor& bias, Tensor& out,
              Tensor* grad_bias = nullptr, Activation activation = Activation::none) {
  const bool primitive_bias = (pass == Pass::forward && bias.defined()) || grad_bias != nullptr;
  // bfloat16 stays bf16 where oneDNN has a native kernel (bf16 products,
  // float32 accumulation, one rounding; what autocast relies on), except for
  // conv_transpose2d's bias, which add_bias adds in float32.
  std::shared_ptr<const DnnlConv> bf16_conv;
  if (out.dtype() == DType::bf16 && !(pass == Pass::backward_data && bias.defined()) && dnnl_takes(g))
    bf16_conv = cached_primitive(pass, g, primitive_bias, memory::data_type::bf16, activation);
  std::shared_ptr<const DnnlConv> conv = bf16_conv;
  if (!conv && out.dtype() != DType::f64 && dnnl_takes(g))
    conv = cached_primitive(pass, g, primitive_bias, memory::data_type::f32, activation);
  if (!conv && activation != Activation::none) return false;
  const DType dt = out.dtype() == DType::f64 ? DType::f64 : bf16_conv ? DType::bf16 : DType::f32;
  const Tensor da = dense(a, dt), db = dense(b, dt), dbias = dense(bias, dt);
  Tensor result = out.dtype() == dt && out.is_contiguous() ? out : Tensor::empty(out.sizes(), dt);
  Tensor bias_result;
  if (grad_bias)
    bias_result =
        grad_bias->dtype() == dt && grad_bias->is_contiguous() ? *grad_bias : Tensor::empty({g.out_channels}, dt);
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
        if (grad_bias) ref_backward_bias<T>(g, pb, bias_result.data_ptr<T>());
        break;
    }
  };
  if (dt == DType::f64) {
    direct.operator()<double>();
  } else if (conv) {
    const memory::data_type mdt = dt == DType::bf16 ? memory::data_type::bf16 : memory::data_type::f32;
    void* pa = da.raw_data();
    void* pb = db.raw_data();
    void* po = result.raw_data();
    void* pbias = dbias.defined() ? dbias.raw_data() : grad_bias ? bias_result.raw_data() : nullptr;
    switch (pass) {
      case Pass::forward:
        dnnl_execute(*conv, pass, g, mdt, pa, pb, po, pbias, da, db);
        break;
      case Pass::backward_data:
        dnnl_execute(*conv, pass, g, mdt, po, pb, pa, nullptr, da, db);
        break;
      case Pass::backward_weight:
        dnnl_execute(*conv, pass, g, mdt, pa, po, pb, pbias, da, db);
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
  if (grad_bias && !bias_result.is_same(*grad_bias)) copy_into(*grad_bias, bias_result);
  return true;
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
bool conv2d_forward_fused(const ConvGeometry& g, const Tensor& src, const Tensor& weight, const Tensor& bias,
                          Tensor& dst, Activation activation) {
  return run_pass(Pass::forward, g, src, weight, bias, dst, nullptr, activation);
}
void conv2d_backward_data(const ConvGeometry& g, const Tensor& grad_dst, const Tensor& weight, const Tensor& bias,
                          Tensor& grad_src) {
  run_pass(Pass::backward_data, g, grad_dst, weight, bias, grad_src);
}
void conv2d_backward_weight(const ConvGeometry& g, const Tensor& src, const Tensor& grad_dst, Tensor& grad_weight,
                            Tensor* grad_bias) {
  run_pass(Pass::backward_weight, g, src, grad_dst, Tensor(), grad_weight, grad_bias);
}

}  // namespace ember::detail
