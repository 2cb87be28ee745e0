#include "trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <sstream>

#include "ember/autograd/autograd.h"
#include "ember/core/generator.h"
#include "ember/core/parallel.h"
#include "ember/core/profiler.h"
#include "ember/data/dataloader.h"
#include "ember/data/idx.h"
#include "ember/graph/compile.h"
#include "ember/graph/jit.h"
#include "ember/io/checkpoint.h"
#include "ember/io/tensorboard.h"
#include "ember/ops/autocast.h"
#include "ember/ops/binary.h"
#include "ember/ops/reduce.h"
#include "ember/optim/clip.h"
#include "ember/optim/optimizer.h"
#include "ember/optim/scheduler.h"
#include "format.h"
#include "progress.h"

namespace ember::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Forward passes run under this guard: autocast to options.autocast, or off.
AutocastGuard autocast_guard(const TrainOptions& options) {
  return AutocastGuard({.dtype = options.autocast.value_or(DType::bf16), .enabled = options.autocast.has_value()});
}

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::unique_ptr<optim::Optimizer> make_optimizer(const OptimizerSpec& s, std::vector<Tensor> params) {
  if (s.name == "sgd")
    return std::make_unique<optim::SGD>(
        params,
        optim::SGDOptions{.lr = s.lr, .momentum = s.momentum, .weight_decay = s.weight_decay, .nesterov = s.nesterov});
  if (s.name == "adam")
    return std::make_unique<optim::Adam>(
        params, optim::AdamOptions{.lr = s.lr, .betas = {s.beta1, s.beta2}, .weight_decay = s.weight_decay});
  if (s.name == "adamw")
    return std::make_unique<optim::AdamW>(
        params, optim::AdamWOptions{.lr = s.lr, .betas = {s.beta1, s.beta2}, .weight_decay = s.weight_decay});
  if (s.name == "rmsprop")
    return std::make_unique<optim::RMSprop>(
        params, optim::RMSpropOptions{.lr = s.lr, .weight_decay = s.weight_decay, .momentum = s.momentum});
  if (s.name == "adagrad")
    return std::make_unique<optim::Adagrad>(params, optim::AdagradOptions{.lr = s.lr, .weight_decay = s.weight_decay});
  check_optimizer_name(s.name, "recipe");
  EMBER_INTERNAL_ASSERT(false, "optimizer ", s.name, " is listed but not built");
}

// The scheduler and whether it steps after every batch (else after every epoch).
struct Schedule {
  std::unique_ptr<optim::LRScheduler> scheduler;
  bool per_batch = false;
};

Schedule make_scheduler(const SchedulerSpec& s, optim::Optimizer& opt, int64_t total_steps) {
  if (s.name == "none") return {};
  if (s.name == "step") return {std::make_unique<optim::StepLR>(opt, s.step_size, s.gamma), false};
  if (s.name == "exponential") return {std::make_unique<optim::ExponentialLR>(opt, s.gamma), false};
  if (s.name == "cosine") return {std::make_unique<optim::CosineAnnealingLR>(opt, total_steps, s.eta_min), true};
  if (s.name == "onecycle")
    return {std::make_unique<optim::OneCycleLR>(
                opt, optim::OneCycleLROptions{.max_lr = {opt.lr(0)}, .total_steps = total_steps}),
            true};
  if (s.name == "warmup-cosine") {
    const int64_t warmup = std::clamp<int64_t>(std::llround(s.warmup * double(total_steps)), 1, total_steps - 1);
    auto ramp = std::make_shared<optim::LinearLR>(
        opt, optim::LinearLROptions{.start_factor = 1.0 / double(warmup), .total_iters = warmup});
    auto cosine = std::make_shared<optim::CosineAnnealingLR>(opt, total_steps - warmup, s.eta_min);
    return {std::make_unique<optim::SequentialLR>(opt, std::vector<std::shared_ptr<optim::LRScheduler>>{ramp, cosine},
                                                  std::vector<int64_t>{warmup}),
            true};
  }
  check_scheduler_name(s.name, "recipe");
  EMBER_INTERNAL_ASSERT(false, "scheduler ", s.name, " is listed but not built");
}

