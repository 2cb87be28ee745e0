// See include/ember/core/profiler.h.
#include "ember/core/profiler.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>

#include "ember/core/error.h"
#include "ember/core/tensor.h"

namespace ember::profiler {
namespace detail {
std::atomic<bool> enabled{false};
}  // namespace detail

namespace {

std::mutex events_mutex;
std::vector<Event> recorded;  // guarded by events_mutex
std::atomic<int64_t> epoch_ns{0};
std::atomic<uint32_t> next_thread_id{0};

// Bytes this thread has allocated while the profiler was on; a scope's
// allocation is the difference between its end and its start.
thread_local uint64_t thread_allocated = 0;

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

uint32_t thread_id() {
  thread_local const uint32_t id = next_thread_id++;
  return id;
}

const char* category_name(Category c) {
  switch (c) {
    case Category::op: return "op";
    case Category::backward: return "backward";
    case Category::scope: return "scope";
  }
  return "?";
}

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  out += '"';
}

// Microseconds with nanosecond digits, so nested events keep their order.
void append_us(std::string& out, int64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld.%03lld", static_cast<long long>(ns / 1000),
                static_cast<long long>(ns % 1000));
  out += buf;
}

struct Row {
  std::string name;
  uint64_t calls = 0;
  int64_t total_ns = 0, self_ns = 0;
  uint64_t alloc_bytes = 0;
};

// Self time: an event's duration minus that of the events directly inside it
// (same thread, nested in time).
std::vector<int64_t> self_times(const std::vector<Event>& ev) {
  std::vector<size_t> order(ev.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (ev[a].thread != ev[b].thread) return ev[a].thread < ev[b].thread;
    if (ev[a].start_ns != ev[b].start_ns) return ev[a].start_ns < ev[b].start_ns;
    return ev[a].duration_ns > ev[b].duration_ns;  // the enclosing event first
  });
  std::vector<int64_t> self(ev.size());
  std::vector<size_t> open;
  for (size_t k = 0; k < order.size(); ++k) {
    const size_t i = order[k];
    self[i] = ev[i].duration_ns;
    while (!open.empty()) {
      const Event& top = ev[open.back()];
      const bool encloses = top.thread == ev[i].thread &&
                            ev[i].start_ns + ev[i].duration_ns <= top.start_ns + top.duration_ns;
      if (encloses) break;
      open.pop_back();
    }
    if (!open.empty()) self[open.back()] -= ev[i].duration_ns;
    open.push_back(i);
  }
  return self;
}

}  // namespace

std::string shapes_of(std::span<const Tensor> tensors) {
  std::string s = "[";
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (i) s += ", ";
    s += tensors[i].defined() ? shape_str(tensors[i].sizes()) : "None";
  }
  return s + "]";
}

void detail::note_allocation(size_t nbytes) { thread_allocated += nbytes; }

void start() {
  std::lock_guard lock(events_mutex);
  recorded.clear();
  epoch_ns = now_ns();
  detail::enabled = true;
}

void stop() { detail::enabled = false; }

std::vector<Event> events() {
  std::lock_guard lock(events_mutex);
  return recorded;
}

void Scope::begin(std::string_view name, Category category, std::string shapes) {
  active_ = true;
  category_ = category;
  name_ = name;
  shapes_ = std::move(shapes);
  start_alloc_ = thread_allocated;
  start_ns_ = now_ns();
}

void Scope::end() {
  const int64_t end_ns = now_ns();
  Event e{.name = std::move(name_),
          .category = category_,
          .thread = thread_id(),
          .start_ns = start_ns_ - epoch_ns.load(std::memory_order_relaxed),
          .duration_ns = end_ns - start_ns_,
          .alloc_bytes = thread_allocated - start_alloc_,
          .shapes = std::move(shapes_)};
  std::lock_guard lock(events_mutex);
  recorded.push_back(std::move(e));
}

void write_chrome_trace(const std::string& path) {
  const std::vector<Event> ev = events();
  std::string out = "{\"displayTimeUnit\": \"ms\", \"traceEvents\": [\n";
  const long pid = long(getpid());
  for (size_t i = 0; i < ev.size(); ++i) {
    const Event& e = ev[i];
    out += "{\"name\": ";
    append_json_string(out, e.name);
    out += ", \"cat\": \"";
    out += category_name(e.category);
    out += "\", \"ph\": \"X\", \"ts\": ";
    append_us(out, e.start_ns);
    out += ", \"dur\": ";
    append_us(out, e.duration_ns);
    out += ", \"pid\": " + std::to_string(pid) + ", \"tid\": " + std::to_string(e.thread);
    out += ", \"args\": {\"alloc_bytes\": " + std::to_string(e.alloc_bytes);
    if (!e.shapes.empty()) {
      out += ", \"shapes\": ";
      append_json_string(out, e.shapes);
    }
    out += "}}";
    out += i + 1 < ev.size() ? ",\n" : "\n";
  }
  out += "]}\n";
  std::ofstream file(path, std::ios::binary);
  EMBER_CHECK(file.good(), ValueError, "profiler: cannot open ", path, " for writing");
  file << out;
  file.flush();
  EMBER_CHECK(file.good(), ValueError, "profiler: writing ", path, " failed");
}

std::string summary(size_t max_rows) {
  const std::vector<Event> ev = events();
  const std::vector<int64_t> self = self_times(ev);
  std::map<std::string, Row> by_name;
  int64_t all_self_ns = 0;
  for (size_t i = 0; i < ev.size(); ++i) {
    Row& r = by_name[ev[i].name];
    r.name = ev[i].name;
    ++r.calls;
    r.total_ns += ev[i].duration_ns;
    r.self_ns += self[i];
    r.alloc_bytes += ev[i].alloc_bytes;
    all_self_ns += self[i];
  }
  std::vector<Row> rows;
  for (auto& [name, row] : by_name) rows.push_back(std::move(row));
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.total_ns > b.total_ns; });
  size_t width = 4;
  for (size_t i = 0; i < rows.size() && i < max_rows; ++i) width = std::max(width, rows[i].name.size());
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "%-*s %9s %11s %11s %7s %11s %10s\n", int(width), "name", "calls", "total ms",
                "self ms", "self %", "avg us", "alloc MB");
  out += line;
  for (size_t i = 0; i < rows.size() && i < max_rows; ++i) {
    const Row& r = rows[i];
    std::snprintf(line, sizeof line, "%-*s %9llu %11.3f %11.3f %6.1f%% %11.2f %10.2f\n", int(width), r.name.c_str(),
                  static_cast<unsigned long long>(r.calls), double(r.total_ns) / 1e6, double(r.self_ns) / 1e6,
                  all_self_ns > 0 ? 100.0 * double(r.self_ns) / double(all_self_ns) : 0.0,
                  double(r.total_ns) / 1e3 / double(r.calls), double(r.alloc_bytes) / 1e6);
    out += line;
  }
  if (rows.size() > max_rows) {
    std::snprintf(line, sizeof line, "(%zu more rows)\n", rows.size() - max_rows);
    out += line;
  }
  return out;
}

}  // namespace ember::profiler
