// .ember model files: save -> load gives a graph that runs bit for bit like
// the original (hand-built, traced, optimized, with control flow and dynamic
// batch); Python's safetensors package opens the file; and every kind of
// damage is a FormatError naming the file and the problem.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "ember/ember.h"
#include "ember/io/model_file.h"
#include "ember/io/npy.h"
#include "ember/io/safetensors.h"
#include "graph/graph_testing.h"
#include "support/expect_error.h"
#include "support/temp_dir.h"

namespace ember {
namespace {

namespace fs = std::filesystem;
using graph::Graph;
using graph::ValueId;
using ember::testing::expect_identical;
using Json = nlohmann::json;
using ember::testing::expect_error;
using ember::testing::TempDir;

std::span<const uint8_t> as_bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// save -> load through a real file.
Graph round_trip(const Graph& g, const TempDir& dir) {
  const std::string path = dir / "model.ember";
  save(g, path);
  return load(path);
}

// relu(x @ w.T + b) + 2 with a parameter, a constant and a wrapped number.
Graph small_graph() {
  Graph g;
  const ValueId x = g.add_input("x", {{2, 3}, DType::f32});
  const ValueId w = g.add_parameter("fc.weight", randn({4, 3}));
  const ValueId b = g.add_constant(randn({4}));
  const ValueId two = g.add_constant(scalar_tensor(2.0, DType::f64));
  g.value(two).data.impl().is_wrapped_number = true;
  const ValueId y = ember::testing::add_node(g, "linear", {x, w, b});
  const ValueId r = ember::testing::add_node(g, "relu", {y});
  g.outputs = {ember::testing::add_node(g, "add", {r, two}, {{"alpha", Scalar(1)}})};
  return g;
}

nn::Sequential fashion_mlp() {
  return nn::Sequential{nn::Flatten(), nn::Linear(784, 64), nn::ReLU(), nn::Linear(64, 10)};
}

nn::Sequential fashion_cnn() {
  return nn::Sequential{nn::Conv2d(1, 8, 3, {.padding = 1}), nn::BatchNorm2d(8), nn::ReLU(), nn::MaxPool2d(2),
                        nn::Conv2d(8, 16, 3, {.padding = 1}), nn::ReLU(), nn::MaxPool2d(2),
                        nn::Flatten(), nn::Linear(16 * 7 * 7, 32), nn::ReLU(), nn::Linear(32, 10)};
}

TEST(ModelFile, HandBuiltGraphRoundTrips) {
  manual_seed(0);
  TempDir dir;
  const Graph g = small_graph();
  const Graph back = round_trip(g, dir);
  const Tensor x = randn({2, 3});
  expect_identical(graph::interpret(g, {x}), graph::interpret(back, {x}));
  EXPECT_EQ(graph::print(back).find("<host>"), std::string::npos);
  // Adding a wrapped number stays float32 (a plain f64 tensor would promote).
  EXPECT_EQ(back.value(back.outputs[0]).meta.dtype, DType::f32);
  // The format is canonical: saving the loaded graph gives the same bytes.
  save(back, dir / "again.ember");
  EXPECT_EQ(read_bytes(dir / "model.ember"), read_bytes(dir / "again.ember"));
}

TEST(ModelFile, EveryAttributeTypeRoundTrips) {
  // relu's shape rule ignores attributes it does not read, so one node can
  // carry every AttrValue alternative, including doubles JSON cannot spell.
  Graph g;
  const ValueId x = g.add_input("x", {{3}, DType::f32});
  const Attrs attrs{{"i", int64_t(-9007199254740993)},
                    {"f", 0.1},
                    {"neg_zero", -0.0},
                    {"tiny", 4.9406564584124654e-324},
                    {"nan", std::nan("")},
                    {"inf", -INFINITY},
                    {"b", true},
                    {"ints", Shape{1, -2, 3}},
                    {"empty", Shape{}},
                    {"s", std::string("quote\" backslash\\ \xc3\xa9")},
                    {"dt", DType::bf16},
                    {"sb", Scalar(false)},
                    {"si", Scalar(int64_t(-3))},
                    {"sf", Scalar(2.5)},
                    {"fs", std::vector<double>{1.5, INFINITY, -0.0}}};
  g.outputs = {ember::testing::add_node(g, "relu", {x}, attrs)};
  TempDir dir;
  const Graph back = round_trip(g, dir);
  const auto& got = back.nodes.at(0).attrs.items();
  ASSERT_EQ(got.size(), attrs.items().size());
  for (size_t k = 0; k < got.size(); ++k) {
    const auto& [name, expected] = attrs.items()[k];
    SCOPED_TRACE(name);
    EXPECT_EQ(got[k].first, name);
    ASSERT_EQ(got[k].second.index(), expected.index());
    if (name == "nan") {
      EXPECT_TRUE(std::isnan(std::get<double>(got[k].second)));
    } else if (std::holds_alternative<double>(expected)) {  // bitwise: -0.0 and denormals survive
      const double a = std::get<double>(expected), b = std::get<double>(got[k].second);
      EXPECT_EQ(std::memcmp(&a, &b, sizeof a), 0) << a << " vs " << b;
    } else if (std::holds_alternative<std::vector<double>>(expected)) {
      const auto& a = std::get<std::vector<double>>(expected);
      const auto& b = std::get<std::vector<double>>(got[k].second);
      ASSERT_EQ(a.size(), b.size());
      EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(double)), 0);
    } else {
      EXPECT_TRUE(expected == got[k].second);
    }
  }
}

