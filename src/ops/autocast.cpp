// The autocast state and the casts call() applies (see Note [Autocast] in
// include/ember/ops/autocast.h).
#include "ember/ops/autocast.h"

#include <map>
#include <optional>
#include <utility>

#include "ember/autograd/autograd.h"
#include "ember/ops/unary.h"

namespace ember {
namespace {

// A parameter's cast, valid while the parameter keeps `version` and the cast
// records autograd exactly when a fresh one would.
struct CachedCast {
  Tensor source;  // keeps the key's TensorImpl alive, so its address is not reused
  uint32_t version = 0;
  Tensor cast;
};

struct AutocastState {
  AutocastOptions options{.enabled = false};
  int depth = 0;  // guards alive on this thread
  std::map<std::pair<const TensorImpl*, DType>, CachedCast> cache;
};

thread_local AutocastState state;

// PyTorch's rule: autocast touches floating tensors other than float64.
bool eligible(const Tensor& t) {
  return t.defined() && is_floating(t.dtype()) && t.dtype() != DType::f64 && !t.impl().is_wrapped_number;
}

// t in the lower-precision dtype; parameters through the cache.
Tensor cast_down(const Tensor& t, DType dtype) {
  const bool cacheable = state.options.cache && t.dtype() == DType::f32 && t.requires_grad() && t.is_leaf() &&
                         t.impl().view_base == nullptr;
  if (!cacheable) return to_dtype(t, dtype);
  const bool records = autograd::needs_grad(t);
  CachedCast& entry = state.cache[{&t.impl(), dtype}];
  if (!entry.cast.defined() || entry.version != t.version() || entry.cast.requires_grad() != records)
    entry = {t, t.version(), to_dtype(t, dtype)};
  return entry.cast;
}

}  // namespace

AutocastGuard::AutocastGuard(AutocastOptions options) : previous_(state.options) {
  EMBER_CHECK(options.dtype == DType::bf16 || options.dtype == DType::f16, ValueError,
              "autocast: the lower-precision dtype must be bfloat16 or float16, got ", options.dtype);
  state.options = options;
  ++state.depth;
}

AutocastGuard::~AutocastGuard() {
  state.options = previous_;
  if (--state.depth == 0) state.cache.clear();
}

bool is_autocast_enabled() { return state.options.enabled; }
DType autocast_dtype() { return state.options.dtype; }

namespace detail {

TensorList autocast_inputs(const OpDef& op, std::span<const Tensor> in) {
  TensorList inputs(in.begin(), in.end());
  switch (op.autocast) {
    case AutocastPolicy::none:
      break;
    case AutocastPolicy::lower_precision:
      for (Tensor& t : inputs)
        if (eligible(t) && t.dtype() != state.options.dtype) t = cast_down(t, state.options.dtype);
      break;
    case AutocastPolicy::fp32:
      for (Tensor& t : inputs)
        if (eligible(t) && t.dtype() != DType::f32) t = to_dtype(t, DType::f32);
      break;
    case AutocastPolicy::promote: {
      std::optional<DType> widest;
      for (const Tensor& t : in)
        if (t.defined() && is_floating(t.dtype()) && !t.impl().is_wrapped_number)
          widest = widest ? promote_types(*widest, t.dtype()) : t.dtype();
      for (Tensor& t : inputs)
        if (eligible(t) && t.dtype() != *widest) t = to_dtype(t, *widest);
      break;
    }
  }
  return inputs;
}

}  // namespace detail
}  // namespace ember
