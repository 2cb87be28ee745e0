// `ember train RECIPE`: train a built-in recipe or a JSON recipe file on
// Fashion-MNIST-style IDX data, with checkpoints and TensorBoard logs.
#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "args.h"
#include "commands.h"
#include "ember/core/generator.h"
#include "ember/core/parallel.h"
#include "ember/core/profiler.h"
#include "ember/data/idx.h"
#include "trainer.h"

namespace ember::cli {

int run_train(int argc, const char* const* argv) {
  ArgParser args("ember train", "RECIPE",
                 "Train a model. RECIPE is a built-in recipe (fashion-mlp, fashion-cnn) or a JSON recipe file\n"
                 "(see docs/training.md; --print-recipe shows one to start from). Flags override the recipe.");
  args.flag("--epochs", "N", "number of epochs");
  args.flag("--batch-size", "N", "examples per batch");
  args.flag("--lr", "LR", "learning rate");
  args.flag("--optimizer", "NAME", "sgd, adam, adamw, rmsprop or adagrad");
  args.flag("--scheduler", "NAME", "none, step, exponential, cosine, warmup-cosine or onecycle");
  args.flag("--threads", "N", "CPU threads for the math (default: all cores)");
  args.flag("--workers", "N", "data loader threads (default 1; 0 loads in the training thread)");
  args.flag("--seed", "N", "seed for initialization, data order and dropout (default 0)");
  args.flag("--data", "DIR", "directory of the IDX files (default /usr/share/datasets/fashion-mnist)");
  args.flag("--out", "DIR", "checkpoints and TensorBoard logs (default runs/RECIPE)");
  args.switch_("--resume", "continue from the latest checkpoint in --out");
  args.switch_("--deterministic", "bit-identical runs and resumes (pins and records the thread count)");
  args.flag("--max-steps", "N", "stop after N optimizer steps in all, with a checkpoint");
  args.flag("--subset", "N", "use only the first N training and N test examples (quick runs)");
  args.flag("--log-every", "N", "steps between TensorBoard train/loss points (default 50)");
  args.flag("--autocast", "DTYPE", "mixed precision: matmuls and convolutions in bf16 (or f16), float32 weights");
  args.flag("--profile", "PATH", "profile the whole run: a Chrome trace to PATH, a summary table on stdout");
  args.switch_("--compile", "run each training step as one compiled graph (forward, backward, optimizer)");
  args.switch_("--print-recipe", "print the recipe as JSON (after the flags) and exit");
  args.epilog(
      "examples:\n"
      "  ember train fashion-cnn                       # 5 epochs, checkpoints in runs/fashion-cnn\n"
      "  ember train fashion-mlp --epochs 1 --lr 0.1 --optimizer sgd\n"
      "  ember train fashion-cnn --out runs/cnn --resume\n"
      "  ember train fashion-cnn --autocast bf16         # mixed precision (docs/mixed_precision.md)\n"
      "  ember train fashion-cnn --max-steps 50 --profile /tmp/t.json   # docs/profiler.md\n"
      "  ember train fashion-mlp --compile             # graph mode (docs/graph_mode.md)\n"
      "  ember train my_recipe.json --out runs/mine\n"
      "  tensorboard --logdir runs");
  if (!args.parse(argc, argv, std::cout)) return 0;
  if (args.positional().size() != 1)
    throw UsageError("ember train: expected one RECIPE (fashion-mlp, fashion-cnn or a .json file)");

  // Parse every flag before any slow work, so a typo fails at once.
  const std::string recipe_arg = args.positional()[0];
  Recipe recipe = load_recipe(recipe_arg);
  if (auto v = args.get_int("--epochs", 1)) recipe.epochs = *v;
  if (auto v = args.get_int("--batch-size", 1)) recipe.batch_size = *v;
  if (auto v = args.get("--optimizer")) {
    check_optimizer_name(*v, "--optimizer");
    if (*v != recipe.optimizer.name) recipe.optimizer.lr = default_lr(*v);
    recipe.optimizer.name = *v;
  }
  if (auto v = args.get_double("--lr", 0)) recipe.optimizer.lr = *v;
  if (auto v = args.get("--scheduler")) {
    check_scheduler_name(*v, "--scheduler");
    recipe.scheduler.name = *v;
  }
  const auto threads = args.get_int("--threads", 1);
  const auto seed = args.get_int("--seed", 0);
  const int64_t workers = args.get_int("--workers", 0).value_or(1);
  const int64_t max_steps = args.get_int("--max-steps", 1).value_or(0);
  const int64_t subset = args.get_int("--subset", 1).value_or(0);
  const int64_t log_every = args.get_int("--log-every", 1).value_or(50);
  const bool resume = args.get_switch("--resume");
  const bool deterministic = args.get_switch("--deterministic");
  const bool compile = args.get_switch("--compile");
  const std::optional<std::string> profile_path = args.get("--profile");
  std::optional<DType> autocast;
  if (auto v = args.get("--autocast")) {
    if (*v == "bf16") autocast = DType::bf16;
    else if (*v == "f16") autocast = DType::f16;
    else throw UsageError("ember train: --autocast: expected bf16 or f16, got '" + *v + "'");
  }
  if (resume && seed) throw UsageError("ember train: --seed: a resumed run keeps its checkpoint's seed");
  if (args.get_switch("--print-recipe")) {
    std::cout << recipe_to_text(recipe);
    return 0;
  }
  const std::string data_dir = args.get("--data", data::kFashionMnistDir);
  const std::string name = std::filesystem::path(recipe_arg).stem().string();
  const std::string out_dir = args.get("--out", "runs/" + name);

  if (threads) set_num_threads(int(*threads));
  if (!resume && std::filesystem::exists(std::filesystem::path(out_dir) / "latest"))
    std::cout << "note: " << out_dir << " holds an earlier run; its checkpoints will be replaced "
              << "(--resume continues it)\n";
  const TrainData data = load_data(data_dir, recipe, subset);
  manual_seed(uint64_t(seed.value_or(0)));
  nn::AnyModule model = build_model(recipe);

  std::string command = "ember train";
  for (int i = 0; i < argc; ++i) command += std::string(" ") + argv[i];
  if (profile_path) profiler::start();
  const TrainResult result = train(recipe, model, data,
                                   {.out_dir = out_dir,
                                    .resume = resume,
                                    .seed = uint64_t(seed.value_or(0)),
                                    .deterministic = deterministic,
                                    .workers = workers,
                                    .max_steps = max_steps,
                                    .log_every = log_every,
                                    .autocast = autocast,
                                    .compile = compile,
                                    .out = &std::cout,
                                    .tty = isatty(STDOUT_FILENO) != 0,
                                    .info = {{"command", command}, {"data", data_dir}}});
  if (profile_path) {
    profiler::stop();
    profiler::write_chrome_trace(*profile_path);
    std::cout << "profile (" << *profile_path << ", open in ui.perfetto.dev):\n" << profiler::summary();
  }
  if (result.test.examples > 0)
    std::printf("%s: test accuracy %.2f%% after %lld %s\n", recipe.name.c_str(), 100 * result.test.accuracy,
                (long long)result.epoch, result.epoch == 1 ? "epoch" : "epochs");
  if (!result.checkpoint.empty())
    std::printf("checkpoint: %s  (ember eval %s)\n", result.checkpoint.c_str(), result.checkpoint.c_str());
  return 0;
}

}  // namespace ember::cli
