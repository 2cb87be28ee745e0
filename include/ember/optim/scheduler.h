#pragma once
// Learning-rate schedulers with torch.optim.lr_scheduler's semantics: the
// constructor performs the initial step (epoch 0), each step() advances one
// epoch (or batch) and writes the new lr into the optimizer's groups.
//
//   ember::optim::SGD opt(params, {.lr = 0.1, .momentum = 0.9});
//   auto warmup = std::make_shared<ember::optim::LinearLR>(opt, ember::optim::LinearLROptions{
//       .start_factor = 0.1, .total_iters = 5});
//   auto cosine = std::make_shared<ember::optim::CosineAnnealingLR>(opt, 95);
//   ember::optim::SequentialLR sched(opt, {warmup, cosine}, {5});
//   for (int epoch = 0; epoch < 100; ++epoch) {
//     train_one_epoch(opt);
//     sched.step();                       // after opt.step(), as in PyTorch
//   }
//
// A scheduler keeps a pointer to its optimizer: the optimizer must outlive it.
// The lr values follow PyTorch's recursive ("chainable") formulas operation
// for operation, so they agree with torch's bit for bit (tests/optim checks).
// One divergence: an optimizer rejects a negative lr, so a schedule that
// extrapolates below zero (OneCycleLR "linear" stepped past total_steps - 1)
// throws ValueError where torch would silently use it.
//
// state_dict() holds the counters a resume needs ("last_epoch", "step_count",
// "base_lrs.<g>", "last_lr.<g>", plus each scheduler's own, e.g. "best" for
// ReduceLROnPlateau, "schedulers.<i>.<key>" for SequentialLR's children) and
// the hyperparameters for reference; load_state_dict() restores the counters
// (a resumed run keeps the hyperparameters it was constructed with) and
// validates the scheduler name and group count. Load the optimizer's state
// before (or after) constructing the scheduler: its "initial_lr" travels with
// the optimizer as in torch.
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ember/optim/optimizer.h"

namespace ember::optim {

class LRScheduler {
 public:
  virtual ~LRScheduler() = default;
  LRScheduler(const LRScheduler&) = delete;
  LRScheduler& operator=(const LRScheduler&) = delete;

  virtual std::string name() const = 0;  // "StepLR", ...
  virtual void step();
  // The lr of each group as set by the latest step.
  const std::vector<double>& get_last_lr() const { return last_lr_; }
  int64_t last_epoch() const { return last_epoch_; }
  const std::vector<double>& base_lrs() const { return base_lrs_; }
  Optimizer& optimizer() const { return *optimizer_; }

  virtual StateDict state_dict() const;
  virtual void load_state_dict(const StateDict& state);

 protected:
  // Sets each group's initial_lr if absent and takes base_lrs from it. The
  // derived constructor calls initial_step() once its members are set.
  explicit LRScheduler(Optimizer& optimizer);
  void initial_step();
  // The next lrs from the current ones (torch's get_lr).
  virtual std::vector<double> get_lr() = 0;
  // The lrs at last_epoch from base_lrs (torch's _get_closed_form_lr); what
  // SequentialLR uses when it switches to this scheduler.
  virtual std::optional<std::vector<double>> closed_form_lr() const { return std::nullopt; }
  // Advances to `epoch` (or last_epoch + 1) and writes the lrs (torch's _update_lr).
  void update_lr(std::optional<int64_t> epoch);
  // A scheduler's own entries in state_dict (its hyperparameters, for reference).
  virtual void save_extra(StateDict& /*state*/) const {}

  Optimizer* optimizer_;
  std::vector<double> base_lrs_;
  std::vector<double> last_lr_;
  int64_t last_epoch_ = -1;
  int64_t step_count_ = 0;
  bool is_initial_ = false;  // inside the constructor's initial step

  friend class SequentialLR;
};

// lr *= gamma every step_size epochs.
class StepLR : public LRScheduler {
 public:
  StepLR(Optimizer& optimizer, int64_t step_size, double gamma = 0.1);
  std::string name() const override { return "StepLR"; }

 protected:
  std::vector<double> get_lr() override;
  std::optional<std::vector<double>> closed_form_lr() const override;
  void save_extra(StateDict& state) const override;

 private:
  int64_t step_size_;
  double gamma_;
};

// lr *= gamma at each milestone epoch (a milestone listed twice applies twice).
class MultiStepLR : public LRScheduler {
 public:
  MultiStepLR(Optimizer& optimizer, std::vector<int64_t> milestones, double gamma = 0.1);
  std::string name() const override { return "MultiStepLR"; }

 protected:
  std::vector<double> get_lr() override;
  std::optional<std::vector<double>> closed_form_lr() const override;
  void save_extra(StateDict& state) const override;

 private:
  std::vector<int64_t> milestones_;  // sorted
  double gamma_;
};

// lr *= gamma every epoch.
class ExponentialLR : public LRScheduler {
 public:
  ExponentialLR(Optimizer& optimizer, double gamma);
  std::string name() const override { return "ExponentialLR"; }

 protected:
  std::vector<double> get_lr() override;
  std::optional<std::vector<double>> closed_form_lr() const override;
  void save_extra(StateDict& state) const override;