std::string describe(const Recipe& r) {
  std::ostringstream s;
  s << r.optimizer.name << " lr " << r.optimizer.lr;
  if (r.optimizer.momentum > 0) s << " momentum " << r.optimizer.momentum;
  if (r.optimizer.weight_decay > 0) s << " weight_decay " << r.optimizer.weight_decay;
  if (r.scheduler.name != "none") s << ", " << r.scheduler.name << " schedule";
  if (r.label_smoothing > 0) s << ", label smoothing " << r.label_smoothing;
  s << ", batch " << r.batch_size << ", " << r.epochs << (r.epochs == 1 ? " epoch" : " epochs");
  return s.str();
}

// A resumed run must train the same model the same way; only the epoch count
// may grow, and only where the schedule does not depend on it.
void check_resumable(const io::Checkpoint& ckpt, const Recipe& recipe) {
  const auto config = ckpt.info.find("config");
  EMBER_CHECK(config != ckpt.info.end(), FormatError, ckpt.source,
              ": not a checkpoint of `ember train` (no info.config)");
  Json saved = Json::parse(config->second, nullptr, /*allow_exceptions=*/false);
  EMBER_CHECK(saved.is_object(), FormatError, ckpt.source, ": info.config is not a JSON object");
  Json now = recipe_to_json(recipe);
  const bool epochs_matter = recipe.scheduler.name == "cosine" || recipe.scheduler.name == "warmup-cosine" ||
                             recipe.scheduler.name == "onecycle";
  if (!epochs_matter) saved.erase("epochs"), now.erase("epochs");
  if (saved == now) return;
  for (const auto& [key, value] : now.items()) {
    if (saved.contains(key) && saved[key] == value) continue;
    EMBER_THROW(ValueError, "--resume: ", ckpt.source, " was trained with ", key, " = ",
                saved.contains(key) ? saved[key].dump() : "(unset)", ", this run asks for ", value.dump(),
                key == "epochs" ? " (the schedule spans all epochs, so they cannot change)" : "");
  }
  EMBER_THROW(ValueError, "--resume: ", ckpt.source, " was trained with a different recipe");
}

std::string read_value(const io::CheckpointSection& section, const std::string& key, const std::string& source) {
  const auto it = section.values.find(key);
  EMBER_CHECK(it != section.values.end(), FormatError, source, ": missing trainer.", key);
  return it->second;
}

}  // namespace

Evaluation evaluate(nn::AnyModule& model, const data::Dataset& dataset, int64_t batch_size, double label_smoothing) {
  autograd::NoGradGuard no_grad;
  const bool was_training = model.module().is_training();
  model.module().eval();
  Evaluation e;
  double loss_sum = 0;
  int64_t correct = 0;
  data::DataLoader loader(std::shared_ptr<const data::Dataset>(&dataset, [](const data::Dataset*) {}),
                          {.batch_size = batch_size});
  for (const data::Batch& batch : loader) {
    const Tensor logits = model(batch.input);
    const int64_t n = logits.size(0), classes = logits.size(1);
    loss_sum += cross_entropy(logits, batch.target, {.reduction = Reduction::sum, .label_smoothing = label_smoothing})
                    .item<double>();
    if (e.confusion.empty()) e.confusion.assign(size_t(classes), std::vector<int64_t>(size_t(classes), 0));
    const auto predicted = argmax(logits, 1).to_vector<int64_t>();
    const auto truth = batch.target.to_vector<int64_t>();
    for (int64_t i = 0; i < n; ++i) {
      EMBER_CHECK(truth[i] >= 0 && truth[i] < classes, IndexError, "evaluate: label ", truth[i],
                  " is out of range for a model with ", classes, " outputs");
      ++e.confusion[size_t(truth[i])][size_t(predicted[i])];
      correct += truth[i] == predicted[i];
    }
    e.examples += n;
  }
  model.module().train(was_training);
  EMBER_CHECK(e.examples > 0, ValueError, "evaluate: the dataset is empty");
  e.loss = loss_sum / double(e.examples);
  e.accuracy = double(correct) / double(e.examples);
  return e;
}

