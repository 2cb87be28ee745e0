// The graph subcommands end to end: `ember export` a trained checkpoint,
// `ember info` and `ember run` the .ember file, outputs checked against the
// eager model and the in-process executor; and one-line errors with a
// non-zero exit for missing, truncated and wrong files.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "commands.h"
#include "ember/autograd/autograd.h"
#include "ember/data/idx.h"
#include "ember/graph/executor.h"
#include "ember/io/model_file.h"
#include "ember/io/npy.h"
#include "ember/io/safetensors.h"
#include "graph/graph_testing.h"
#include "helpers.h"

namespace ember {
namespace {

namespace fs = std::filesystem;
using ember::testing::expect_identical;
using ember::tools_test::TempDir;
using ember::tools_test::contains;
using ember::tools_test::lines;
using ember::tools_test::Result;
using ember::tools_test::run_ember;


void truncate_copy(const std::string& from, const std::string& to, size_t drop) {
  std::ifstream in(from, std::ios::binary);
  std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  std::ofstream(to, std::ios::binary) << bytes.substr(0, bytes.size() - drop);
}

// A checkpoint of each built-in recipe after one training step, exported.
class GraphCli : public ::testing::Test {
 protected:
  void SetUp() override {
    tools_test::write_fake_mnist(dir.path / "data", 40, 10);
    images = data::load_mnist(dir.path / "data", /*train=*/false).input().narrow(0, 0, 5).contiguous();
    io::save_npy(dir / "x.npy", images);
  }
  // Trains `recipe` for one step and exports it; the checkpoint's path.
  std::string train_and_export(const std::string& recipe, const std::string& model) {
    const Result train = run_ember(dir, "train " + recipe + " --data " + (dir / "data") + " --out " +
                                            (dir / recipe) + " --batch-size 20 --max-steps 1 --threads 1");
    EXPECT_EQ(train.exit_code, 0) << train.output;
    const std::string checkpoint = dir / (recipe + "/step-1.safetensors");
    const Result exported = run_ember(dir, "export " + checkpoint + " -o " + model + " --batch 3");
    EXPECT_EQ(exported.exit_code, 0) << exported.output;
    EXPECT_EQ(lines(exported.output), 1) << exported.output;
    for (const char* text : {"input x: float32[batch, 1, 28, 28]", " nodes; ", " parameters; ", "MiB"})
      EXPECT_TRUE(contains(exported.output, text)) << text << "\n" << exported.output;
    return checkpoint;
  }
  // The checkpoint's eager model on raw images (normalized as the recipe says).
  Tensor eager(const std::string& checkpoint) {
    cli::TrainedModel trained = cli::load_trained_model(checkpoint);
    trained.model.module().eval();
    autograd::NoGradGuard no_grad;
    const cli::Recipe& r = trained.recipe;
    return trained.model((images - r.normalize_mean) / r.normalize_std);
  }
  TempDir dir;
  Tensor images;
};

TEST_F(GraphCli, ExportInfoRunMlp) {
  const std::string model = dir / "mlp.ember";
  const std::string checkpoint = train_and_export("fashion-mlp", model);

  const Result info = run_ember(dir, "info " + model);
  ASSERT_EQ(info.exit_code, 0) << info.output;
  for (const char* text : {"ember model", "inputs:", "x  float32[batch, 1, 28, 28]", "output0  float32[batch, 10]",
                           "nodes: ", "parameters: 669,706 in ", "planned arena: ", " at batch=1", " at batch=64"})
    EXPECT_TRUE(contains(info.output, text)) << text << "\n" << info.output;

  // Printed: each output's type and first values.
  const Result printed = run_ember(dir, "run " + model + " --input " + (dir / "x.npy"));
  ASSERT_EQ(printed.exit_code, 0) << printed.output;
  EXPECT_TRUE(contains(printed.output, "output0: float32[5, 10]  [")) << printed.output;

  // Saved: equal to the executor in this process bit for bit, and to eager
  // mode up to the rounding of the graph's fused and folded ops.
  const Result saved = run_ember(dir, "run " + model + " --input " + (dir / "x.npy") + " -o " + (dir / "y.safetensors"));
  ASSERT_EQ(saved.exit_code, 0) << saved.output;
  const Tensor y = io::load_safetensors(dir / "y.safetensors").at("output0");
  expect_identical(graph::Executor(load(model)).run({images})[0], y);
  EXPECT_LT((eager(checkpoint) - y).abs().max().item<double>(), 1e-5);

  // .npy out, .safetensors in.
  io::save_safetensors(dir / "x.safetensors", {{"images", images}});
  const Result npy = run_ember(dir, "run " + model + " --input " + (dir / "x.safetensors") + " -o " + (dir / "y.npy"));
  ASSERT_EQ(npy.exit_code, 0) << npy.output;
  expect_identical(y, io::load_npy(dir / "y.npy"));
}

TEST_F(GraphCli, ExportRunCnn) {
  const std::string model = dir / "cnn.ember";
  const std::string checkpoint = train_and_export("fashion-cnn", model);
  const Result saved = run_ember(dir, "run " + model + " --input " + (dir / "x.npy") + " -o " + (dir / "y.npy"));
  ASSERT_EQ(saved.exit_code, 0) << saved.output;
  const Tensor y = io::load_npy(dir / "y.npy");
  expect_identical(graph::Executor(load(model)).run({images})[0], y);
  EXPECT_LT((eager(checkpoint) - y).abs().max().item<double>(), 1e-5);
}

TEST_F(GraphCli, BadFilesAreOneLineErrors) {
  const std::string model = dir / "mlp.ember";
  const std::string checkpoint = train_and_export("fashion-mlp", model);
  truncate_copy(model, dir / "cut.ember", 100);
  truncate_copy(checkpoint, dir / "cut.safetensors", 100);
  std::ofstream(dir / "junk.ember") << "this is not a model";
  struct Case {
    std::string args;
    int exit_code;
    std::vector<std::string> fragments;
  };
  const std::string x = " --input " + (dir / "x.npy");
  const std::vector<Case> cases = {
      {"export " + (dir / "missing.safetensors") + " -o " + (dir / "m.ember"), 1, {"missing.safetensors", "cannot open"}},
      {"export " + (dir / "cut.safetensors") + " -o " + (dir / "m.ember"), 1, {"cut.safetensors", "truncated"}},
      {"export " + model + " -o " + (dir / "m.ember"), 1, {"mlp.ember"}},  // a model, not a checkpoint
      {"export " + checkpoint, 2, {"-o FILE is required"}},
      {"run " + (dir / "missing.ember") + x, 1, {"missing.ember", "cannot open"}},
      {"run " + (dir / "cut.ember") + x, 1, {"cut.ember", "truncated"}},
      {"run " + (dir / "junk.ember") + x, 1, {"junk.ember", "not a valid safetensors file"}},
      {"run " + checkpoint + x, 1, {"step-1.safetensors", "not an .ember model"}},
      {"run " + model, 2, {"takes 1 input (x: float32[batch, 1, 28, 28]), got 0 --input files"}},
      {"run " + model + x + x, 2, {"takes 1 input (x: float32[batch, 1, 28, 28]), got 2 --input files"}},
      {"run " + model + " --input " + (dir / "missing.npy"), 1, {"missing.npy", "cannot open"}},
      {"run " + model + " --input " + (dir / "junk.ember"), 2, {"expected a .npy or .safetensors file"}},
      {"run " + model + " --input " + checkpoint, 1, {"step-1.safetensors", "tensors; an --input file holds one"}},
      {"info " + (dir / "missing.ember"), 1, {"missing.ember", "cannot open"}},
      {"info " + (dir / "cut.ember"), 1, {"cut.ember", "truncated"}},
      {"info " + (dir / "junk.ember"), 1, {"junk.ember", "not a valid safetensors file"}},
  };
  // A wrong input shape: the executor names the input and the sizes.
  io::save_npy(dir / "flat.npy", images.reshape({5, 784}));
  const Result shape = run_ember(dir, "run " + model + " --input " + (dir / "flat.npy"));
  EXPECT_EQ(shape.exit_code, 1) << shape.output;
  EXPECT_EQ(lines(shape.output), 1) << shape.output;
  EXPECT_TRUE(contains(shape.output, "input 0 (x) must have 4 dimensions")) << shape.output;
  for (const Case& c : cases) {
    const Result r = run_ember(dir, c.args);
    EXPECT_EQ(r.exit_code, c.exit_code) << c.args << "\n" << r.output;
    EXPECT_EQ(lines(r.output), 1) << c.args << "\n" << r.output;
    for (const std::string& f : c.fragments) EXPECT_TRUE(contains(r.output, f)) << f << "\n" << r.output;
  }
}

}  // namespace
}  // namespace ember
