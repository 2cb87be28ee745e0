// LR schedulers. Each get_lr() transcribes torch.optim.lr_scheduler's
// formula with the same operation order, so the sequences agree with torch's
// to the last bit (the goldens compare them to 1e-12).
#include "ember/optim/scheduler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

namespace ember::optim {

namespace {

std::vector<double> current_lrs(const Optimizer& optimizer) {
  std::vector<double> lrs(optimizer.num_param_groups());
  for (size_t g = 0; g < lrs.size(); ++g) lrs[g] = optimizer.lr(g);
  return lrs;
}

// One value per group: a single value applies to all (torch's _format_param).
std::vector<double> per_group(const std::vector<double>& values, const Optimizer& optimizer, const char* scheduler,
                              const char* name) {
  const size_t groups = optimizer.num_param_groups();
  EMBER_CHECK(values.size() == 1 || values.size() == groups, ValueError, scheduler, ": ", name, " has ",
              values.size(), " values, expected 1 or one per parameter group (", groups, ")");
  return values.size() == 1 ? std::vector<double>(groups, values[0]) : values;
}

const std::string& value_at(const StateDict& state, const std::string& key, const std::string& where) {
  auto it = state.values.find(key);
  EMBER_CHECK(it != state.values.end(), ValueError, where, "missing key '", key, "'");
  return it->second;
}

void save_list(StateDict& state, const std::string& prefix, const std::vector<double>& values) {
  for (size_t i = 0; i < values.size(); ++i) state.values[prefix + std::to_string(i)] = format_double(values[i]);
}

std::vector<double> load_list(const StateDict& state, const std::string& prefix, size_t count,
                              const std::string& where) {
  std::vector<double> out(count);
  for (size_t i = 0; i < count; ++i) {
    const std::string key = prefix + std::to_string(i);
    out[i] = parse_double(value_at(state, key, where), key);
  }
  EMBER_CHECK(!state.values.count(prefix + std::to_string(count)), ValueError, where, "the state has more than ",
              count, " entries ", prefix, "*, the optimizer has ", count, " parameter groups");
  return out;
}

}  // namespace

// ---- LRScheduler ----

LRScheduler::LRScheduler(Optimizer& optimizer) : optimizer_(&optimizer) {
  for (size_t g = 0; g < optimizer.num_param_groups(); ++g) {
    // torch's group.setdefault("initial_lr", lr): a second scheduler on the
    // same optimizer starts from the same base lr as the first.
    if (!optimizer.initial_lr(g)) optimizer.set_initial_lr(g, optimizer.lr(g));
    base_lrs_.push_back(*optimizer.initial_lr(g));
  }
}

void LRScheduler::initial_step() {
  step_count_ = 0;
  is_initial_ = true;
  step();
  is_initial_ = false;
}

void LRScheduler::step() {
  ++step_count_;
  update_lr(std::nullopt);
}

void LRScheduler::update_lr(std::optional<int64_t> epoch) {
  EMBER_CHECK(base_lrs_.size() == optimizer_->num_param_groups(), ValueError, name(), ": the optimizer has ",
              optimizer_->num_param_groups(), " parameter groups, the scheduler was built for ", base_lrs_.size());
  std::vector<double> values;
  if (!epoch) {
    ++last_epoch_;
    values = get_lr();
  } else {
    last_epoch_ = *epoch;
    std::optional<std::vector<double>> closed = closed_form_lr();
    values = closed ? std::move(*closed) : get_lr();
  }
  for (size_t g = 0; g < values.size(); ++g) optimizer_->set_lr(g, values[g]);
  last_lr_ = current_lrs(*optimizer_);
}

StateDict LRScheduler::state_dict() const {
  StateDict state;
  state.values["scheduler"] = name();
  state.values["last_epoch"] = std::to_string(last_epoch_);
  state.values["step_count"] = std::to_string(step_count_);
  save_list(state, "base_lrs.", base_lrs_);
  save_list(state, "last_lr.", last_lr_);
  save_extra(state);
  return state;
}

void LRScheduler::load_state_dict(const StateDict& state) {
  const std::string where = name() + ": load_state_dict: ";
  const std::string& saved = value_at(state, "scheduler", where);
  EMBER_CHECK(saved == name(), ValueError, where, "the state is of a ", saved, " scheduler");
  const size_t groups = optimizer_->num_param_groups();
  const int64_t last_epoch = parse_int(value_at(state, "last_epoch", where), "last_epoch");
  const int64_t step_count = parse_int(value_at(state, "step_count", where), "step_count");
  std::vector<double> base_lrs = load_list(state, "base_lrs.", groups, where);
  std::vector<double> last_lr = load_list(state, "last_lr.", groups, where);
  last_epoch_ = last_epoch;
  step_count_ = step_count;
  base_lrs_ = std::move(base_lrs);
  last_lr_ = std::move(last_lr);
}

// ---- StepLR ----

StepLR::StepLR(Optimizer& optimizer, int64_t step_size, double gamma)
    : LRScheduler(optimizer), step_size_(step_size), gamma_(gamma) {
  EMBER_CHECK(step_size > 0, ValueError, "StepLR: step_size must be positive, got ", step_size);
  initial_step();
}

std::vector<double> StepLR::get_lr() {
  std::vector<double> lrs = current_lrs(*optimizer_);
  if (last_epoch_ == 0 || last_epoch_ % step_size_ != 0) return lrs;
  for (double& lr : lrs) lr = lr * gamma_;
  return lrs;
}

std::optional<std::vector<double>> StepLR::closed_form_lr() const {
  std::vector<double> lrs;
  for (double base : base_lrs_) lrs.push_back(base * std::pow(gamma_, double(last_epoch_ / step_size_)));
  return lrs;
}

void StepLR::save_extra(StateDict& state) const {
  state.values["step_size"] = std::to_string(step_size_);
  state.values["gamma"] = format_double(gamma_);
}

// ---- MultiStepLR ----

MultiStepLR::MultiStepLR(Optimizer& optimizer, std::vector<int64_t> milestones, double gamma)
    : LRScheduler(optimizer), milestones_(std::move(milestones)), gamma_(gamma) {
  std::sort(milestones_.begin(), milestones_.end());
  initial_step();
}

std::vector<double> MultiStepLR::get_lr() {
  std::vector<double> lrs = current_lrs(*optimizer_);
  const auto hits = std::count(milestones_.begin(), milestones_.end(), last_epoch_);
  if (hits == 0) return lrs;
  for (double& lr : lrs) lr = lr * std::pow(gamma_, double(hits));
  return lrs;
}

std::optional<std::vector<double>> MultiStepLR::closed_form_lr() const {
  const auto passed = std::upper_bound(milestones_.begin(), milestones_.end(), last_epoch_) - milestones_.begin();
  std::vector<double> lrs;
  for (double base : base_lrs_) lrs.push_back(base * std::pow(gamma_, double(passed)));
  return lrs;
}

void MultiStepLR::save_extra(StateDict& state) const {
  std::string list;
  for (size_t i = 0; i < milestones_.size(); ++i) {
    if (i) list += ',';
    list += std::to_string(milestones_[i]);
  }
  state.values["milestones"] = list;
  state.values["gamma"] = format_double(gamma_);
}

// ---- ExponentialLR ----

ExponentialLR::ExponentialLR(Optimizer& optimizer, double gamma) : LRScheduler(optimizer), gamma_(gamma) {
  initial_step();
}

std::vector<double> ExponentialLR::get_lr() {
  std::vector<double> lrs = current_lrs(*optimizer_);
  if (is_initial_) return lrs;
  for (double& lr : lrs) lr = lr * gamma_;
  return lrs;
}

std::optional<std::vector<double>> ExponentialLR::closed_form_lr() const {
  std::vector<double> lrs;
  for (double base : base_lrs_) lrs.push_back(base * std::pow(gamma_, double(last_epoch_)));
  return lrs;
}

void ExponentialLR::save_extra(StateDict& state) const { state.values["gamma"] = format_double(gamma_); }

// ---- CosineAnnealingLR ----

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, int64_t T_max, double eta_min)
    : LRScheduler(optimizer), T_max_(T_max), eta_min_(eta_min) {
  EMBER_CHECK(T_max > 0, ValueError, "CosineAnnealingLR: T_max must be positive, got ", T_max);
  initial_step();
}