std::string latest_checkpoint(const std::string& out_dir) {
  const fs::path pointer = fs::path(out_dir) / "latest";
  std::ifstream in(pointer);
  EMBER_CHECK(in.good(), ValueError, "--resume: no checkpoint in ", out_dir, " (", pointer.string(), " is missing)");
  std::string name;
  std::getline(in, name);
  EMBER_CHECK(!name.empty() && name.find('/') == std::string::npos, FormatError, pointer.string(),
              ": expected a checkpoint file name, got '", name, "'");
  return (fs::path(out_dir) / name).string();
}

std::shared_ptr<const data::Dataset> load_split(const std::string& dir, bool train, const Recipe& recipe,
                                                int64_t limit) {
  EMBER_CHECK(fs::is_directory(dir), ValueError, "--data: ", dir,
              " is not a directory (install Debian's dataset-fashion-mnist, or pass --data DIR)");
  data::TensorDataset split = data::load_mnist(dir, train);
  Tensor input = split.input(), target = split.target();
  if (limit > 0 && limit < input.size(0)) {
    input = input.narrow(0, 0, limit);
    target = target.narrow(0, 0, limit);
  }
  // Normalized once here rather than per example in the loader: the same
  // arithmetic, without a transform call per image.
  if (recipe.normalize_mean != 0 || recipe.normalize_std != 1)
    input = (input - recipe.normalize_mean) / recipe.normalize_std;
  return std::make_shared<data::TensorDataset>(input.contiguous(), target.contiguous());
}

TrainData load_data(const std::string& dir, const Recipe& recipe, int64_t limit) {
  return {load_split(dir, true, recipe, limit), load_split(dir, false, recipe, limit)};
}

