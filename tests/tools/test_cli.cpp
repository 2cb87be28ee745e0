// The `ember` binary end to end on a tiny IDX dataset: train, resume, eval,
// info, and the one-line errors and exit codes of bad input.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "helpers.h"

namespace {

using ember::tools_test::TempDir;
using ember::tools_test::contains;
using ember::tools_test::lines;
using ember::tools_test::Result;
using ember::tools_test::run_ember;


class Cli : public ::testing::Test {
 protected:
  void SetUp() override { ember::tools_test::write_fake_mnist(dir.path / "data", 100, 40); }
  std::string data() const { return dir / "data"; }
  TempDir dir;
};

}  // namespace

TEST_F(Cli, TrainEvalInfo) {
  const Result train = run_ember(dir, "train fashion-mlp --data " + data() + " --out " + (dir / "run") +
                                          " --epochs 2 --batch-size 20 --threads 1");
  ASSERT_EQ(train.exit_code, 0) << train.output;
  EXPECT_TRUE(contains(train.output, "fashion-mlp: 669,706 parameters; 100 training and 40 test examples"))
      << train.output;
  EXPECT_TRUE(contains(train.output, "epoch 1/2 [")) << train.output;  // the progress bar, as plain lines
  EXPECT_TRUE(contains(train.output, "epoch 2/2  train loss ")) << train.output;
  EXPECT_TRUE(contains(train.output, "test accuracy ")) << train.output;
  EXPECT_TRUE(contains(train.output, "images/s")) << train.output;
  EXPECT_TRUE(std::filesystem::exists(dir / "run/epoch-1.safetensors"));

  const Result eval = run_ember(dir, "eval " + (dir / "run/epoch-2.safetensors"));
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  EXPECT_TRUE(contains(eval.output, "test examples 40")) << eval.output;
  EXPECT_TRUE(contains(eval.output, "test accuracy ")) << eval.output;
  EXPECT_TRUE(contains(eval.output, "confusion matrix")) << eval.output;
  EXPECT_TRUE(contains(eval.output, "9 Ankle boot")) << eval.output;

  const Result info = run_ember(dir, "info " + (dir / "run/epoch-2.safetensors"));
  ASSERT_EQ(info.exit_code, 0) << info.output;
  for (const char* text :
       {"recipe     fashion-mlp", "epoch      2", "step       10", "model.1.weight", "float32", "[512, 784]",
        "parameters: 669,706", "(1): Linear(in_features=784, out_features=512, bias=True)"})
    EXPECT_TRUE(contains(info.output, text)) << text << "\n" << info.output;
}

TEST_F(Cli, ResumeContinuesWhereItStopped) {
  const std::string common =
      "train fashion-mlp --data " + data() + " --out " + (dir / "run") + " --epochs 2 --batch-size 20 --threads 1";
  const Result first = run_ember(dir, common + " --max-steps 3 --deterministic");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_TRUE(contains(first.output, "stopped after 3 steps")) << first.output;
  const Result second = run_ember(dir, common + " --resume");
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_TRUE(contains(second.output, "resumed from " + (dir / "run/step-3.safetensors") + " (epoch 0, step 3)"))
      << second.output;
  EXPECT_TRUE(contains(second.output, "epoch 2/2  train loss")) << second.output;

  // --deterministic pins the thread count.
  const Result threads = run_ember(dir, "train fashion-mlp --data " + data() + " --out " + (dir / "run") +
                                            " --epochs 2 --batch-size 20 --threads 2 --resume");
  EXPECT_EQ(threads.exit_code, 1) << threads.output;
  EXPECT_TRUE(contains(threads.output, "resume with --threads 1")) << threads.output;
}