std::vector<double> CosineAnnealingLR::get_lr() {
  constexpr double pi = std::numbers::pi;
  std::vector<double> lrs = current_lrs(*optimizer_);
  if (is_initial_) return lrs;
  const double epoch = double(last_epoch_), t_max = double(T_max_);
  for (size_t g = 0; g < lrs.size(); ++g) {
    const double base = base_lrs_[g];
    if (step_count_ == 1 && last_epoch_ > 0) {
      lrs[g] = eta_min_ + (base - eta_min_) * (1 + std::cos(epoch * pi / t_max)) / 2;
    } else if ((last_epoch_ - 1 - T_max_) % (2 * T_max_) == 0) {
      lrs[g] = lrs[g] + (base - eta_min_) * (1 - std::cos(pi / t_max)) / 2;
    } else {
      lrs[g] = (1 + std::cos(pi * epoch / t_max)) / (1 + std::cos(pi * (epoch - 1) / t_max)) * (lrs[g] - eta_min_) +
               eta_min_;
    }
  }
  return lrs;
}

std::optional<std::vector<double>> CosineAnnealingLR::closed_form_lr() const {
  constexpr double pi = std::numbers::pi;
  std::vector<double> lrs;
  for (double base : base_lrs_)
    lrs.push_back(eta_min_ + (base - eta_min_) * (1 + std::cos(pi * double(last_epoch_) / double(T_max_))) / 2);
  return lrs;
}

