#pragma once
// The tracer's side door into the call path (see Note [The call path] in
// src/ops/call.cpp). While graph mode traces eager code, a thread-local hook
// sees every op that call() runs and every value that leaves the graph for the
// host (item()). ops/ and core/ only know this interface; graph/ implements it.
#include <span>

#include "ember/core/tensor.h"

namespace ember {

struct OpDef;
class Attrs;

class TraceHook {
 public:
  virtual ~TraceHook() = default;
  // An op ran: outputs are fresh tensors (or views of inputs).
  virtual void record(const OpDef& op, std::span<const Tensor> inputs, std::span<const Tensor> outputs,
                      const Attrs& attrs) = 0;
  // An op wrote its results into existing tensors (add_, optimizer updates).
  virtual void record_inplace(const OpDef& op, std::span<const Tensor> inputs, std::span<const Tensor> outputs,
                              const Attrs& attrs) = 0;
  // dst's contents were replaced by src's, broadcast and cast (fill_, copy_).
  virtual void record_copy(const Tensor& dst, const Tensor& src) = 0;
  // Random numbers were drawn outside a kernel (ember::rand, ...): throws,
  // since the graph would replay these numbers at every run.
  virtual void draw_random() = 0;
  // Host code read a tensor's value (item(), to_vector()): throws when the
  // tensor depends on the traced inputs, since the value would be baked in.
  virtual void read_on_host(const Tensor& t, const char* what) = 0;
};

// The active hook of this thread, or null (the common case: one load and a branch).
TraceHook* trace_hook();
// Installs `hook` for the lifetime of the guard; a null hook pauses tracing
// (kernels that call ops internally run under one, so only the outer op is recorded).
class TraceHookGuard {
 public:
  explicit TraceHookGuard(TraceHook* hook);
  ~TraceHookGuard();
  TraceHookGuard(const TraceHookGuard&) = delete;
  TraceHookGuard& operator=(const TraceHookGuard&) = delete;

 private:
  TraceHook* previous_;
};

}  // namespace ember