TEST(ModelFile, TracedMlpAndCnnRoundTripBitwise) {
  TempDir dir;
  manual_seed(1);
  for (bool cnn : {false, true}) {
    SCOPED_TRACE(cnn ? "cnn" : "mlp");
    auto net = cnn ? fashion_cnn() : fashion_mlp();
    net.eval();
    const Graph g = jit::trace(net, {randn({2, 1, 28, 28})}, {.dynamic = {{0, 0, "batch"}}});
    const Graph back = round_trip(g, dir);
    EXPECT_EQ(back.symbols, g.symbols);
    autograd::NoGradGuard no_grad;
    for (int64_t batch : {1, 5}) {
      const Tensor x = randn({batch, 1, 28, 28});
      expect_identical(graph::interpret(g, {x}), graph::interpret(back, {x}));
    }
    // Optimized (frozen, folded, fused) graphs too, run by the executor.
    const Graph opt = jit::optimize(g);
    graph::Executor original(opt), loaded(round_trip(opt, dir));
    for (int64_t batch : {3, 64}) {
      const Tensor x = randn({batch, 1, 28, 28});
      expect_identical(original.run({x}), loaded.run({x}));
      // Batch-norm folding and fusion round differently from eager mode.
      EXPECT_LT((net(x) - loaded.run({x})[0]).abs().max().item<double>(), 1e-5);
    }
    EXPECT_EQ(original.plan({randn({64, 1, 28, 28})}).arena_bytes, loaded.plan({randn({64, 1, 28, 28})}).arena_bytes);
  }
}

TEST(ModelFile, ControlFlowRoundTrips) {
  manual_seed(2);
  const Tensor w = randn({3});
  auto fn = [&](const TensorList& in) {
    Tensor scale = in[0].abs() + 1;
    TensorList y = cond(in[0].mean() > 0, [&](const TensorList& v) { return TensorList{v[0] * scale + w}; },
                        [&](const TensorList& v) { return TensorList{v[0] - w}; }, {in[0]});
    return while_loop([](const TensorList& s) { return s[0].sum() < 100; },
                      [&](const TensorList& s) { return TensorList{s[0] * 2 + w.abs()}; }, {y[0].abs() + 1});
  };
  const Graph g = graph::trace(fn, {randn({3})});
  TempDir dir;
  const Graph back = round_trip(g, dir);
  for (int i = 0; i < 4; ++i) {
    const Tensor x = randn({3}) * (i % 2 ? 1.0 : -1.0);
    expect_identical(fn({x}), graph::interpret(back, {x}));
  }
}

