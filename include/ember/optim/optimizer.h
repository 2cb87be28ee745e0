#pragma once
// Optimizers over leaf tensors: SGD, Adam, AdamW, RMSprop, Adagrad, with the
// semantics and hyperparameter names of torch.optim.
//
//   auto w = ember::randn({784, 10}).requires_grad_();
//   ember::optim::SGD opt({w}, {.lr = 0.1, .momentum = 0.9});
//   for (...) {
//     opt.zero_grad();
//     ember::cross_entropy(ember::matmul(x, w), y).backward();
//     opt.step();                         // updates w in place
//   }
//
// Parameter groups with their own hyperparameters (torch's param_groups):
//
//   ember::optim::AdamW opt({{.params = body, .options = {.lr = 1e-3}},
//                            {.params = biases, .options = {.lr = 1e-3, .weight_decay = 0}}});
//   opt.param_groups()[1].options.lr = 5e-4;
//
// step() runs without recording autograd history and updates each parameter's
// storage in place, so handles held by modules stay valid. Parameters whose
// grad() is undefined are skipped (and get no state), as in PyTorch.
//
// step() can be part of a compiled training step (ember::compile; see
// ember/graph/trace.h): it then records one update node per parameter, which
// reads the group's options and the step count from the optimizer at every
// run of the graph, so LR schedulers stepped outside the compiled function
// keep working, and load_state_dict() writes into the state buffers the graph
// holds. The optimizer must outlive the compiled function. See Note [Traced
// optimizer steps] in src/optim/update.h.
//
// Note [Optimizer state_dict keys]
// state_dict() flattens torch's {"state": {i: {...}}, "param_groups": [...]}
// into a StateDict that serializes into safetensors (tensors + string metadata).
// Parameters are numbered 0, 1, ... across all groups in order.
//   tensors["state.<i>.<buffer>"]     momentum_buffer, exp_avg, exp_avg_sq,
//                                     max_exp_avg_sq, square_avg, grad_avg, sum
//   values["state.<i>.step"]          step count (decimal), where torch keeps one
//   values["param_groups.<g>.<name>"] each option, by its torch name; pairs
//                                     flatten as "betas.0", "betas.1"; doubles
//                                     are written to round-trip exactly, bools
//                                     as "true"/"false"; "initial_lr" once an LR
//                                     scheduler has set it
//   values["param_groups.<g>.params"] the group's parameter indices, "0,1,2"
//   values["optimizer"]               the optimizer's name ("SGD", "Adam", ...)
// load_state_dict() validates everything first (optimizer name, group count,
// parameter counts, buffer shapes and dtypes, numbers) and throws an
// ember::Error naming the key before changing anything.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ember/core/tensor.h"

namespace ember {
struct OpDef;
}

namespace ember::optim {

// A serializable snapshot of an optimizer or LR scheduler (see
// Note [Optimizer state_dict keys]); `values` becomes safetensors __metadata__.
struct StateDict {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> values;
};

// Exact text form of a double for StateDict values (shortest round-trip).
std::string format_double(double value);
// Parses a StateDict value; throws ValueError naming `key` when it is not a number.
double parse_double(const std::string& text, std::string_view key);
int64_t parse_int(const std::string& text, std::string_view key);

// The interface every optimizer shares; LR schedulers and training loops use it.
class Optimizer {
 public:
  virtual ~Optimizer() = default;

  virtual std::string name() const = 0;  // "SGD", "Adam", ...
  // One update of every parameter that has a gradient.
  virtual void step() = 0;
  // Clears gradients: drops them (set_to_none) or zeroes them in place.
  void zero_grad(bool set_to_none = true);
  // All parameters, group by group (the numbering of the state_dict keys).
  virtual std::vector<Tensor> parameters() const = 0;

  // Group hyperparameters by torch name ("lr", "momentum", "weight_decay",
  // "betas.0", "nesterov" as 0/1, ...); what schedulers read and write.
  virtual size_t num_param_groups() const = 0;
  virtual bool has_option(std::string_view name) const = 0;
  // Throws ValueError naming the optimizer when `name` is not a numeric option
  // of it, IndexError for a bad group index.
  virtual double option(size_t group, std::string_view name) const = 0;
  virtual void set_option(size_t group, std::string_view name, double value) = 0;
  double lr(size_t group) const { return option(group, "lr"); }
  void set_lr(size_t group, double lr) { set_option(group, "lr", lr); }
  // torch's group["initial_lr"]: absent until an LR scheduler sets it.
  virtual std::optional<double> initial_lr(size_t group) const = 0;
  virtual void set_initial_lr(size_t group, double lr) = 0;

