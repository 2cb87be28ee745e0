#pragma once
// The per-parameter update every optimizer's step() runs: one definition of
// each algorithm's element math (a Step), run over all parameters at once in
// eager mode and recorded as one graph node per parameter while tracing.
//
// Note [Fused optimizer updates]
// torch's single-tensor optimizers chain several in-place ops per parameter
// (mul_, addcmul_, sqrt, add_, addcdiv_), each a full pass over memory. Here
// one loop does them all per element, in the same order and at the same
// precision (coefficients rounded to the parameter's dtype, as torch's
// kernels do), so results agree with torch to float rounding while memory is
// read once. Elements are independent, so parallel chunks stay deterministic.
// For the loop to vectorize it must be free of branches: kernels take their
// options as compile-time flags (dispatch_flags) and fold maximize into a
// sign (-g == -1 * g exactly); optim sources build with -fno-math-errno so
// that sqrt vectorizes too.
//
// Note [Traced optimizer steps]
// A Step is a plain struct: the group's options plus what changes per step
// (a step count, SGD's first-step flag). Its operator() updates elements
// [begin, end) of a parameter and its state buffers in place, reading the
// gradient. Each optimizer also has an OpDef (<name>_update) whose kernel
// runs the same Step, built from the node's attributes (step_attrs: the
// options by their torch names, plus "step"/"first"). Where a graph gives it
// fresh outputs, the kernel copies the parameter and state into them block
// by block (while the block is in cache) and updates the copies. In place, each array is one
// pointer, which is what lets the loops vectorize: with separate input and
// output pointers GCC needs a runtime alias check per pair and gives up
// (measured: Adam's step 4x slower).
//
// While a training step is traced (graph::is_tracing()), UpdateQueue::add
// runs the update at once through call_into(op, {param, grad, state...},
// attrs, {param, state...}): the trace executes for real, so this is the
// eager update, and the tracer records it as a node whose results go back into
// the parameter and its state buffers at every run (computed in place where
// the memory plan finds that safe, else copied: see Note [State updates in
// place] in src/graph/memory_plan.cpp). What the
// host changes between runs without re-tracing is read from the host at each
// run (graph::bind_next_attr_to_host): the group's options (LR schedulers
// write lr, OneCycleLR momentum or betas) and the step count that bias
// corrections use; the step counts themselves are incremented by a host
// effect before each run, as eager step() does before its update. Options
// that change which state buffers exist (momentum from 0, amsgrad, centered)
// need a new trace: the kernel checks. The optimizer must outlive the graph.
// These ops are not in the op registry: a graph holding host state cannot be
// saved.
#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

#include "ember/autograd/autograd.h"
#include "ember/core/parallel.h"
#include "ember/core/tensor.h"
#include "ember/graph/graph.h"
#include "ember/graph/trace.h"
#include "ember/ops/op.h"
#include "ember/optim/optimizer.h"