void CosineAnnealingLR::save_extra(StateDict& state) const {
  state.values["T_max"] = std::to_string(T_max_);
  state.values["eta_min"] = format_double(eta_min_);
}

// ---- LinearLR ----

LinearLR::LinearLR(Optimizer& optimizer, LinearLROptions options) : LRScheduler(optimizer), options_(options) {
  EMBER_CHECK(options.start_factor > 0 && options.start_factor <= 1, ValueError,
              "LinearLR: start_factor must be in (0, 1], got ", options.start_factor);
  EMBER_CHECK(options.end_factor >= 0 && options.end_factor <= 1, ValueError,
              "LinearLR: end_factor must be in [0, 1], got ", options.end_factor);
  EMBER_CHECK(options.total_iters > 0, ValueError, "LinearLR: total_iters must be positive, got ",
              options.total_iters);
  initial_step();
}

std::vector<double> LinearLR::get_lr() {
  const auto& o = options_;
  std::vector<double> lrs = current_lrs(*optimizer_);
  if (last_epoch_ == 0) {
    for (double& lr : lrs) lr = lr * o.start_factor;
    return lrs;
  }
  if (is_initial_ || last_epoch_ > o.total_iters) return lrs;
  for (double& lr : lrs)
    lr = lr * (1.0 + (o.end_factor - o.start_factor) /
                         (double(o.total_iters) * o.start_factor +
                          double(last_epoch_ - 1) * (o.end_factor - o.start_factor)));
  return lrs;
}

std::optional<std::vector<double>> LinearLR::closed_form_lr() const {
  const auto& o = options_;
  std::vector<double> lrs;
  for (double base : base_lrs_)
    lrs.push_back(base * (o.start_factor + (o.end_factor - o.start_factor) *
                                               double(std::min(o.total_iters, last_epoch_)) / double(o.total_iters)));
  return lrs;
}