  virtual StateDict state_dict() const = 0;
  virtual void load_state_dict(const StateDict& state) = 0;
};

// A group of parameters sharing hyperparameters (an entry of param_groups).
template <class Options>
struct ParamGroup {
  std::vector<Tensor> params;
  Options options = {};
  std::optional<double> initial_lr = {};  // set by the first LR scheduler, as torch's group["initial_lr"]
};

// The typed part shared by the optimizers: groups of Options and per-parameter
// State. Each Options/State has visit(f) calling f(name, member) for every
// hyperparameter (double or bool) or state entry (int64_t step count or Tensor
// buffer, undefined when unused); that drives option access and state_dict.
template <class Options, class State>
class OptimizerBase : public Optimizer {
 public:
  using OptionsType = Options;
  using StateType = State;

  std::vector<ParamGroup<Options>>& param_groups() { return groups_; }
  const std::vector<ParamGroup<Options>>& param_groups() const { return groups_; }
  // Adds a group (torch's add_param_group); validates its options.
  void add_param_group(ParamGroup<Options> group);
  // The state of `param`, or null when it has none yet (or is not optimized).
  const State* state(const Tensor& param) const;

  std::vector<Tensor> parameters() const override;
  size_t num_param_groups() const override { return groups_.size(); }
  bool has_option(std::string_view name) const override;
  double option(size_t group, std::string_view name) const override;
  void set_option(size_t group, std::string_view name, double value) override;
  std::optional<double> initial_lr(size_t group) const override;
  void set_initial_lr(size_t group, double lr) override;
  StateDict state_dict() const override;
  void load_state_dict(const StateDict& state) override;

 protected:
  // Adds the constructor's groups; an empty parameter list is a ValueError.
  void init_groups(std::vector<ParamGroup<Options>> groups);
  // Validates options; throws ValueError naming the optimizer and the value.
  virtual void check_options(const Options& options) const = 0;
  // state_[g][k]: the state of groups_[g].params[k]; `initialized` false until
  // its first step.
  struct Slot {
    State state = {};
    bool initialized = false;
  };
  std::vector<std::vector<Slot>> state_;
  std::vector<ParamGroup<Options>> groups_;

  // What every step() runs (defined in src/optim/update.h): for each
  // parameter that has a gradient, marks its state initialized, calls
  // prepare(param, state, options), which sets up the state and returns the
  // update {Step, state buffers}, and runs that update as `op` (see
  // Note [Traced optimizer steps]).
  template <class Prepare> void update_each(const OpDef& op, Prepare&& prepare);
};

// ---- SGD ----
struct SGDOptions {
  double lr = 1e-3;
  double momentum = 0;
  double dampening = 0;
  double weight_decay = 0;
  bool nesterov = false;
  bool maximize = false;
  template <class F> void visit(F&& f) {
    f("lr", lr), f("momentum", momentum), f("dampening", dampening), f("weight_decay", weight_decay);
    f("nesterov", nesterov), f("maximize", maximize);
  }
};
struct SGDState {
  Tensor momentum_buffer;  // only with momentum != 0
  template <class F> void visit(F&& f) { f("momentum_buffer", momentum_buffer); }
};
class SGD : public OptimizerBase<SGDOptions, SGDState> {
 public:
  SGD(std::vector<Tensor> params, SGDOptions options = {});
  explicit SGD(std::vector<ParamGroup<SGDOptions>> groups);
  std::string name() const override { return "SGD"; }
  void step() override;

