// `ember eval CHECKPOINT`: test-set accuracy and confusion matrix of a model
// saved by `ember train`.
#include <algorithm>
#include <cstdio>
#include <iostream>

#include "args.h"
#include "commands.h"
#include "ember/core/parallel.h"
#include "ember/data/idx.h"
#include "ember/io/checkpoint.h"
#include "trainer.h"

namespace ember::cli {
namespace {

// Rows are the true classes, columns the predictions, as sklearn prints it.
void print_confusion(const Evaluation& e, const std::vector<std::string>& classes) {
  const size_t n = e.confusion.size();
  auto label = [&](size_t i) { return i < classes.size() ? classes[i] : std::to_string(i); };
  size_t name_width = 4;
  for (size_t i = 0; i < n; ++i) name_width = std::max(name_width, label(i).size());
  int64_t largest = 0;
  for (const auto& row : e.confusion) largest = std::max(largest, *std::max_element(row.begin(), row.end()));
  const int cell = std::max<int>(int(std::to_string(largest).size()), 3) + 1;

  std::printf("confusion matrix (rows: true class, columns: predicted class)\n");
  std::printf("%*s", int(name_width) + 2, "");
  for (size_t j = 0; j < n; ++j) std::printf("%*zu", cell, j);
  std::printf("  accuracy\n");
  for (size_t i = 0; i < n; ++i) {
    int64_t total = 0;
    for (int64_t c : e.confusion[i]) total += c;
    std::printf("%zu %-*s", i, int(name_width), label(i).c_str());
    for (size_t j = 0; j < n; ++j) std::printf("%*lld", cell, (long long)e.confusion[i][j]);
    if (total > 0)
      std::printf("  %6.2f%%\n", 100.0 * double(e.confusion[i][i]) / double(total));
    else
      std::printf("       -\n");
  }
}

}  // namespace

int run_eval(int argc, const char* const* argv) {
  ArgParser args("ember eval", "CHECKPOINT",
                 "Evaluate a checkpoint written by `ember train` on the test set: loss, accuracy, a\n"
                 "confusion matrix and per-class accuracy. The model is rebuilt from the recipe stored\n"
                 "in the checkpoint.");
  args.flag("--data", "DIR", "directory of the IDX files (default: the one the model was trained on)");
  args.flag("--batch-size", "N", "examples per batch (default 1000)");
  args.flag("--subset", "N", "use only the first N test examples");
  args.flag("--threads", "N", "CPU threads (default: all cores)");
  if (!args.parse(argc, argv, std::cout)) return 0;
  if (args.positional().size() != 1) throw UsageError("ember eval: expected one CHECKPOINT file");
  const int64_t batch_size = args.get_int("--batch-size", 1).value_or(1000);
  const int64_t subset = args.get_int("--subset", 1).value_or(0);
  if (auto threads = args.get_int("--threads", 1)) set_num_threads(int(*threads));

  const std::string& path = args.positional()[0];
  TrainedModel trained = load_trained_model(path);
  const Recipe& recipe = trained.recipe;
  nn::AnyModule& model = trained.model;
  const io::Checkpoint& ckpt = trained.checkpoint;
  const auto trained_on = ckpt.info.find("data");
  const std::string data_dir =
      args.get("--data", trained_on != ckpt.info.end() ? trained_on->second : data::kFashionMnistDir);
  const auto test = load_split(data_dir, /*train=*/false, recipe, subset);

  const Evaluation e = evaluate(model, *test, batch_size);
  std::printf("%s: %s after %lld epochs (%lld steps)\n", path.c_str(), recipe.name.c_str(), (long long)ckpt.epoch,
              (long long)ckpt.step);
  std::printf("test examples %lld  test loss %.4f  test accuracy %.2f%%\n\n", (long long)e.examples, e.loss,
              100 * e.accuracy);
  print_confusion(e, recipe.classes);
  return 0;
}

}  // namespace ember::cli