TEST(ModelFile, StateUpdatesRoundTrip) {
  // A graph that writes its parameter back (what a traced optimizer step
  // records): running the loaded graph updates the loaded parameter.
  Graph g;
  const ValueId x = g.add_input("x", {{3}, DType::f32});
  const ValueId p = g.add_parameter("p", full({3}, 1.0));
  const ValueId sum = ember::testing::add_node(g, "add", {p, x}, {{"alpha", Scalar(1)}});
  g.outputs = {sum};
  g.updates.push_back({graph::StateUpdate::Kind::copy_into, p, sum});
  TempDir dir;
  const Graph back = round_trip(g, dir);
  ASSERT_EQ(back.updates.size(), 1u);
  graph::interpret(back, {full({3}, 2.0)});
  expect_identical(full({3}, 3.0), back.value(back.updates[0].target).data);
}

TEST(ModelFile, UnsavableGraphsAreValueErrors) {
  Graph g = small_graph();
  g.nodes[0].host_attrs.push_back({"lr", [] { return AttrValue(0.1); }});
  TempDir dir;
  expect_error<ValueError>([&] { save(g, dir / "m.ember"); }, {"save", "host"});
  g.nodes[0].host_attrs.clear();
  g.host_effects.push_back([] {});
  expect_error<ValueError>([&] { save(g, dir / "m.ember"); }, {"save", "host"});
  Graph latin1 = small_graph();
  latin1.values[1].name = "caf\xe9.weight";
  expect_error<ValueError>([&] { save(latin1, dir / "m.ember"); }, {"save", "UTF-8"});
}

// The real other side: Python's safetensors package opens the file and finds
// the weights under their names and the graph in the metadata.
TEST(ModelFile, OpensWithThePythonSafetensorsPackage) {
  const char* env_root = std::getenv("EMBER_SOURCE_DIR");
  const fs::path python = fs::path(env_root ? env_root : EMBER_SOURCE_DIR_DEFAULT) / ".venv/bin/python";
  if (!fs::exists(python)) GTEST_SKIP() << "no venv; run scripts/setup.sh";
  manual_seed(3);
  auto net = fashion_mlp();
  net.eval();
  TempDir dir;
  save(jit::trace(net, {randn({2, 1, 28, 28})}, {.dynamic = {{0, 0, "batch"}}}), dir / "mlp.ember");
  std::ofstream(dir / "check.py") << R"(
import json, sys
import numpy as np
from safetensors import safe_open
with safe_open(sys.argv[1], "np") as f:
    meta = f.metadata()
    assert meta["format"] == "ember" and meta["format_version"] == "1", meta
    graph = json.loads(meta["graph"])
    assert graph["symbols"] == ["batch"], graph["symbols"]
    ops = [n["op"] for n in graph["nodes"]]
    assert "linear" in ops and "relu" in ops, ops
    x = graph["values"][graph["inputs"][0]]
    assert x["name"] == "x" and x["dtype"] == "float32" and x["sizes"] == [2, 1, 28, 28], x
    assert sorted(f.keys()) == ["1.bias", "1.weight", "3.bias", "3.weight"], f.keys()
    w = f.get_tensor("1.weight")
    assert w.dtype == np.float32 and w.shape == (64, 784)
    np.save(sys.argv[2], w)
)";
  const std::string cmd = python.string() + " " + (dir / "check.py") + " " + (dir / "mlp.ember") + " " + (dir / "w.npy");
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "python could not read the .ember file";
  expect_identical(net.named_parameters()[0].second, io::load_npy(dir / "w.npy"));
}