void LinearLR::save_extra(StateDict& state) const {
  state.values["start_factor"] = format_double(options_.start_factor);
  state.values["end_factor"] = format_double(options_.end_factor);
  state.values["total_iters"] = std::to_string(options_.total_iters);
}

// ---- SequentialLR ----

SequentialLR::SequentialLR(Optimizer& optimizer, std::vector<std::shared_ptr<LRScheduler>> schedulers,
                           std::vector<int64_t> milestones)
    : LRScheduler(optimizer), schedulers_(std::move(schedulers)), milestones_(std::move(milestones)) {
  EMBER_CHECK(!schedulers_.empty(), ValueError, "SequentialLR: expects at least one scheduler");
  for (size_t i = 0; i < schedulers_.size(); ++i) {
    EMBER_CHECK(schedulers_[i] != nullptr, ValueError, "SequentialLR: scheduler ", i, " is null");
    EMBER_CHECK(&schedulers_[i]->optimizer() == &optimizer, ValueError, "SequentialLR: scheduler ", i, " (",
                schedulers_[i]->name(), ") belongs to a different optimizer");
  }
  EMBER_CHECK(milestones_.size() + 1 == schedulers_.size(), ValueError, "SequentialLR: expects one milestone fewer ",
              "than schedulers, got ", schedulers_.size(), " schedulers and ", milestones_.size(), " milestones");
  last_epoch_ = 0;
  for (size_t g = 0; g < optimizer.num_param_groups(); ++g) optimizer.set_lr(g, *optimizer.initial_lr(g));
  for (auto& s : schedulers_) recursive_undo(*s);
  const size_t idx = std::upper_bound(milestones_.begin(), milestones_.end(), 0) - milestones_.begin();
  schedulers_[idx]->initial_step();
  last_lr_ = schedulers_[idx]->get_last_lr();
}

// torch's SequentialLR.recursive_undo: takes back the initial step each
// child made in its constructor.
void SequentialLR::recursive_undo(LRScheduler& scheduler) {
  if (auto* nested = dynamic_cast<SequentialLR*>(&scheduler)) {
    for (auto& child : nested->schedulers_) recursive_undo(*child);
  } else {
    --scheduler.last_epoch_;
  }
}

void SequentialLR::step() {
  ++last_epoch_;
  const size_t idx = std::upper_bound(milestones_.begin(), milestones_.end(), last_epoch_) - milestones_.begin();
  LRScheduler& scheduler = *schedulers_[idx];
  if (idx > 0 && milestones_[idx - 1] == last_epoch_) {
    scheduler.update_lr(0);
  } else {
    scheduler.step();
  }
  last_lr_ = scheduler.get_last_lr();
}

std::vector<double> SequentialLR::get_lr() { return last_lr_; }

StateDict SequentialLR::state_dict() const {
  StateDict state;
  state.values["scheduler"] = name();
  state.values["last_epoch"] = std::to_string(last_epoch_);
  save_list(state, "last_lr.", last_lr_);
  for (size_t i = 0; i < schedulers_.size(); ++i) {
    const std::string prefix = "schedulers." + std::to_string(i) + ".";
    StateDict child = schedulers_[i]->state_dict();
    for (auto& [key, value] : child.values) state.values[prefix + key] = value;
    for (auto& [key, value] : child.tensors) state.tensors[prefix + key] = value;
  }
  return state;
}