TrainResult train(const Recipe& recipe, nn::AnyModule& model, const TrainData& data, const TrainOptions& options) {
  EMBER_CHECK(data.train && data.test, ValueError, "train: both a training and a test dataset are needed");
  EMBER_CHECK(!options.resume || !options.out_dir.empty(), ValueError, "train: resume needs an out_dir");
  std::ostream* out = options.out;
  nn::Module& module = model.module();
  module.train();
  // State that a resume restores; see Note [Bit-identical resume].
  uint64_t seed = options.seed;
  bool deterministic = options.deterministic;
  int64_t epoch = 0, step = 0;
  double epoch_loss_sum = 0;  // over the current epoch's batches so far
  int64_t epoch_batches = 0;
  std::optional<io::Checkpoint> resumed;
  if (options.resume) {
    resumed = io::load_checkpoint(latest_checkpoint(options.out_dir),
                                  {.required_sections = {"model", "optimizer", "trainer"}});
    check_resumable(*resumed, recipe);
    const io::CheckpointSection& t = resumed->section("trainer");
    seed = uint64_t(optim::parse_int(read_value(t, "seed", resumed->source), "trainer.seed"));
    // A deterministic run stays deterministic when resumed.
    deterministic |= read_value(t, "deterministic", resumed->source) == "true";
    if (deterministic) {
      const int64_t threads = optim::parse_int(read_value(t, "threads", resumed->source), "trainer.threads");
      EMBER_CHECK(threads == get_num_threads(), ValueError, "--resume: ", resumed->source, " was trained with ",
                  threads, " threads and --deterministic; resume with --threads ", threads,
                  " for bit-identical results (this run has ", get_num_threads(), ")");
    }
    epoch = resumed->epoch;
    step = resumed->step;
    epoch_loss_sum = optim::parse_double(read_value(t, "epoch_loss_sum", resumed->source), "trainer.epoch_loss_sum");
    epoch_batches = optim::parse_int(read_value(t, "epoch_batches", resumed->source), "trainer.epoch_batches");
  }

  data::DataLoader loader(
      data.train, {.batch_size = recipe.batch_size, .shuffle = true, .seed = seed, .num_workers = options.workers});
  const int64_t steps_per_epoch = loader.size();
  EMBER_CHECK(steps_per_epoch > 0, ValueError, "train: the training set is empty");
  auto optimizer = make_optimizer(recipe.optimizer, module.parameters());
  Schedule schedule = make_scheduler(recipe.scheduler, *optimizer, recipe.epochs * steps_per_epoch);
  if (resumed) {
    EMBER_CHECK(step >= epoch * steps_per_epoch && step <= (epoch + 1) * steps_per_epoch, FormatError, resumed->source,
                ": step ", step, " does not fall in epoch ", epoch + 1, " of ", steps_per_epoch, " batches");
    module.load_state_dict(resumed->section("model").tensors);
    // After the scheduler's construction, which writes its initial lr into
    // the optimizer: the saved lr (and momentum) must win.
    const io::CheckpointSection& o = resumed->section("optimizer");
    optimizer->load_state_dict({o.tensors, o.values});
    if (schedule.scheduler) {
      const io::CheckpointSection& s = resumed->section("scheduler");
      schedule.scheduler->load_state_dict({s.tensors, s.values});
    }
    // Last: building the model and scheduler above must not disturb it.
    resumed->restore_default_rng();
  }

  const int64_t parameters = module.num_parameters();
  if (out) {
    *out << recipe.name << ": " << format_count(parameters) << " parameters; " << format_count(data.train->size())
         << " training and " << format_count(data.test->size()) << " test examples; " << describe(recipe) << "; "
         << get_num_threads() << (get_num_threads() == 1 ? " thread" : " threads") << ", seed " << seed
         << (deterministic ? ", deterministic" : "") << (options.compile ? ", compiled steps" : "") << "\n";
    if (resumed) *out << "resumed from " << resumed->source << " (epoch " << epoch << ", step " << step << ")\n";
    out->flush();
  }

  std::unique_ptr<io::SummaryWriter> writer;
  if (!options.out_dir.empty()) writer = std::make_unique<io::SummaryWriter>(options.out_dir);
  if (out && epoch >= recipe.epochs)
    *out << "nothing to do: the run finished its " << recipe.epochs << " epochs (--epochs raises the count)\n";

  TrainResult result{.epoch = epoch, .step = step};
  auto save = [&](const std::string& name) {
    io::Checkpoint ckpt{.epoch = epoch, .step = step};
    ckpt.sections["model"] = {.tensors = module.state_dict().to_map()};
    const optim::StateDict o = optimizer->state_dict();
    ckpt.sections["optimizer"] = {.tensors = o.tensors, .values = o.values};
    if (schedule.scheduler) {
      const optim::StateDict s = schedule.scheduler->state_dict();
      ckpt.sections["scheduler"] = {.tensors = s.tensors, .values = s.values};
    }
    ckpt.sections["trainer"] = {.values = {{"seed", std::to_string(seed)},
                                           {"deterministic", deterministic ? "true" : "false"},
                                           {"threads", std::to_string(get_num_threads())},
                                           {"epoch_loss_sum", optim::format_double(epoch_loss_sum)},
                                           {"epoch_batches", std::to_string(epoch_batches)}}};
    ckpt.capture_default_rng();
    ckpt.info = {
        {"recipe", recipe.name}, {"config", recipe_to_json(recipe).dump()}, {"parameters", std::to_string(parameters)}};
    for (const auto& [key, value] : options.info.items())
      ckpt.info[key] = value.is_string() ? value.get<std::string>() : value.dump();
    const std::string path = (fs::path(options.out_dir) / name).string();
    io::save_checkpoint(path, ckpt);
    // Written after the checkpoint, so `latest` never names a missing file.
    io::write_file_atomic((fs::path(options.out_dir) / "latest").string(), name + "\n");
    result.checkpoint = path;
  };

  // One optimizer step on {input, target}; returns {loss}.
  auto train_step = [&](const TensorList& in) -> TensorList {
    optimizer->zero_grad();
    Tensor loss;
    {
      profiler::Scope forward_scope("forward");
      AutocastGuard autocast = autocast_guard(options);
      loss = cross_entropy(model(in[0]), in[1], {.label_smoothing = recipe.label_smoothing});
    }
    {
      profiler::Scope backward_scope("backward");
      loss.backward();
    }
    {
      profiler::Scope optimizer_scope("optimizer step");
      if (recipe.clip_grad_norm > 0) optim::clip_grad_norm_(module.parameters(), recipe.clip_grad_norm);
      optimizer->step();
    }
    return {loss};
  };
  // See Note [Compiled training steps].
  std::optional<CompiledFunction> compiled;
  if (options.compile) compiled.emplace(train_step, CompileOptions{.named_state = jit::named_state(module)});

  double window_loss = 0;  // TensorBoard's train/loss: the mean over log_every steps
  int64_t window_steps = 0;
  const bool limited = options.max_steps > 0;
  while (epoch < recipe.epochs && !(limited && step >= options.max_steps)) {
    const int64_t first_batch = step - epoch * steps_per_epoch;
    loader.set_epoch(epoch, first_batch);
    module.train();
    std::optional<ProgressBar> bar;
    if (out) bar.emplace(*out, options.tty, detail::str_cat("epoch ", epoch + 1, "/", recipe.epochs), steps_per_epoch);
    int64_t batch_index = first_batch, images = 0;
    bool stopped = false;
    const auto start = Clock::now();
    for (const data::Batch& batch : loader) {
      // Scopes for `ember train --profile` (free when it is off); the time
      // between two "train step"s is spent waiting for the data loader.
      profiler::Scope step_scope("train step");
      const TensorList in{batch.input, batch.target};
      const Tensor loss = (compiled ? (*compiled)(in) : train_step(in))[0];
      if (schedule.per_batch) schedule.scheduler->step();
      ++step;
      ++batch_index;
      images += batch.input.size(0);
      const double value = loss.item<double>();
      epoch_loss_sum += value;
      ++epoch_batches;
      window_loss += value;
      ++window_steps;
      if (writer && step % options.log_every == 0) {
        writer->add_scalar("train/loss", window_loss / double(window_steps), step);
        writer->add_scalar("train/lr", optimizer->lr(0), step);
        window_loss = 0;
        window_steps = 0;
      }
      if (bar)
        bar->update(batch_index, first_batch * recipe.batch_size + images, epoch_loss_sum / double(epoch_batches));
      if (limited && step >= options.max_steps && batch_index < steps_per_epoch) {
        stopped = true;
        break;
      }
    }
    const double train_seconds = seconds_since(start);
    if (bar) bar->finish();
    result.step = step;
    if (stopped) {
      if (!options.out_dir.empty()) save(detail::str_cat("step-", step, ".safetensors"));
      if (out)
        *out << "stopped after " << step << " steps (max_steps)"
             << (result.checkpoint.empty() ? "" : "; checkpoint " + result.checkpoint) << "\n";
      return result;
    }

    const double train_loss = epoch_loss_sum / double(std::max<int64_t>(epoch_batches, 1));
    EMBER_CHECK(std::isfinite(train_loss), ValueError, "train: the loss diverged to ", train_loss, " in epoch ",
                epoch + 1, " (try a lower --lr)");
    if (schedule.scheduler && !schedule.per_batch) schedule.scheduler->step();
    ++epoch;
    const auto test_start = Clock::now();
    {
      profiler::Scope evaluate_scope("evaluate");
      AutocastGuard autocast = autocast_guard(options);  // test what the training ran
      result.test = evaluate(model, *data.test, 1000);
    }
    const double test_seconds = seconds_since(test_start);
    result.epoch = epoch;
    if (out)
      *out << format_summary({.epoch = epoch,
                              .epochs = recipe.epochs,
                              .train_loss = train_loss,
                              .test_loss = result.test.loss,
                              .test_accuracy = result.test.accuracy,
                              .lr = optimizer->lr(0),
                              .train_seconds = train_seconds,
                              .images = images,
                              .test_seconds = test_seconds})
           << "\n"
           << std::flush;
    if (writer) {
      writer->add_scalar("train/epoch_loss", train_loss, step);
      writer->add_scalar("test/loss", result.test.loss, step);
      writer->add_scalar("test/accuracy", result.test.accuracy, step);
      writer->add_scalar("train/images_per_second", double(images) / std::max(train_seconds, 1e-9), step);
      for (const auto& [name, p] : module.named_parameters()) {
        writer->add_histogram("weights/" + name, p, step);
        if (p.grad().defined()) writer->add_histogram("grads/" + name, p.grad(), step);
      }
    }
    epoch_loss_sum = 0;
    epoch_batches = 0;
    if (!options.out_dir.empty()) save(detail::str_cat("epoch-", epoch, ".safetensors"));
  }
  return result;
}

}  // namespace ember::cli