namespace ember::optim::detail {

inline constexpr int64_t kUpdateGrain = 1 << 15;
inline constexpr size_t kMaxStateBuffers = 3;  // Adam with amsgrad, centered RMSprop with momentum

// The arrays one Step updates (see Note [Traced optimizer steps]).
template <class T>
struct UpdateData {
  T* param = nullptr;
  const T* grad = nullptr;
  std::array<T*, kMaxStateBuffers> state = {};  // in the order the optimizer lists them
};

// ---- Step <-> attributes: the options by their visit() names, plus the
// per-step fields a Step may have ("step", the count after this update;
// "first", SGD's first-step flag) ----

template <class Step>
Attrs step_attrs(const Step& step) {
  Attrs attrs;
  auto options = step.options;
  options.visit([&](std::string_view name, auto& v) { attrs.set(std::string(name), v); });
  if constexpr (requires { step.step; }) attrs.set("step", step.step);
  if constexpr (requires { step.first; }) attrs.set("first", step.first);
  return attrs;
}

template <class Step>
Step step_from_attrs(const Attrs& attrs) {
  Step step{};
  step.options.visit([&](std::string_view name, auto& v) {
    if constexpr (std::is_same_v<std::decay_t<decltype(v)>, bool>) {
      v = attrs.b(name);
    } else {
      v = attrs.f(name);
    }
  });
  if constexpr (requires { step.step; }) step.step = attrs.i("step");
  if constexpr (requires { step.first; }) step.first = attrs.b("first");
  return step;
}

// The value of option `name` as an attribute (a double, or a bool).
template <class Options>
AttrValue option_attr(Options options, std::string_view name) {
  AttrValue value;
  options.visit([&](std::string_view n, auto& v) {
    if (n == name) value = v;
  });
  return value;
}

// ---- the update ops (one OpDef per optimizer, built from its Step) ----

// param, grad and each state buffer: same sizes, param's float dtype; the
// outputs are the new param and state buffers.
template <class Step>
std::vector<TensorMeta> infer_update(const OpDef& op, std::span<const Tensor> inputs, const Attrs& attrs) {
  const size_t buffers = step_from_attrs<Step>(attrs).num_buffers();
  EMBER_CHECK(inputs.size() == 2 + buffers, ValueError, op.name, ": expected param, grad and ", buffers,
              " state buffers, got ", inputs.size(), " inputs");
  const Tensor& param = inputs[0];
  EMBER_CHECK(param.dtype() == DType::f32 || param.dtype() == DType::f64, DTypeError, op.name, ": param is ",
              param.meta_str(), "; optimizers update float32 and float64");
  std::vector<TensorMeta> metas;
  for (size_t i = 0; i < inputs.size(); ++i) {
    EMBER_CHECK(inputs[i].sizes() == param.sizes() && inputs[i].dtype() == param.dtype(), ShapeError, op.name,
                ": ", i == 1 ? "grad" : "state buffer " + std::to_string(i - 2), " is ", inputs[i].meta_str(),
                ", the parameter is ", param.meta_str());
    if (i != 1) metas.push_back({param.sizes(), param.dtype(), param.device()});
  }
  return metas;
}

// Elements a graph's update copies at a time before updating them (see
// Note [Traced optimizer steps]): a few arrays of this many stay in L1/L2.
inline constexpr int64_t kCopyBlock = 2048;

template <class Step>
void update_kernel(std::span<const Tensor> inputs, std::span<Tensor> outputs, const Attrs& attrs) {
  const Step step = step_from_attrs<Step>(attrs);
  // A graph reads the options at each run (Note [Traced optimizer steps]);
  // ones that change which state buffers exist need a new trace.
  EMBER_CHECK(step.num_buffers() + 2 == inputs.size(), ValueError, "optimizer step: the options now need ",
              step.num_buffers(), " state buffers per parameter, the compiled step was traced with ",
              inputs.size() - 2, " (momentum, amsgrad or centered changed); compile the training step again");
  // Contiguous views of the inputs, and outputs (or contiguous stand-ins copied back below).
  TensorList in, out;
  for (const Tensor& t : inputs) in.push_back(t.contiguous());
  for (const Tensor& t : outputs) out.push_back(t.is_contiguous() ? t : Tensor::empty(t.sizes(), t.dtype()));
  visit_dtype(in[0].dtype(), [&]<class T>() {
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
      // out[k] holds param / state buffer k - 1, whose input is in[k == 0 ? 0 : k + 1].
      std::vector<const T*> sources{in[0].data_ptr<T>()};
      UpdateData<T> data{.param = out[0].data_ptr<T>(), .grad = in[1].data_ptr<T>()};
      for (size_t b = 0; b + 1 < out.size(); ++b) {
        sources.push_back(in[b + 2].data_ptr<T>());
        data.state[b] = out[b + 1].data_ptr<T>();
      }
      std::vector<T*> targets{data.param};
      targets.insert(targets.end(), data.state.begin(), data.state.begin() + std::ptrdiff_t(out.size() - 1));
      for (T* t : targets)
        EMBER_INTERNAL_ASSERT(t != data.grad, "update ops never write into their gradient's buffer");
      parallel_for(0, in[0].numel(), kUpdateGrain, [&](int64_t begin, int64_t end) {
        for (int64_t b = begin; b < end; b += kCopyBlock) {
          const int64_t e = std::min(end, b + kCopyBlock);
          for (size_t k = 0; k < targets.size(); ++k)
            if (targets[k] != sources[k]) std::copy(sources[k] + b, sources[k] + e, targets[k] + b);
          step(data, b, e);
        }
      });
    }
  });
  for (size_t i = 0; i < outputs.size(); ++i)
    if (!out[i].is_same(outputs[i])) outputs[i].copy_(out[i]);
}