TEST_F(Cli, ProfileWritesATraceAndASummary) {
  const std::string trace = dir / "trace.json";
  const Result train = run_ember(dir, "train fashion-mlp --data " + data() + " --out " + (dir / "run") +
                                          " --epochs 1 --batch-size 20 --threads 1 --profile " + trace);
  ASSERT_EQ(train.exit_code, 0) << train.output;
  for (const char* text : {"profile (", "calls", "total ms", "train step", "forward", "backward", "linear",
                           "linearBackward", "evaluate"})
    EXPECT_TRUE(contains(train.output, text)) << text << "\n" << train.output;
  std::ifstream in(trace);
  const auto json = nlohmann::json::parse(in);
  size_t steps = 0;
  for (const auto& e : json.at("traceEvents")) steps += e.at("name") == "train step";
  EXPECT_EQ(steps, 5u);  // 100 examples in batches of 20
}

// The event files, read back by the real `tensorboard` package.
TEST_F(Cli, TensorBoardLogsReadBack) {
  const char* root = std::getenv("EMBER_SOURCE_DIR");
  const std::filesystem::path python =
      std::filesystem::path(root ? root : EMBER_SOURCE_DIR_DEFAULT) / ".venv/bin/python";
  if (!std::filesystem::exists(python)) GTEST_SKIP() << "no venv; run scripts/setup.sh";
  const Result train = run_ember(dir, "train fashion-mlp --data " + data() + " --out " + (dir / "run") +
                                          " --epochs 2 --batch-size 20 --threads 1 --log-every 2");
  ASSERT_EQ(train.exit_code, 0) << train.output;
  std::ofstream(dir / "read.py") << R"(
import sys
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
ea = EventAccumulator(sys.argv[1], size_guidance={"scalars": 0, "histograms": 0})
ea.Reload()
for tag in sorted(ea.Tags()["scalars"]):
    print("scalar", tag, " ".join("%d:%.6f" % (e.step, e.value) for e in ea.Scalars(tag)))
for tag in sorted(ea.Tags()["histograms"]):
    h = ea.Histograms(tag)[-1]
    print("histogram", tag, h.step, int(h.histogram_value.num))
)";
  const std::string command =
      python.string() + " " + (dir / "read.py") + " " + (dir / "run") + " > " + (dir / "tags.txt") + " 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0);
  std::ifstream in(dir / "tags.txt");
  std::stringstream text;
  text << in.rdbuf();
  const std::string tags = text.str();
  // 5 steps per epoch; train/loss every 2 steps; the rest once per epoch.
  EXPECT_TRUE(contains(tags, "scalar train/loss 2:")) << tags;
  EXPECT_TRUE(contains(tags, " 8:")) << tags;
  EXPECT_TRUE(contains(tags, "scalar train/lr 2:0.045225 4:0.032725")) << tags;  // cosine from 0.05
  EXPECT_TRUE(contains(tags, "scalar test/accuracy 5:")) << tags;
  EXPECT_TRUE(contains(tags, "scalar test/loss 5:")) << tags;
  EXPECT_TRUE(contains(tags, "histogram weights/1.weight 10 401408")) << tags;
  EXPECT_TRUE(contains(tags, "histogram grads/5.bias 10 10")) << tags;
  // The accuracy TensorBoard shows is the one printed.
  const size_t at = train.output.rfind("test accuracy ");
  ASSERT_NE(at, std::string::npos);
  const double printed = std::stod(train.output.substr(at + 14)) / 100;
  const size_t tag = tags.find("scalar test/accuracy");
  const size_t last = tags.find("10:", tag);
  ASSERT_NE(last, std::string::npos) << tags;
  EXPECT_NEAR(std::stod(tags.substr(last + 3)), printed, 1e-4);
}

TEST_F(Cli, PrintRecipeWritesARecipeFile) {
  const Result r = run_ember(dir, "train fashion-cnn --print-recipe --lr 0.002 --epochs 3");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "\"lr\": 0.002")) << r.output;
  std::ofstream(dir / "cnn.json") << r.output;
  const Result again = run_ember(dir, "train " + (dir / "cnn.json") + " --print-recipe");
  EXPECT_EQ(again.output, r.output);
}

