// The optimizer machinery shared by every algorithm: parameter groups, option
// access by name, and state_dict (see Note [Optimizer state_dict keys]).
#include "ember/optim/optimizer.h"

#include <charconv>
#include <set>
#include <type_traits>

#include "ember/autograd/autograd.h"

namespace ember::optim {

std::string format_double(double value) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  EMBER_INTERNAL_ASSERT(ec == std::errc(), "to_chars failed");
  return std::string(buf, end);
}

double parse_double(const std::string& text, std::string_view key) {
  double value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  EMBER_CHECK(ec == std::errc() && ptr == end, ValueError, "state_dict: ", key, " is \"", text,
              "\", not a number");
  return value;
}

int64_t parse_int(const std::string& text, std::string_view key) {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  EMBER_CHECK(ec == std::errc() && ptr == end, ValueError, "state_dict: ", key, " is \"", text,
              "\", not an integer");
  return value;
}

void Optimizer::zero_grad(bool set_to_none) {
  for (Tensor& p : parameters()) {
    Tensor g = p.grad();
    if (!g.defined()) continue;
    if (set_to_none) {
      p.set_grad({});
    } else {
      // As torch: a gradient with history (create_graph) is cut loose first.
      if (g.grad_fn()) {
        g.detach_();
      } else {
        g.requires_grad_(false);
      }
      g.zero_();
    }
  }
}

