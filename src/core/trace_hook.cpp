#include "ember/core/trace_hook.h"

namespace ember {

namespace {
thread_local TraceHook* active_hook = nullptr;
}

TraceHook* trace_hook() { return active_hook; }

TraceHookGuard::TraceHookGuard(TraceHook* hook) : previous_(active_hook) { active_hook = hook; }
TraceHookGuard::~TraceHookGuard() { active_hook = previous_; }

}  // namespace ember