TEST_F(Cli, HelpOnEveryCommand) {
  for (const char* command : {"train", "eval", "info"}) {
    const Result r = run_ember(dir, std::string(command) + " --help");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, std::string("usage: ember ") + command)) << r.output;
  }
  const Result train = run_ember(dir, "train --help");
  for (const char* flag : {"--epochs", "--batch-size", "--lr", "--optimizer", "--scheduler", "--threads", "--seed",
                           "--data", "--out", "--resume", "--deterministic"})
    EXPECT_TRUE(contains(train.output, flag)) << flag;
  const Result top = run_ember(dir, "--help");
  EXPECT_EQ(top.exit_code, 0);
  EXPECT_TRUE(contains(top.output, "train")) << top.output;
}

// Bad input: one line on stderr naming the problem, a non-zero exit, no crash.
TEST_F(Cli, BadInputIsOneLineAndANonZeroExit) {
  std::ofstream(dir / "garbage.safetensors") << "this is not a checkpoint";
  {
    // A real checkpoint cut short.
    ASSERT_EQ(run_ember(dir, "train fashion-mlp --data " + data() + " --out " + (dir / "run") +
                                 " --epochs 1 --batch-size 50 --threads 1")
                  .exit_code,
              0);
    std::ifstream in(dir / "run/epoch-1.safetensors", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(dir / "run/epoch-1.safetensors", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  }
  const std::string train = "train fashion-mlp --data " + data() + " --out " + (dir / "fresh") + " ";
  const struct {
    std::string args;
    int exit_code;
    std::string message;
  } cases[] = {
      {"frobnicate", 2, "ember: unknown command 'frobnicate'"},
      {"train fashion-transformer", 1, "unknown recipe 'fashion-transformer'"},
      {"train " + (dir / "missing.json"), 1, "cannot open the recipe file"},
      {train + "--lr abc", 2, "ember train: --lr: expected a number, got 'abc'"},
      {train + "--lr -0.1", 2, "--lr must be greater than 0"},
      {train + "--epochs 0", 2, "--epochs must be at least 1"},
      {train + "--optimizer lion", 1, "unknown optimizer 'lion'"},
      {train + "--scheduler cosin", 1, "unknown scheduler 'cosin'"},
      {train + "--autocast f32", 2, "ember train: --autocast: expected bf16 or f16, got 'f32'"},
      {train + "--bogus", 2, "unknown option --bogus"},
      {train + "--epochs", 2, "--epochs needs a value"},
      {"train fashion-mlp --data " + (dir / "nowhere"), 1, "is not a directory"},
      {"train fashion-mlp --data " + (dir / "run"), 1, "train-images-idx3-ubyte"},
      {train + "--resume", 1, "no checkpoint in"},
      {"train fashion-mlp --data " + data() + " --out " + (dir / "run") + " --resume", 1,
       "not a valid safetensors file"},
      {"eval " + (dir / "garbage.safetensors"), 1, "garbage.safetensors: not a valid safetensors file"},
      {"eval " + (dir / "run/epoch-1.safetensors"), 1, "not a valid safetensors file"},
      {"eval " + (dir / "missing.safetensors"), 1, "missing.safetensors"},
      {"eval", 2, "expected one CHECKPOINT"},
      {"info " + (dir / "garbage.safetensors"), 1, "not a valid safetensors file"},
  };
  for (const auto& c : cases) {
    const Result r = run_ember(dir, c.args);
    EXPECT_EQ(r.exit_code, c.exit_code) << c.args << "\n" << r.output;
    EXPECT_TRUE(contains(r.output, c.message)) << c.args << "\n" << r.output;
    // An unknown command also prints the command list.
    if (c.args != "frobnicate") {
      EXPECT_EQ(lines(r.output), 1) << c.args << "\n" << r.output;
    }
  }
}