namespace {

const std::string* find_value(const StateDict& state, const std::string& key) {
  auto it = state.values.find(key);
  return it == state.values.end() ? nullptr : &it->second;
}

std::vector<int64_t> parse_index_list(const std::string& text, std::string_view key) {
  std::vector<int64_t> out;
  if (text.empty()) return out;
  size_t start = 0;
  while (true) {
    size_t comma = text.find(',', start);
    out.push_back(parse_int(text.substr(start, comma - start), key));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

}  // namespace

template <class Options, class State>
void OptimizerBase<Options, State>::init_groups(std::vector<ParamGroup<Options>> groups) {
  size_t count = 0;
  for (const auto& g : groups) count += g.params.size();
  EMBER_CHECK(count > 0, ValueError, name(), ": got an empty parameter list");
  for (auto& g : groups) add_param_group(std::move(g));
}

template <class Options, class State>
void OptimizerBase<Options, State>::add_param_group(ParamGroup<Options> group) {
  check_options(group.options);
  std::set<const TensorImpl*> seen;
  for (const auto& g : groups_)
    for (const Tensor& p : g.params) seen.insert(&p.impl());
  for (size_t k = 0; k < group.params.size(); ++k) {
    const Tensor& p = group.params[k];
    EMBER_CHECK(p.defined(), ValueError, name(), ": parameter ", k, " of group ", groups_.size(),
                " is an undefined tensor");
    EMBER_CHECK(p.is_leaf(), ValueError, name(), ": can't optimize a non-leaf tensor (parameter ", k,
                " of group ", groups_.size(), ", ", p.meta_str(), ")");
    EMBER_CHECK(p.dtype() == DType::f32 || p.dtype() == DType::f64, DTypeError, name(), ": parameter ", k,
                " of group ", groups_.size(), " is ", p.meta_str(), "; optimizers update float32 and float64");
    EMBER_CHECK(seen.insert(&p.impl()).second, ValueError, name(), ": parameter ", k, " of group ",
                groups_.size(), " appears more than once in the parameter groups");
  }
  state_.emplace_back(group.params.size());
  groups_.push_back(std::move(group));
}

template <class Options, class State>
const State* OptimizerBase<Options, State>::state(const Tensor& param) const {
  for (size_t g = 0; g < groups_.size(); ++g)
    for (size_t k = 0; k < groups_[g].params.size(); ++k)
      if (groups_[g].params[k].is_same(param)) return state_[g][k].initialized ? &state_[g][k].state : nullptr;
  return nullptr;
}

template <class Options, class State>
std::vector<Tensor> OptimizerBase<Options, State>::parameters() const {
  std::vector<Tensor> out;
  for (const auto& g : groups_) out.insert(out.end(), g.params.begin(), g.params.end());
  return out;
}

template <class Options, class State>
bool OptimizerBase<Options, State>::has_option(std::string_view option_name) const {
  bool found = false;
  Options probe;
  probe.visit([&](std::string_view n, auto&) { found |= n == option_name; });
  return found;
}

template <class Options, class State>
double OptimizerBase<Options, State>::option(size_t group, std::string_view option_name) const {
  EMBER_CHECK(group < groups_.size(), IndexError, name(), ": parameter group ", group, " out of range (",
              groups_.size(), " groups)");
  std::optional<double> value;
  Options options = groups_[group].options;
  options.visit([&](std::string_view n, auto& v) {
    if (n == option_name) value = double(v);
  });
  EMBER_CHECK(value.has_value(), ValueError, name(), " has no option '", option_name, "'");
  return *value;
}

template <class Options, class State>
void OptimizerBase<Options, State>::set_option(size_t group, std::string_view option_name, double value) {
  EMBER_CHECK(group < groups_.size(), IndexError, name(), ": parameter group ", group, " out of range (",
              groups_.size(), " groups)");
  Options options = groups_[group].options;
  bool found = false;
  options.visit([&](std::string_view n, auto& v) {
    if (n != option_name) return;
    found = true;
    if constexpr (std::is_same_v<std::decay_t<decltype(v)>, bool>) {
      v = value != 0;
    } else {
      v = value;
    }
  });
  EMBER_CHECK(found, ValueError, name(), " has no option '", option_name, "'");
  check_options(options);
  groups_[group].options = options;
}

template <class Options, class State>
std::optional<double> OptimizerBase<Options, State>::initial_lr(size_t group) const {
  EMBER_CHECK(group < groups_.size(), IndexError, name(), ": parameter group ", group, " out of range (",
              groups_.size(), " groups)");
  return groups_[group].initial_lr;
}

template <class Options, class State>
void OptimizerBase<Options, State>::set_initial_lr(size_t group, double lr) {
  EMBER_CHECK(group < groups_.size(), IndexError, name(), ": parameter group ", group, " out of range (",
              groups_.size(), " groups)");
  groups_[group].initial_lr = lr;
}

template <class Options, class State>
StateDict OptimizerBase<Options, State>::state_dict() const {
  StateDict out;
  out.values["optimizer"] = name();
  int64_t index = 0;
  for (size_t g = 0; g < groups_.size(); ++g) {
    const std::string prefix = "param_groups." + std::to_string(g) + ".";
    Options options = groups_[g].options;
    options.visit([&](std::string_view n, auto& v) {
      if constexpr (std::is_same_v<std::decay_t<decltype(v)>, bool>) {
        out.values[prefix + std::string(n)] = v ? "true" : "false";
      } else {
        out.values[prefix + std::string(n)] = format_double(v);
      }
    });
    if (groups_[g].initial_lr) out.values[prefix + "initial_lr"] = format_double(*groups_[g].initial_lr);
    std::string ids;
    for (size_t k = 0; k < groups_[g].params.size(); ++k, ++index) {
      if (k) ids += ',';
      ids += std::to_string(index);
      const Slot& slot = state_[g][k];
      if (!slot.initialized) continue;
      const std::string state_prefix = "state." + std::to_string(index) + ".";
      State state = slot.state;
      state.visit([&](std::string_view n, auto& v) {
        if constexpr (std::is_same_v<std::decay_t<decltype(v)>, int64_t>) {
          out.values[state_prefix + std::string(n)] = std::to_string(v);
        } else if (v.defined()) {
          // A snapshot: training on after state_dict() must not change it.
          out.tensors[state_prefix + std::string(n)] = v.clone();
        }
      });
    }
    out.values[prefix + "params"] = ids;
  }
  return out;
}

template <class Options, class State>
void OptimizerBase<Options, State>::load_state_dict(const StateDict& state) {
  const std::string where = name() + ": load_state_dict: ";
  const std::string* saved_name = find_value(state, "optimizer");
  EMBER_CHECK(saved_name, ValueError, where, "missing key 'optimizer'");
  EMBER_CHECK(*saved_name == name(), ValueError, where, "the state is of a ", *saved_name, " optimizer");

  size_t saved_groups = 0;
  while (find_value(state, "param_groups." + std::to_string(saved_groups) + ".params")) ++saved_groups;
  EMBER_CHECK(saved_groups == groups_.size(), ValueError, where, "the state has ", saved_groups,
              " parameter groups, the optimizer has ", groups_.size());

  // Build everything aside, then commit: a bad state changes nothing.
  std::vector<Options> new_options(groups_.size());
  std::vector<std::optional<double>> new_initial_lr(groups_.size());
  std::vector<std::vector<Slot>> new_state(groups_.size());
  std::vector<const Tensor*> params;  // by state index
  std::vector<std::pair<size_t, size_t>> slot_of;
  for (size_t g = 0; g < groups_.size(); ++g) {
    const std::string prefix = "param_groups." + std::to_string(g) + ".";
    const std::string ids_key = prefix + "params";
    std::vector<int64_t> ids = parse_index_list(*find_value(state, ids_key), ids_key);
    EMBER_CHECK(ids.size() == groups_[g].params.size(), ValueError, where, ids_key, " lists ", ids.size(),
                " parameters, the optimizer's group ", g, " has ", groups_[g].params.size());
    const size_t first = params.size();
    for (size_t k = 0; k < ids.size(); ++k) {
      EMBER_CHECK(ids[k] == int64_t(first + k), ValueError, where, ids_key, " is \"", *find_value(state, ids_key),
                  "\", expected consecutive indices from ", first);
      params.push_back(&groups_[g].params[k]);
      slot_of.emplace_back(g, k);
    }
    Options& options = new_options[g];
    options.visit([&](std::string_view n, auto& v) {
      const std::string key = prefix + std::string(n);
      const std::string* text = find_value(state, key);
      EMBER_CHECK(text, ValueError, where, "missing key '", key, "'");
      if constexpr (std::is_same_v<std::decay_t<decltype(v)>, bool>) {
        EMBER_CHECK(*text == "true" || *text == "false", ValueError, where, key, " is \"", *text,
                    "\", expected true or false");
        v = *text == "true";
      } else {
        v = parse_double(*text, key);
      }
    });
    check_options(options);
    if (const std::string* text = find_value(state, prefix + "initial_lr"))
      new_initial_lr[g] = parse_double(*text, prefix + "initial_lr");
    new_state[g].resize(ids.size());
  }

  // Every state.* entry must name a known parameter and buffer.
  std::set<std::string> known;
  for (const auto& [key, value] : state.values)
    if (key.rfind("state.", 0) == 0) known.insert(key);
  for (const auto& [key, value] : state.tensors) {
    EMBER_CHECK(key.rfind("state.", 0) == 0, ValueError, where, "unexpected tensor '", key, "'");
    known.insert(key);
  }
  std::set<std::string> used;
  for (size_t i = 0; i < params.size(); ++i) {
    const std::string prefix = "state." + std::to_string(i) + ".";
    auto it = known.lower_bound(prefix);
    if (it == known.end() || it->rfind(prefix, 0) != 0) continue;  // no state yet
    const Tensor& param = *params[i];
    Slot& slot = new_state[slot_of[i].first][slot_of[i].second];
    slot.initialized = true;
    slot.state.visit([&](std::string_view n, auto& v) {
      const std::string key = prefix + std::string(n);
      if constexpr (std::is_same_v<std::decay_t<decltype(v)>, int64_t>) {
        const std::string* text = find_value(state, key);
        EMBER_CHECK(text, ValueError, where, "missing key '", key, "'");
        v = parse_int(*text, key);
        EMBER_CHECK(v >= 0, ValueError, where, key, " is ", v, ", a negative step count");
        used.insert(key);
      } else {
        auto t = state.tensors.find(key);
        if (t == state.tensors.end()) return;
        EMBER_CHECK(t->second.defined() && t->second.sizes() == param.sizes(), ShapeError, where, key, " is ",
                    t->second.defined() ? t->second.meta_str() : "undefined", ", the parameter is ",
                    param.meta_str());
        EMBER_CHECK(t->second.is_floating_point(), DTypeError, where, key, " is ", t->second.meta_str(),
                    ", expected a floating-point tensor");
        // As torch: state follows the parameter's dtype; a private copy.
        v = t->second.to(param.dtype()).contiguous().clone();
        used.insert(key);
      }
    });
  }
  for (const std::string& key : known)
    EMBER_CHECK(used.count(key), ValueError, where, "unexpected key '", key, "'");

  // Buffers the optimizer has keep their storage and take the loaded values:
  // a compiled training step holds them by reference.
  for (size_t g = 0; g < groups_.size(); ++g) {
    for (size_t k = 0; k < groups_[g].params.size(); ++k) {
      std::map<std::string_view, Tensor> current;
      state_[g][k].state.visit([&](std::string_view n, auto& v) {
        if constexpr (std::is_same_v<std::decay_t<decltype(v)>, Tensor>) current[n] = v;
      });
      new_state[g][k].state.visit([&](std::string_view n, auto& v) {
        if constexpr (std::is_same_v<std::decay_t<decltype(v)>, Tensor>) {
          const Tensor& old = current[n];
          if (!v.defined() || !old.defined() || old.sizes() != v.sizes() || old.dtype() != v.dtype()) return;
          autograd::NoGradGuard no_grad;
          Tensor(old).copy_(v);
          v = old;
        }
      });
    }
    groups_[g].options = new_options[g];
    groups_[g].initial_lr = new_initial_lr[g];
  }
  state_ = std::move(new_state);
}

template class OptimizerBase<SGDOptions, SGDState>;
template class OptimizerBase<AdamOptions, AdamState>;
template class OptimizerBase<AdamWOptions, AdamState>;
template class OptimizerBase<RMSpropOptions, RMSpropState>;
template class OptimizerBase<AdagradOptions, AdagradState>;

}  // namespace ember::optim