// The OpDef of a Step's update (not registered; see Note [Traced optimizer steps]).
template <class Step>
OpDef update_op(std::string_view name) {
  return {.name = name,
          .inputs = {"param", "grad", "state..."},
          .infer = infer_update<Step>,
          .cpu = update_kernel<Step>,
          .nondifferentiable = "an optimizer's update of its parameters",
          .not_exportable = "an optimizer's update reads host state (its options, the step count)",
          // output 0 is the parameter (input 0), output k >= 1 state buffer k - 1 (input k + 1)
          .in_place_inputs = {0, 2, 3, 4}};
}

// Note [Multi-tensor updates]
// step() queues one update per parameter, in order: the setup (state
// buffers, step counts, coefficients) runs then, serially; run() then does
// every parameter's elements in one parallel pass. The parameters' elements,
// laid end to end, are cut into chunks of kUpdateGrain, so the small ones
// (biases) share a chunk and one OpenMP region serves the whole model instead
// of one per large parameter (torch's _multi_tensor_* / foreach path). An
// element's arithmetic is the same wherever its chunk falls, so results do not
// depend on the thread count or on the other parameters.
class UpdateQueue {
 public:
  explicit UpdateQueue(const OpDef& op) : op_(op) {}

  // Queues `step` over param (in place), its gradient and its state buffers
  // (contiguous, param's dtype). While tracing, runs it at once through the
  // update op instead, `host` naming the attributes read from the host at
  // each run of the graph (see Note [Traced optimizer steps]).
  template <class Step>
  void add(const Tensor& param, const Tensor& grad, std::vector<Tensor> state, const Step& step,
           const std::string& optimizer, const std::vector<graph::HostAttr>& host = {}) {
    EMBER_CHECK(grad.sizes() == param.sizes(), ShapeError, optimizer, ": gradient ", grad.meta_str(),
                " for a parameter ", param.meta_str());
    EMBER_INTERNAL_ASSERT(state.size() == step.num_buffers() && state.size() <= kMaxStateBuffers, optimizer,
                          ": ", state.size(), " state buffers for a step that uses ", step.num_buffers());
    // Before the host bindings: a cast is a node of its own.
    const Tensor g = grad.dtype() == param.dtype() ? grad : grad.to(param.dtype());
    if (graph::is_tracing()) {
      TensorList inputs{param, g}, outputs{param};
      inputs.insert(inputs.end(), state.begin(), state.end());
      outputs.insert(outputs.end(), state.begin(), state.end());
      Attrs attrs = step_attrs(step);
      for (const graph::HostAttr& h : host) graph::bind_next_attr_to_host(h.name, h.read);
      call_into(op_, inputs, attrs, outputs);
      return;
    }
    // Parameters are normally contiguous; a strided one is updated through a copy.
    Update u{param, param.is_contiguous() ? param : param.contiguous(), g.contiguous(), std::move(state), {}};
    auto bind = [&]<class T>() {
      UpdateData<T> data{.param = u.data.data_ptr<T>(), .grad = u.grad.data_ptr<T>()};
      for (size_t b = 0; b < u.state.size(); ++b) data.state[b] = u.state[b].data_ptr<T>();
      u.range = [step, data](int64_t begin, int64_t end) { step(data, begin, end); };
    };
    if (param.dtype() == DType::f32) {
      bind.template operator()<float>();
    } else {
      bind.template operator()<double>();  // add_param_group admits only f32 and f64
    }
    updates_.push_back(std::move(u));
  }

