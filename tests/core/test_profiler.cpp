// The profiler: events for ops, backward nodes and user scopes, their
// nesting, the Chrome trace, the summary table, and silence when off.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "ember/ember.h"
#include "support/temp_dir.h"

using namespace ember;
using Json = nlohmann::json;

namespace {

// A small forward and backward: linear -> relu -> sum.
void forward_backward() {
  Tensor x = randn({4, 3});
  Tensor w = randn({5, 3}).requires_grad_();
  Tensor b = randn({5}).requires_grad_();
  relu(linear(x, w, b)).sum().backward();
}

// Stops the profiler however a test ends, so no other test records.
struct Profiling {
  Profiling() { profiler::start(); }
  ~Profiling() { profiler::stop(); }
};

const Json* find_event(const Json& events, const std::string& name) {
  for (const auto& e : events)
    if (e["name"] == name) return &e;
  return nullptr;
}

bool inside(const Json& inner, const Json& outer) {
  const double begin = inner["ts"].get<double>(), end = begin + inner["dur"].get<double>();
  const double outer_begin = outer["ts"].get<double>(), outer_end = outer_begin + outer["dur"].get<double>();
  return inner["tid"] == outer["tid"] && begin >= outer_begin && end <= outer_end;
}

}  // namespace

TEST(Profiler, ChromeTraceHoldsOpsBackwardNodesAndScopesNested) {
  {
    Profiling profiling;
    profiler::Scope step("step");
    forward_backward();
  }
  const ember::testing::TempDir dir;
  const std::string path = (dir.path / "trace.json").string();
  profiler::write_chrome_trace(path);
  std::ifstream in(path);
  const Json trace = Json::parse(in);
  const Json& events = trace.at("traceEvents");
  ASSERT_TRUE(events.is_array());
  for (const auto& e : events) {
    EXPECT_EQ(e["ph"], "X");
    EXPECT_GE(e["dur"].get<double>(), 0);
    EXPECT_TRUE(e.contains("pid") && e.contains("tid") && e.contains("ts"));
  }
  const Json* step = find_event(events, "step");
  ASSERT_NE(step, nullptr);
  EXPECT_EQ((*step)["cat"], "scope");
  for (const char* name : {"linear", "relu", "sum", "linearBackward", "reluBackward", "sumBackward",
                           "AccumulateGrad"}) {
    const Json* e = find_event(events, name);
    ASSERT_NE(e, nullptr) << name << " missing from the trace";
    EXPECT_TRUE(inside(*e, *step)) << name << " is not inside the user scope";
  }
  const Json& lin = *find_event(events, "linear");
  EXPECT_EQ(lin["cat"], "op");
  EXPECT_EQ(lin["args"]["shapes"], "[[4, 3], [5, 3], [5]]");
  // The output ([4, 5] floats) was allocated inside the op.
  EXPECT_GE(lin["args"]["alloc_bytes"].get<uint64_t>(), 4u * 5u * 4u);
  EXPECT_EQ((*find_event(events, "reluBackward"))["cat"], "backward");
  // Backward formulas are ops: at least one op runs inside linearBackward.
  const Json& lin_back = *find_event(events, "linearBackward");
  const bool has_nested_op = std::any_of(events.begin(), events.end(), [&](const Json& e) {
    return e["cat"] == "op" && inside(e, lin_back);
  });
  EXPECT_TRUE(has_nested_op);
}

TEST(Profiler, SummaryListsEveryNameSlowestFirst) {
  {
    Profiling profiling;
    profiler::Scope step("step");
    forward_backward();
  }
  const std::string table = profiler::summary();
  for (const char* column : {"name", "calls", "total ms", "self ms", "avg us", "alloc MB"})
    EXPECT_NE(table.find(column), std::string::npos) << column;
  for (const char* name : {"step", "linear", "relu", "sum", "linearBackward", "AccumulateGrad"})
    EXPECT_NE(table.find(name), std::string::npos) << name << " missing from\n" << table;
  // The enclosing scope has the largest total time: it is the first row.
  const size_t first_row = table.find('\n') + 1;
  EXPECT_EQ(table.compare(first_row, 5, "step "), 0) << table;
  // Calls are counted per name: AccumulateGrad runs once per leaf (w and b).
  const std::vector<profiler::Event> events = profiler::events();
  EXPECT_EQ(std::count_if(events.begin(), events.end(), [](const auto& e) { return e.name == "AccumulateGrad"; }),
            2);
}

TEST(Profiler, RecordsNothingWhenOff) {
  profiler::start();
  profiler::stop();
  EXPECT_FALSE(profiler::is_enabled());
  {
    profiler::Scope scope("ignored");
    forward_backward();
  }
  EXPECT_TRUE(profiler::events().empty());
}

TEST(Profiler, ScopeOpenedWhileOffStaysSilentAfterStart) {
  profiler::stop();
  auto scope = std::make_unique<profiler::Scope>("opened while off");
  Profiling profiling;
  scope.reset();
  EXPECT_TRUE(profiler::events().empty());
}

TEST(Profiler, UnwritableTracePathIsAnError) {
  { Profiling profiling; }
  EXPECT_THROW(profiler::write_chrome_trace("/nonexistent-dir/trace.json"), ValueError);
}