void SequentialLR::load_state_dict(const StateDict& state) {
  const std::string where = name() + ": load_state_dict: ";
  const std::string& saved = value_at(state, "scheduler", where);
  EMBER_CHECK(saved == name(), ValueError, where, "the state is of a ", saved, " scheduler");
  EMBER_CHECK(!state.values.count("schedulers." + std::to_string(schedulers_.size()) + ".scheduler"), ValueError,
              where, "the state has more than ", schedulers_.size(), " schedulers");
  const int64_t last_epoch = parse_int(value_at(state, "last_epoch", where), "last_epoch");
  std::vector<double> last_lr = load_list(state, "last_lr.", optimizer_->num_param_groups(), where);
  std::vector<StateDict> children(schedulers_.size());
  for (size_t i = 0; i < schedulers_.size(); ++i) {
    const std::string prefix = "schedulers." + std::to_string(i) + ".";
    for (const auto& [key, value] : state.values)
      if (key.rfind(prefix, 0) == 0) children[i].values[key.substr(prefix.size())] = value;
    for (const auto& [key, value] : state.tensors)
      if (key.rfind(prefix, 0) == 0) children[i].tensors[key.substr(prefix.size())] = value;
  }
  for (size_t i = 0; i < schedulers_.size(); ++i) schedulers_[i]->load_state_dict(children[i]);
  last_epoch_ = last_epoch;
  last_lr_ = std::move(last_lr);
}

// ---- OneCycleLR ----

OneCycleLR::OneCycleLR(Optimizer& optimizer, OneCycleLROptions options)
    : LRScheduler(optimizer), options_(std::move(options)) {
  const auto& o = options_;
  if (o.total_steps != 0) {
    EMBER_CHECK(o.total_steps > 0, ValueError, "OneCycleLR: expected a positive total_steps, got ", o.total_steps);
    total_steps_ = o.total_steps;
  } else {
    EMBER_CHECK(o.epochs != 0 || o.steps_per_epoch != 0, ValueError,
                "OneCycleLR: define either total_steps or (epochs and steps_per_epoch)");
    EMBER_CHECK(o.epochs > 0, ValueError, "OneCycleLR: expected a positive epochs, got ", o.epochs);
    EMBER_CHECK(o.steps_per_epoch > 0, ValueError, "OneCycleLR: expected a positive steps_per_epoch, got ",
                o.steps_per_epoch);
    total_steps_ = o.epochs * o.steps_per_epoch;
  }
  EMBER_CHECK(o.pct_start >= 0 && o.pct_start <= 1, ValueError, "OneCycleLR: pct_start must be in [0, 1], got ",
              o.pct_start);
  EMBER_CHECK(o.anneal_strategy == "cos" || o.anneal_strategy == "linear", ValueError,
              "OneCycleLR: anneal_strategy must be \"cos\" or \"linear\", got \"", o.anneal_strategy, "\"");
  EMBER_CHECK(!o.max_lr.empty(), ValueError, "OneCycleLR: max_lr is required");
  const double total = double(total_steps_);
  enum { kInitialLr, kMaxLr, kMinLr };
  enum { kMaxMomentum, kBaseMomentum };
  if (o.three_phase) {
    phases_ = {{o.pct_start * total - 1, kInitialLr, kMaxLr, kMaxMomentum, kBaseMomentum},
               {2 * o.pct_start * total - 2, kMaxLr, kInitialLr, kBaseMomentum, kMaxMomentum},
               {total - 1, kInitialLr, kMinLr, kMaxMomentum, kMaxMomentum}};
  } else {
    phases_ = {{o.pct_start * total - 1, kInitialLr, kMaxLr, kMaxMomentum, kBaseMomentum},
               {total - 1, kMaxLr, kMinLr, kBaseMomentum, kMaxMomentum}};
  }
  const std::vector<double> max_lrs = per_group(o.max_lr, optimizer, "OneCycleLR", "max_lr");
  for (size_t g = 0; g < max_lrs.size(); ++g) {
    const double initial_lr = max_lrs[g] / o.div_factor;
    optimizer.set_initial_lr(g, initial_lr);
    lr_anchors_.push_back({initial_lr, max_lrs[g], initial_lr / o.final_div_factor});
  }
  // The base class took base_lrs before this constructor set initial_lr.
  base_lrs_.clear();
  for (const auto& anchors : lr_anchors_) base_lrs_.push_back(anchors[kInitialLr]);
  if (o.cycle_momentum) {
    EMBER_CHECK(optimizer.has_option("momentum") || optimizer.has_option("betas.0"), ValueError,
                "OneCycleLR: ", optimizer.name(), " has neither momentum nor betas; pass cycle_momentum = false");
    momentum_option_ = optimizer.has_option("betas.0") ? "betas.0" : "momentum";
    const std::vector<double> max_m = per_group(o.max_momentum, optimizer, "OneCycleLR", "max_momentum");
    const std::vector<double> base_m = per_group(o.base_momentum, optimizer, "OneCycleLR", "base_momentum");
    for (size_t g = 0; g < max_m.size(); ++g) {
      optimizer.set_option(g, momentum_option_, max_m[g]);
      momentum_anchors_.push_back({max_m[g], base_m[g]});
    }
  }
  initial_step();
}