// Files written by another implementation of the format: the fuzzers' seeds,
// which tests/fuzz/make_corpus.py builds in Python from docs/FORMATS.md.
TEST(ModelFile, LoadsFilesWrittenInPython) {
  const char* env_root = std::getenv("EMBER_SOURCE_DIR");
  const fs::path seeds = fs::path(env_root ? env_root : EMBER_SOURCE_DIR_DEFAULT) / "tests/fuzz/corpus/fuzz_model_file";
  const Tensor x = tensor({1.0f, -2.0f, 3.0f});
  const Graph branch = load((seeds / "cond").string());
  expect_identical(x * 2, graph::interpret(branch, {scalar_tensor(true), x})[0]);
  expect_identical(-x, graph::interpret(branch, {scalar_tensor(false), x})[0]);
  const Graph loop = load((seeds / "while_loop").string());
  expect_identical(scalar_tensor(int64_t(10)), graph::interpret(loop, {scalar_tensor(int64_t(3))})[0]);
  const Graph dense = load((seeds / "dynamic_batch").string());
  const Tensor batch = randn({5, 3});
  expect_identical(relu(linear(batch, ones({4, 3}), zeros({4}))) + 2, graph::Executor(dense).run({batch})[0]);
  const Graph view = load((seeds / "view_symbolic").string());
  const Tensor rows = randn({5, 6});
  expect_identical(rows.view({5, 3, 2}), graph::interpret(view, {rows})[0]);
  EXPECT_EQ(load((seeds / "attributes").string()).nodes[0].attrs.items().size(), 11u);
}

// ---- damage: each is a FormatError naming the file and the problem ----

class Damaged : public ::testing::Test {
 protected:
  void SetUp() override {
    manual_seed(4);
    const std::string bytes = save_bytes(small_graph());
    contents = io::parse_safetensors(as_bytes(bytes));
    graph_json = Json::parse(contents.metadata.at("graph"));
  }
  static std::string save_bytes(const Graph& g) {
    TempDir dir;
    save(g, dir / "m.ember");
    return read_bytes(dir / "m.ember");
  }
  // Loads the file after `edit` changed its graph JSON (and maybe its tensors).
  void expect_rejected(const std::function<void(Json&, io::SafetensorsContents&)>& edit,
                       std::initializer_list<std::string_view> fragments) {
    Json j = graph_json;
    io::SafetensorsContents c = contents;
    edit(j, c);
    c.metadata["graph"] = j.dump();
    const std::string bytes = io::to_safetensors_bytes(c.tensors, c.metadata);
    expect_error<FormatError>([&] { load_model_bytes(as_bytes(bytes), "bad.ember"); }, fragments);
    expect_error<FormatError>([&] { load_model_bytes(as_bytes(bytes), "bad.ember"); }, "bad.ember");
  }
  // Value ids in small_graph's file: 0 x, 1 fc.weight, 2 bias constant, 3 the
  // wrapped 2.0, 4 linear, 5 relu, 6 add. Nodes: 0 linear, 1 relu, 2 add.
  io::SafetensorsContents contents;
  Json graph_json;
};

TEST_F(Damaged, TheFixtureIsValid) {
  ASSERT_EQ(graph_json["values"].size(), 7u);
  ASSERT_EQ(graph_json["nodes"][0]["op"], "linear");
  const std::string bytes = io::to_safetensors_bytes(contents.tensors, contents.metadata);
  EXPECT_EQ(load_model_bytes(as_bytes(bytes), "ok.ember").nodes.size(), 3u);
}

TEST_F(Damaged, ContainerLevel) {
  TempDir dir;
  expect_error<FormatError>([&] { load(dir / "missing.ember"); }, {"missing.ember", "cannot open"});
  const std::string good = io::to_safetensors_bytes(contents.tensors, contents.metadata);
  expect_error<FormatError>([&] { load_model_bytes(as_bytes("not a model"), "junk.ember"); },
                            {"junk.ember", "safetensors"});
  expect_error<FormatError>([&] { load_model_bytes(as_bytes(good.substr(0, good.size() - 3)), "cut.ember"); },
                            {"cut.ember", "truncated"});
  // A checkpoint or plain weights are safetensors too, but not models.
  const std::string weights = io::to_safetensors_bytes({{"w", randn({2})}}, {{"format", "ember.checkpoint"}});
  expect_error<FormatError>([&] { load_model_bytes(as_bytes(weights), "ckpt.safetensors"); },
                            {"ckpt.safetensors", "not an .ember model", "ember.checkpoint"});
  auto with = [&](const std::string& key, const std::string& value) {
    io::Metadata m = contents.metadata;
    m[key] = value;
    return io::to_safetensors_bytes(contents.tensors, m);
  };
  expect_error<FormatError>([&] { load_model_bytes(as_bytes(with("format_version", "2")), "v2.ember"); },
                            {"v2.ember", "version \"2\" is not supported"});
  expect_error<FormatError>([&] { load_model_bytes(as_bytes(with("graph", "{\"nodes\": [")), "j.ember"); },
                            {"j.ember", "not valid JSON"});
}