 private:
  double gamma_;
};

// Cosine from the base lr down to eta_min over T_max epochs (and back up
// after, as torch's recursive form does).
class CosineAnnealingLR : public LRScheduler {
 public:
  CosineAnnealingLR(Optimizer& optimizer, int64_t T_max, double eta_min = 0);
  std::string name() const override { return "CosineAnnealingLR"; }

 protected:
  std::vector<double> get_lr() override;
  std::optional<std::vector<double>> closed_form_lr() const override;
  void save_extra(StateDict& state) const override;

 private:
  int64_t T_max_;
  double eta_min_;
};

// Linear change of the lr factor from start_factor to end_factor over
// total_iters epochs: linear warmup.
struct LinearLROptions {
  double start_factor = 1.0 / 3;  // in (0, 1]
  double end_factor = 1.0;        // in [0, 1]
  int64_t total_iters = 5;
};
class LinearLR : public LRScheduler {
 public:
  explicit LinearLR(Optimizer& optimizer, LinearLROptions options = {});
  std::string name() const override { return "LinearLR"; }

 protected:
  std::vector<double> get_lr() override;
  std::optional<std::vector<double>> closed_form_lr() const override;
  void save_extra(StateDict& state) const override;

 private:
  LinearLROptions options_;
};

// Runs schedulers[i] from milestones[i-1] on (e.g. warmup, then cosine). The
// children must be built on the same optimizer, just before this.
class SequentialLR : public LRScheduler {
 public:
  SequentialLR(Optimizer& optimizer, std::vector<std::shared_ptr<LRScheduler>> schedulers,
               std::vector<int64_t> milestones);
  std::string name() const override { return "SequentialLR"; }
  void step() override;
  StateDict state_dict() const override;
  void load_state_dict(const StateDict& state) override;

 protected:
  std::vector<double> get_lr() override;  // the active child's lrs: step() delegates

 private:
  static void recursive_undo(LRScheduler& scheduler);
  std::vector<std::shared_ptr<LRScheduler>> schedulers_;
  std::vector<int64_t> milestones_;
};

// The 1cycle policy: lr rises from max_lr/div_factor to max_lr over
// pct_start of total_steps, then anneals to initial_lr/final_div_factor;
// momentum (or Adam's beta1) cycles inversely. Step it once per batch.
struct OneCycleLROptions {
  std::vector<double> max_lr;         // one per group, or one for all
  int64_t total_steps = 0;            // or epochs * steps_per_epoch when 0
  int64_t epochs = 0;
  int64_t steps_per_epoch = 0;
  double pct_start = 0.3;
  std::string anneal_strategy = "cos";  // "cos" or "linear"
  bool cycle_momentum = true;
  std::vector<double> base_momentum = {0.85};
  std::vector<double> max_momentum = {0.95};
  double div_factor = 25;
  double final_div_factor = 1e4;
  bool three_phase = false;
};
class OneCycleLR : public LRScheduler {
 public:
  OneCycleLR(Optimizer& optimizer, OneCycleLROptions options);
  std::string name() const override { return "OneCycleLR"; }
  int64_t total_steps() const { return total_steps_; }

 protected:
  std::vector<double> get_lr() override;
  void save_extra(StateDict& state) const override;

 private:
  struct Phase {
    double end_step;
    int start_lr, end_lr, start_momentum, end_momentum;  // indices into the per-group anchors
  };
  OneCycleLROptions options_;
  int64_t total_steps_;
  std::vector<Phase> phases_;
  // Per group: [initial_lr, max_lr, min_lr] and [max_momentum, base_momentum].
  std::vector<std::array<double, 3>> lr_anchors_;
  std::vector<std::array<double, 2>> momentum_anchors_;
  std::string momentum_option_;  // "momentum" or "betas.0"
};

// Cuts the lr by `factor` when a metric stops improving for `patience` epochs.
struct ReduceLROnPlateauOptions {
  std::string mode = "min";             // "min" or "max"
  double factor = 0.1;                  // < 1
  int64_t patience = 10;
  double threshold = 1e-4;
  std::string threshold_mode = "rel";   // "rel" or "abs"
  int64_t cooldown = 0;
  std::vector<double> min_lr = {0};     // one per group, or one for all
  double eps = 1e-8;                    // smaller lr changes are ignored
};
class ReduceLROnPlateau {
 public:
  explicit ReduceLROnPlateau(Optimizer& optimizer, ReduceLROnPlateauOptions options = {});
  std::string name() const { return "ReduceLROnPlateau"; }
  void step(double metric);
  const std::vector<double>& get_last_lr() const { return last_lr_; }
  int64_t last_epoch() const { return last_epoch_; }
  double best() const { return best_; }
  int64_t num_bad_epochs() const { return num_bad_epochs_; }

  StateDict state_dict() const;
  void load_state_dict(const StateDict& state);

 private:
  bool is_better(double a, double best) const;
  Optimizer* optimizer_;
  ReduceLROnPlateauOptions options_;
  std::vector<double> min_lrs_;
  std::vector<double> last_lr_;
  int64_t last_epoch_ = 0;
  double best_;
  int64_t num_bad_epochs_ = 0;
  int64_t cooldown_counter_ = 0;
};

}  // namespace ember::optim