std::vector<double> OneCycleLR::get_lr() {
  EMBER_CHECK(last_epoch_ <= total_steps_, ValueError, "OneCycleLR: tried to step ", last_epoch_,
              " times; total_steps is ", total_steps_);
  const bool cos = options_.anneal_strategy == "cos";
  auto anneal = [cos](double start, double end, double pct) {
    if (cos) return end + (start - end) / 2.0 * (std::cos(std::numbers::pi * pct) + 1);
    return (end - start) * pct + start;
  };
  const double step_num = double(last_epoch_);
  std::vector<double> lrs(lr_anchors_.size());
  for (size_t g = 0; g < lrs.size(); ++g) {
    double start_step = 0;
    for (size_t i = 0; i < phases_.size(); ++i) {
      const Phase& phase = phases_[i];
      if (step_num <= phase.end_step || i + 1 == phases_.size()) {
        const double pct = (step_num - start_step) / (phase.end_step - start_step);
        lrs[g] = anneal(lr_anchors_[g][phase.start_lr], lr_anchors_[g][phase.end_lr], pct);
        if (options_.cycle_momentum) {
          optimizer_->set_option(g, momentum_option_,
                                 anneal(momentum_anchors_[g][phase.start_momentum],
                                        momentum_anchors_[g][phase.end_momentum], pct));
        }
        break;
      }
      start_step = phase.end_step;
    }
  }
  return lrs;
}

void OneCycleLR::save_extra(StateDict& state) const {
  state.values["total_steps"] = std::to_string(total_steps_);
  state.values["pct_start"] = format_double(options_.pct_start);
  state.values["anneal_strategy"] = options_.anneal_strategy;
  state.values["three_phase"] = options_.three_phase ? "true" : "false";
  for (size_t g = 0; g < lr_anchors_.size(); ++g) {
    state.values["max_lr." + std::to_string(g)] = format_double(lr_anchors_[g][1]);
    state.values["min_lr." + std::to_string(g)] = format_double(lr_anchors_[g][2]);
  }
}

// ---- ReduceLROnPlateau ----

ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& optimizer, ReduceLROnPlateauOptions options)
    : optimizer_(&optimizer), options_(std::move(options)) {
  const auto& o = options_;
  EMBER_CHECK(o.factor < 1.0, ValueError, "ReduceLROnPlateau: factor must be < 1, got ", o.factor);
  EMBER_CHECK(o.mode == "min" || o.mode == "max", ValueError, "ReduceLROnPlateau: mode must be \"min\" or \"max\", got \"",
              o.mode, "\"");
  EMBER_CHECK(o.threshold_mode == "rel" || o.threshold_mode == "abs", ValueError,
              "ReduceLROnPlateau: threshold_mode must be \"rel\" or \"abs\", got \"", o.threshold_mode, "\"");
  EMBER_CHECK(o.patience >= 0, ValueError, "ReduceLROnPlateau: patience must be >= 0, got ", o.patience);
  EMBER_CHECK(o.cooldown >= 0, ValueError, "ReduceLROnPlateau: cooldown must be >= 0, got ", o.cooldown);
  min_lrs_ = per_group(o.min_lr, optimizer, "ReduceLROnPlateau", "min_lr");
  last_lr_ = current_lrs(optimizer);
  best_ = o.mode == "min" ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity();
}