TEST_F(Damaged, MissingOrMistypedKeys) {
  expect_rejected([](Json& j, auto&) { j.erase("nodes"); }, {"graph", "missing \"nodes\""});
  expect_rejected([](Json& j, auto&) { j["values"][0]["sizes"] = "big"; }, {"graph.values[0].sizes", "array"});
  expect_rejected([](Json& j, auto&) { j["values"][0]["sizes"][0] = -2; }, {"graph.values[0].sizes", "-2"});
  expect_rejected([](Json& j, auto&) { j["values"][0]["dtype"] = "float128"; }, {"unknown dtype \"float128\""});
  expect_rejected([](Json& j, auto&) { j["values"][1]["kind"] = "weight"; }, {"unknown value kind \"weight\""});
  expect_rejected([](Json& j, auto&) { j["nodes"][0]["inputs"][0] = 1.5; }, {"graph.nodes[0] (linear).inputs", "integer"});
  expect_rejected([](Json& j, auto&) { j["updates"] = Json::array({{{"kind", "copy_into"}, {"target", 1}}}); },
                  {"graph.updates[0]", "missing \"value\""});
  expect_rejected([](Json& j, auto&) { j = Json::array(); }, {"graph", "object"});
}

TEST_F(Damaged, Ops) {
  expect_rejected([](Json& j, auto&) { j["nodes"][1]["op"] = "relu6"; }, {"graph.nodes[1] (relu6)", "unknown op"});
  expect_rejected([](Json& j, auto&) { j["nodes"][1]["version"] = 2; },
                  {"graph.nodes[1] (relu)", "op version 2 is not supported", "version 1"});
  expect_rejected([](Json& j, auto&) { j["nodes"][1]["inputs"].push_back(0); },
                  {"graph.nodes[1] (relu)", "takes 1 inputs, got 2"});
  // Attributes: an unknown encoding, and a type the op's shape rule rejects.
  expect_rejected([](Json& j, auto&) { j["nodes"][2]["attrs"] = Json::array({{"alpha", "complex", 1}}); },
                  {"unknown attribute type \"complex\""});
  expect_rejected([](Json& j, auto&) { j["nodes"][2]["attrs"] = Json::array({{"alpha", "string", "one"}}); },
                  {"graph.nodes[2] (add)", "wrong type"});
  expect_rejected([](Json& j, auto&) { j["nodes"][2]["attrs"] = Json::array({{"a", "int", 1}, {"a", "int", 2}}); },
                  {"attribute \"a\" appears twice"});
  // The recorded output disagrees with the op's shape rule.
  expect_rejected([](Json& j, auto&) { j["values"][5]["sizes"] = {2, 5}; },
                  {"graph.nodes[1] (relu)", "output 0 is recorded as float32[2, 5] but the op gives float32[2, 4]"});
  expect_rejected([](Json& j, auto&) { j["values"][6]["dtype"] = "float64"; }, {"graph.nodes[2] (add)", "float64"});
  // A shape rule's own error, e.g. linear on mismatched sizes.
  expect_rejected([](Json& j, auto& c) {
    j["values"][1]["sizes"] = {4, 2};
    c.tensors["fc.weight"] = randn({4, 2});
  }, {"graph.nodes[0] (linear)"});
}

