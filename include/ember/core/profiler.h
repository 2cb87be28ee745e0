#pragma once
// The profiler: CPU time, call counts, input shapes and bytes allocated of
// every op call, every autograd backward node and every user scope.
//
//   ember::profiler::start();
//   {
//     ember::profiler::Scope step("train step");      // user scopes nest
//     auto loss = ember::cross_entropy(net(x), y);    // ops: "linear", "relu", ...
//     loss.backward();                                // nodes: "linearBackward", ...
//   }
//   ember::profiler::stop();
//   ember::profiler::write_chrome_trace("trace.json"); // open in ui.perfetto.dev
//   std::cout << ember::profiler::summary();          // table, slowest first
//
// See docs/profiler.md. Note [Profiler cost]: while the profiler is off,
// ember::call() and the backward engine pay one load and one predictable
// branch on is_enabled(); nothing else runs. While it is on, each event takes
// two clock reads, a string with the input shapes and a locked push_back.
#include <atomic>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ember {
class Tensor;
}

namespace ember::profiler {

enum class Category : uint8_t { op, backward, scope };

struct Event {
  std::string name;
  Category category = Category::scope;
  uint32_t thread = 0;       // small id per thread, in order of first event
  int64_t start_ns = 0;      // since start()
  int64_t duration_ns = 0;
  uint64_t alloc_bytes = 0;  // allocated on this thread while open, nested events included
  std::string shapes;        // inputs, e.g. "[[64, 784], [512, 784]]" (ops and backward nodes)
};

namespace detail {
extern std::atomic<bool> enabled;
// The CPU allocator reports each allocation here while the profiler is on.
void note_allocation(size_t nbytes);
}  // namespace detail

inline bool is_enabled() { return detail::enabled.load(std::memory_order_relaxed); }

// Clears earlier events and starts recording (on every thread).
void start();
void stop();
// The events recorded since start(), in the order they ended.
std::vector<Event> events();
// Chrome trace format: {"traceEvents": [{"ph": "X", "ts"/"dur" in µs, ...}]}.
// Raises ValueError when the file cannot be written.
void write_chrome_trace(const std::string& path);
// One row per name, slowest total first: calls, total and self time, share
// of all self time, average, MB allocated. At most max_rows rows.
std::string summary(size_t max_rows = 40);

// "[[64, 784], None]": the shapes an event's args show (None: undefined).
std::string shapes_of(std::span<const Tensor> tensors);

// Records the time between construction and destruction as one event (if
// the profiler was on at construction).
class Scope {
 public:
  explicit Scope(std::string_view name, Category category = Category::scope, std::string shapes = {}) {
    if (is_enabled()) begin(name, category, std::move(shapes));
  }
  ~Scope() {
    if (active_) end();
  }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  void begin(std::string_view name, Category category, std::string shapes);
  void end();
  bool active_ = false;
  Category category_ = Category::scope;
  std::string name_, shapes_;
  int64_t start_ns_ = 0;
  uint64_t start_alloc_ = 0;
};

}  // namespace ember::profiler