bool ReduceLROnPlateau::is_better(double a, double best) const {
  const auto& o = options_;
  if (o.mode == "min" && o.threshold_mode == "rel") return a < best * (1.0 - o.threshold);
  if (o.mode == "min") return a < best - o.threshold;
  if (o.threshold_mode == "rel") return a > best * (o.threshold + 1.0);
  return a > best + o.threshold;
}

void ReduceLROnPlateau::step(double metric) {
  ++last_epoch_;
  if (is_better(metric, best_)) {
    best_ = metric;
    num_bad_epochs_ = 0;
  } else {
    ++num_bad_epochs_;
  }
  if (cooldown_counter_ > 0) {
    --cooldown_counter_;
    num_bad_epochs_ = 0;  // bad epochs in cooldown do not count
  }
  if (num_bad_epochs_ > options_.patience) {
    const size_t groups = optimizer_->num_param_groups();
    if (min_lrs_.size() != groups) {
      EMBER_CHECK(options_.min_lr.size() == 1, ValueError, "ReduceLROnPlateau: the optimizer has ", groups,
                  " parameter groups, min_lr has ", min_lrs_.size(), " values");
      min_lrs_.assign(groups, options_.min_lr[0]);
    }
    for (size_t g = 0; g < groups; ++g) {
      const double old_lr = optimizer_->lr(g);
      const double new_lr = std::max(old_lr * options_.factor, min_lrs_[g]);
      if (old_lr - new_lr > options_.eps) optimizer_->set_lr(g, new_lr);
    }
    cooldown_counter_ = options_.cooldown;
    num_bad_epochs_ = 0;
  }
  last_lr_ = current_lrs(*optimizer_);
}

StateDict ReduceLROnPlateau::state_dict() const {
  StateDict state;
  state.values["scheduler"] = name();
  state.values["last_epoch"] = std::to_string(last_epoch_);
  state.values["best"] = format_double(best_);
  state.values["num_bad_epochs"] = std::to_string(num_bad_epochs_);
  state.values["cooldown_counter"] = std::to_string(cooldown_counter_);
  save_list(state, "last_lr.", last_lr_);
  save_list(state, "min_lrs.", min_lrs_);
  state.values["mode"] = options_.mode;
  state.values["factor"] = format_double(options_.factor);
  state.values["patience"] = std::to_string(options_.patience);
  state.values["threshold"] = format_double(options_.threshold);
  state.values["threshold_mode"] = options_.threshold_mode;
  state.values["cooldown"] = std::to_string(options_.cooldown);
  state.values["eps"] = format_double(options_.eps);
  return state;
}

void ReduceLROnPlateau::load_state_dict(const StateDict& state) {
  const std::string where = name() + ": load_state_dict: ";
  const std::string& saved = value_at(state, "scheduler", where);
  EMBER_CHECK(saved == name(), ValueError, where, "the state is of a ", saved, " scheduler");
  const size_t groups = optimizer_->num_param_groups();
  const int64_t last_epoch = parse_int(value_at(state, "last_epoch", where), "last_epoch");
  const double best = parse_double(value_at(state, "best", where), "best");
  const int64_t bad = parse_int(value_at(state, "num_bad_epochs", where), "num_bad_epochs");
  const int64_t cooldown = parse_int(value_at(state, "cooldown_counter", where), "cooldown_counter");
  std::vector<double> last_lr = load_list(state, "last_lr.", groups, where);
  last_epoch_ = last_epoch;
  best_ = best;
  num_bad_epochs_ = bad;
  cooldown_counter_ = cooldown;
  last_lr_ = std::move(last_lr);
}

}  // namespace ember::optim