TEST_F(Damaged, ValueReferences) {
  expect_rejected([](Json& j, auto&) { j["nodes"][1]["inputs"][0] = 99; }, {"graph.nodes[1] (relu).inputs", "99"});
  expect_rejected([](Json& j, auto&) { j["nodes"][1]["inputs"][0] = 6; },
                  {"graph.nodes[1] (relu).inputs", "value 6 is used before it is defined"});
  expect_rejected([](Json& j, auto&) { j["nodes"][1]["outputs"][0] = 4; }, {"value 4 is defined twice"});
  expect_rejected([](Json& j, auto&) { j["nodes"][1]["outputs"][0] = 2; }, {"output value 2 is a constant"});
  expect_rejected([](Json& j, auto&) { j["nodes"].erase(2); }, {"graph.values[6]", "no node defines this value"});
  expect_rejected([](Json& j, auto&) { j["outputs"][0] = 7; }, {"graph.outputs", "7"});
  expect_rejected([](Json& j, auto&) { j["inputs"] = Json::array(); }, {"input value 0 is not in \"inputs\""});
  expect_rejected([](Json& j, auto&) { j["inputs"].push_back(0); }, {"value 0 is listed twice"});
  expect_rejected([](Json& j, auto&) { j["updates"] = Json::array({{{"kind", "copy_into"}, {"target", 0}, {"value", 6}}}); },
                  {"graph.updates[0]", "the target must be a parameter"});
}

TEST_F(Damaged, Tensors) {
  expect_rejected([](Json&, auto& c) { c.tensors.erase("fc.weight"); },
                  {"graph.values[1]", "tensor \"fc.weight\" is not in the file"});
  expect_rejected([](Json&, auto& c) { c.tensors["stowaway"] = randn({1}); },
                  {"tensor \"stowaway\" is not used by the graph"});
  expect_rejected([](Json&, auto& c) { c.tensors["fc.weight"] = randn({3, 4}); },
                  {"graph.values[1]", "tensor \"fc.weight\" is float32[3, 4] but the value is float32[4, 3]"});
  expect_rejected([](Json&, auto& c) { c.tensors["fc.weight"] = randn({4, 3}).to(DType::f64); },
                  {"graph.values[1]", "float64[4, 3]"});
  expect_rejected([](Json& j, auto&) { j["values"][2]["wrapped_number"] = true; },
                  {"graph.values[2]", "a wrapped number must be a 0-dimensional tensor"});
}

TEST_F(Damaged, Symbols) {
  // Make the batch dimension of x dynamic, then break it.
  auto dynamic = [](Json& j) {
    j["symbols"] = {"batch"};
    j["values"][0]["dims"] = Json::array({{0, 1, 0}, {-1, 0, 3}});
  };
  expect_rejected([&](Json& j, auto&) {
    dynamic(j);
    j["values"][0]["dims"][0][0] = 1;
  }, {"graph.values[0].dims.symbol", "1 is outside [-1, 0]"});
  expect_rejected([&](Json& j, auto&) {
    dynamic(j);
    j["values"][0]["dims"][1] = {-1, 0, 5};
  }, {"static dimension 1 is 5 but sizes say 3"});
  expect_rejected([&](Json& j, auto&) {
    j["symbols"] = {"batch"};
  }, {"symbol \"batch\" is not a dimension of any input"});
  expect_rejected([&](Json& j, auto&) {
    dynamic(j);
    j["values"][0]["dims"][0] = {0, 0, 2};
  }, {"non-zero scale"});
  // Downstream values must follow the symbol: linear's output is [batch, 4].
  expect_rejected([&](Json& j, auto&) { dynamic(j); }, {"graph", "linear"});
  expect_rejected([&](Json& j, auto&) {
    j["values"][5]["dims"] = Json::array({{-1, 0, 2}, {-1, 0, 4}});
  }, {"graph.nodes[1] (relu)", "dynamic dimensions but the node depends on none"});
}

TEST_F(Damaged, DeepNestingIsRefused) {
  Json sub = graph_json;
  for (int i = 0; i < 40; ++i) {
    Json outer = graph_json;
    outer["nodes"][1]["subgraphs"] = Json::array({sub});
    sub = std::move(outer);
  }
  expect_rejected([&](Json& j, auto&) { j = sub; }, {"nest deeper than 32"});
}

}  // namespace
}  // namespace ember