 protected:
  void check_options(const SGDOptions& options) const override;
};

// ---- Adam and AdamW ----
struct AdamOptions {
  double lr = 1e-3;
  std::pair<double, double> betas = {0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = 0;
  bool amsgrad = false;
  bool maximize = false;
  template <class F> void visit(F&& f) {
    f("lr", lr), f("betas.0", betas.first), f("betas.1", betas.second), f("eps", eps);
    f("weight_decay", weight_decay), f("amsgrad", amsgrad), f("maximize", maximize);
  }
};
// AdamW: the same options with decoupled weight decay, default 1e-2.
struct AdamWOptions {
  double lr = 1e-3;
  std::pair<double, double> betas = {0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = 1e-2;
  bool amsgrad = false;
  bool maximize = false;
  template <class F> void visit(F&& f) {
    f("lr", lr), f("betas.0", betas.first), f("betas.1", betas.second), f("eps", eps);
    f("weight_decay", weight_decay), f("amsgrad", amsgrad), f("maximize", maximize);
  }
};
struct AdamState {
  int64_t step = 0;
  Tensor exp_avg, exp_avg_sq;
  Tensor max_exp_avg_sq;  // only with amsgrad
  template <class F> void visit(F&& f) {
    f("step", step), f("exp_avg", exp_avg), f("exp_avg_sq", exp_avg_sq), f("max_exp_avg_sq", max_exp_avg_sq);
  }
};
class Adam : public OptimizerBase<AdamOptions, AdamState> {
 public:
  Adam(std::vector<Tensor> params, AdamOptions options = {});
  explicit Adam(std::vector<ParamGroup<AdamOptions>> groups);
  std::string name() const override { return "Adam"; }
  void step() override;

 protected:
  void check_options(const AdamOptions& options) const override;
};
class AdamW : public OptimizerBase<AdamWOptions, AdamState> {
 public:
  AdamW(std::vector<Tensor> params, AdamWOptions options = {});
  explicit AdamW(std::vector<ParamGroup<AdamWOptions>> groups);
  std::string name() const override { return "AdamW"; }
  void step() override;

 protected:
  void check_options(const AdamWOptions& options) const override;
};

// ---- RMSprop ----
struct RMSpropOptions {
  double lr = 1e-2;
  double alpha = 0.99;
  double eps = 1e-8;
  double weight_decay = 0;
  double momentum = 0;
  bool centered = false;
  bool maximize = false;
  template <class F> void visit(F&& f) {
    f("lr", lr), f("alpha", alpha), f("eps", eps), f("weight_decay", weight_decay), f("momentum", momentum);
    f("centered", centered), f("maximize", maximize);
  }
};
struct RMSpropState {
  int64_t step = 0;
  Tensor square_avg;
  Tensor momentum_buffer;  // only with momentum > 0
  Tensor grad_avg;         // only when centered
  template <class F> void visit(F&& f) {
    f("step", step), f("square_avg", square_avg), f("momentum_buffer", momentum_buffer), f("grad_avg", grad_avg);
  }
};
class RMSprop : public OptimizerBase<RMSpropOptions, RMSpropState> {
 public:
  RMSprop(std::vector<Tensor> params, RMSpropOptions options = {});
  explicit RMSprop(std::vector<ParamGroup<RMSpropOptions>> groups);
  std::string name() const override { return "RMSprop"; }
  void step() override;

 protected:
  void check_options(const RMSpropOptions& options) const override;
};

// ---- Adagrad ----
struct AdagradOptions {
  double lr = 1e-2;
  double lr_decay = 0;
  double weight_decay = 0;
  double initial_accumulator_value = 0;
  double eps = 1e-10;
  bool maximize = false;
  template <class F> void visit(F&& f) {
    f("lr", lr), f("lr_decay", lr_decay), f("weight_decay", weight_decay);
    f("initial_accumulator_value", initial_accumulator_value), f("eps", eps), f("maximize", maximize);
  }
};
struct AdagradState {
  int64_t step = 0;
  Tensor sum;
  template <class F> void visit(F&& f) { f("step", step), f("sum", sum); }
};
class Adagrad : public OptimizerBase<AdagradOptions, AdagradState> {
 public:
  Adagrad(std::vector<Tensor> params, AdagradOptions options = {});
  explicit Adagrad(std::vector<ParamGroup<AdagradOptions>> groups);
  std::string name() const override { return "Adagrad"; }
  void step() override;

 protected:
  void check_options(const AdagradOptions& options) const override;
};

// Defined in src/optim/optimizer.cpp for exactly these pairs.
extern template class OptimizerBase<SGDOptions, SGDState>;
extern template class OptimizerBase<AdamOptions, AdamState>;
extern template class OptimizerBase<AdamWOptions, AdamState>;
extern template class OptimizerBase<RMSpropOptions, RMSpropState>;
extern template class OptimizerBase<AdagradOptions, AdagradState>;

}  // namespace ember::optim