  // Runs the queued updates, then marks each parameter (and state buffer) modified.
  void run() {
    std::vector<int64_t> start{0};  // start[k]: where update k's elements begin, end to end
    for (const Update& u : updates_) start.push_back(start.back() + u.data.numel());
    parallel_for(0, start.back(), kUpdateGrain, [&](int64_t begin, int64_t end) {
      size_t k = size_t(std::upper_bound(start.begin(), start.end(), begin) - start.begin()) - 1;
      for (; k < updates_.size() && start[k] < end; ++k)
        updates_[k].range(std::max(begin, start[k]) - start[k], std::min(end, start[k + 1]) - start[k]);
    });
    for (const Update& u : updates_) {
      if (u.data.is_same(u.param)) {
        u.param.bump_version();
      } else {
        Tensor(u.param).copy_(u.data);
      }
      for (const Tensor& s : u.state) s.bump_version();
    }
    updates_.clear();
  }

 private:
  struct Update {
    Tensor param, data, grad;  // data: param or its contiguous copy; grad: contiguous, in param's dtype
    std::vector<Tensor> state;
    std::function<void(int64_t, int64_t)> range;  // updates elements [begin, end)
  };
  const OpDef& op_;
  std::vector<Update> updates_;
};

// Calls f(std::bool_constant<b>...) for the runtime bools given, so a kernel
// can pick its loop body with `if constexpr`.
template <class F>
void dispatch_flags(F&& f) {
  f();
}
template <class F, class... Rest>
void dispatch_flags(F&& f, bool flag, Rest... rest) {
  if (flag) {
    dispatch_flags([&](auto... flags) { f(std::true_type{}, flags...); }, rest...);
  } else {
    dispatch_flags([&](auto... flags) { f(std::false_type{}, flags...); }, rest...);
  }
}

// torch's lerp kernel: exact at both ends of the weight range.
template <class T> inline T lerp(T self, T end, T weight) {
  return weight < T(0.5) ? self + weight * (end - self) : end - (end - self) * (T(1) - weight);
}

}  // namespace ember::optim::detail

namespace ember::optim {

template <class Options, class State>
template <class Prepare>
void OptimizerBase<Options, State>::update_each(const OpDef& op, Prepare&& prepare) {
  autograd::NoGradGuard no_grad;
  detail::UpdateQueue queue(op);
  const bool tracing = graph::is_tracing();
  std::vector<std::pair<size_t, size_t>> stepped;  // (group, index) of each update, while tracing
  for (size_t g = 0; g < groups_.size(); ++g) {
    for (size_t k = 0; k < groups_[g].params.size(); ++k) {
      const Tensor& param = groups_[g].params[k];
      const Tensor grad = param.grad();
      if (!grad.defined()) continue;
      state_[g][k].initialized = true;
      const auto [step, buffers] = prepare(param, state_[g][k].state, groups_[g].options);
      std::vector<graph::HostAttr> host;
      if (tracing) {
        // See Note [Traced optimizer steps]; `this` must outlive the graph.
        Options names = groups_[g].options;
        names.visit([&](std::string_view option, auto&) {
          host.push_back(
              {std::string(option), [this, g, option] { return detail::option_attr(groups_[g].options, option); }});
        });
        if constexpr (requires { step.step; })
          host.push_back({"step", [this, g, k] { return AttrValue(state_[g][k].state.step); }});
        if constexpr (requires { step.add_host_attrs(host); }) step.add_host_attrs(host);
        stepped.emplace_back(g, k);
      }
      queue.add(param, grad, buffers, step, name(), host);
    }
  }
  queue.run();
  if constexpr (requires(State s) { ++s.step; }) {
    // Each run of the graph first counts the step, as eager step() does.
    if (tracing)
      graph::add_host_effect([this, stepped] {
        for (auto [g, k] : stepped) ++state_[g][k].state.step;
      });
  }
}

}  // namespace ember::optim
