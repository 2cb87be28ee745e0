#include "ember/nn/module.h"

#include <cxxabi.h>

#include <cstdlib>
#include <memory>
#include <ostream>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "ember/autograd/autograd.h"
#include "ember/ops/creation.h"

namespace ember::nn {

// ---- StateDict ----

StateDict::StateDict(std::initializer_list<Item> items) {
  for (const auto& [name, value] : items) insert(name, value);
}

StateDict::StateDict(const std::map<std::string, Tensor>& tensors) {
  for (const auto& [name, value] : tensors) insert(name, value);
}

void StateDict::insert(std::string name, Tensor value) {
  if (auto it = index_.find(name); it != index_.end()) {
    items_[it->second].second = std::move(value);
    return;
  }
  index_.emplace(name, items_.size());
  items_.emplace_back(std::move(name), std::move(value));
}

bool StateDict::contains(std::string_view name) const { return index_.contains(std::string(name)); }

const Tensor& StateDict::at(std::string_view name) const {
  auto it = index_.find(std::string(name));
  EMBER_CHECK(it != index_.end(), IndexError, "StateDict: no key \"", name, "\"");
  return items_[it->second].second;
}

std::vector<std::string> StateDict::keys() const {
  std::vector<std::string> out;
  out.reserve(items_.size());
  for (const auto& item : items_) out.push_back(item.first);
  return out;
}

std::map<std::string, Tensor> StateDict::to_map() const { return {items_.begin(), items_.end()}; }

// ---- walking the module tree ----

namespace {

// The direct members one visit() reports. The pointers refer to the module's
// own members and stay valid while it is alive.
struct DirectMembers final : Visitor {
  struct Buffer {
    std::string name;
    Tensor* tensor;
    bool persistent;
  };
  std::vector<std::pair<std::string, Tensor*>> parameters;
  std::vector<Buffer> buffers;
  std::vector<std::pair<std::string, Module*>> children;

  void parameter(std::string_view name, Tensor& value) override {
    if (value.defined()) parameters.emplace_back(std::string(name), &value);
  }
  void buffer(std::string_view name, Tensor& value, bool persistent) override {
    if (value.defined()) buffers.push_back({std::string(name), &value, persistent});
  }
  void module(std::string_view name, Module& child) override { children.emplace_back(std::string(name), &child); }
};

// Visiting only reads a module's members; the const_cast lets the const
// queries share visit() with the mutating ones.
DirectMembers members_of(const Module& m) {
  DirectMembers members;
  const_cast<Module&>(m).visit(members);
  return members;
}

std::string join_name(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}

void collect_modules(Module& m, const std::string& prefix, std::unordered_set<const Module*>& seen,
                     std::vector<std::pair<std::string, Module*>>& out) {
  if (!seen.insert(&m).second) return;
  out.emplace_back(prefix, &m);
  for (auto& [name, child] : members_of(m).children) collect_modules(*child, join_name(prefix, name), seen, out);
}

std::vector<std::pair<std::string, Module*>> modules_of(const Module& m, bool recurse) {
  if (!recurse) return {{"", &const_cast<Module&>(m)}};
  std::vector<std::pair<std::string, Module*>> out;
  std::unordered_set<const Module*> seen;
  collect_modules(const_cast<Module&>(m), "", seen, out);
  return out;
}

// Every defined parameter (is_parameter) or buffer of the tree exactly once,
// with a pointer to the member holding it.
template <class Fn> void for_each_tensor(Module& root, Fn&& fn) {
  for (auto& [prefix, m] : modules_of(root, true)) {
    auto members = members_of(*m);
    for (auto& [name, t] : members.parameters) fn(*t, true);
    for (auto& b : members.buffers) fn(*b.tensor, false);
  }
}

// state_dict's entries with the members they come from, in PyTorch's order.
void collect_state(Module& m, const std::string& prefix, std::vector<std::pair<std::string, Tensor*>>& out) {
  auto members = members_of(m);
  for (auto& [name, t] : members.parameters) out.emplace_back(join_name(prefix, name), t);
  for (auto& b : members.buffers)
    if (b.persistent) out.emplace_back(join_name(prefix, b.name), b.tensor);
  for (auto& [name, child] : members.children) collect_state(*child, join_name(prefix, name), out);
}

std::string indent_after_first_line(const std::string& s, int spaces) {
  std::string out;
  for (char c : s) {
    out += c;
    if (c == '\n') out.append(size_t(spaces), ' ');
  }
  return out;
}

// "ember::nn::Linear" -> "Linear"; "Test_Body()::Net" -> "Net". Only "::" outside
// template arguments and parentheses separate scopes.
std::string unqualified(const std::string& name) {
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (c == '<' || c == '(') ++depth;
    else if (c == '>' || c == ')') --depth;
    else if (depth == 0 && c == ':' && i + 1 < name.size() && name[i + 1] == ':') start = i + 2;
  }
  return name.substr(start);
}

}  // namespace

namespace detail {

std::vector<std::string_view> split_member_names(std::string_view names) {
  std::vector<std::string_view> out;
  while (!names.empty()) {
    const size_t comma = names.find(',');
    std::string_view name = names.substr(0, comma);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    out.push_back(name);
    if (comma == std::string_view::npos) break;
    names.remove_prefix(comma + 1);
  }
  return out;
}

void deep_copy_tensors(Module& module) {
  autograd::NoGradGuard no_grad;
  // Keyed by the old tensor so that tied parameters stay tied in the copy.
  std::unordered_map<const TensorImpl*, Tensor> copies;
  for_each_tensor(module, [&](Tensor& t, bool) {
    auto [it, fresh] = copies.try_emplace(&t.impl());
    if (fresh) {
      Tensor copy = t.detach().clone();
      copy.requires_grad_(t.requires_grad());
      if (t.grad().defined()) copy.set_grad(t.grad().detach().clone());
      it->second = copy;
    }
    t = it->second;
  });
}

}  // namespace detail

// ---- Module ----

std::string Module::type_name() const {
  const char* mangled = typeid(*this).name();
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> demangled(abi::__cxa_demangle(mangled, nullptr, nullptr, &status),
                                                    std::free);
  return unqualified(status == 0 && demangled ? demangled.get() : mangled);
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters(bool recurse) const {
  std::vector<std::pair<std::string, Tensor>> out;
  std::unordered_set<const TensorImpl*> seen;
  for (auto& [prefix, m] : modules_of(*this, recurse))
    for (auto& [name, t] : members_of(*m).parameters)
      if (seen.insert(&t->impl()).second) out.emplace_back(join_name(prefix, name), *t);
  return out;
}

TensorList Module::parameters(bool recurse) const {
  TensorList out;
  for (auto& [name, t] : named_parameters(recurse)) out.push_back(t);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers(bool recurse) const {
  std::vector<std::pair<std::string, Tensor>> out;
  std::unordered_set<const TensorImpl*> seen;
  for (auto& [prefix, m] : modules_of(*this, recurse))
    for (auto& b : members_of(*m).buffers)
      if (seen.insert(&b.tensor->impl()).second) out.emplace_back(join_name(prefix, b.name), *b.tensor);
  return out;
}

TensorList Module::buffers(bool recurse) const {
  TensorList out;
  for (auto& [name, t] : named_buffers(recurse)) out.push_back(t);
  return out;
}

std::vector<std::pair<std::string, Module*>> Module::named_modules() { return modules_of(*this, true); }

std::vector<std::pair<std::string, Module*>> Module::named_children() { return members_of(*this).children; }

std::vector<Module*> Module::children() {
  std::vector<Module*> out;
  for (auto& [name, child] : named_children()) out.push_back(child);
  return out;
}

Module& Module::apply(const std::function<void(Module&)>& fn) {
  for (Module* child : children()) child->apply(fn);
  fn(*this);
  return *this;
}

Module& Module::train(bool on) {
  for (auto& [name, m] : named_modules()) m->training_ = on;
  return *this;
}

Module& Module::to(DType dtype) {
  autograd::NoGradGuard no_grad;
  std::unordered_map<const TensorImpl*, Tensor> converted;  // keeps tied parameters tied
  for_each_tensor(*this, [&](Tensor& t, bool) {
    if (!t.is_floating_point() || t.dtype() == dtype) return;
    auto [it, fresh] = converted.try_emplace(&t.impl());
    if (fresh) {
      Tensor c = t.detach().to(dtype);
      c.requires_grad_(t.requires_grad());
      if (t.grad().defined()) c.set_grad(t.grad().detach().to(dtype));
      it->second = c;
    }
    t = it->second;
  });
  return *this;
}

void Module::zero_grad(bool set_to_none) {
  for (Tensor& p : parameters()) {
    Tensor g = p.grad();
    if (!g.defined()) continue;
    if (set_to_none) {
      p.set_grad(Tensor());
    } else {
      g.detach_();
      g.zero_();
    }
  }
}

Module& Module::requires_grad_(bool on) {
  for (Tensor& p : parameters()) p.requires_grad_(on);
  return *this;
}

int64_t Module::num_parameters(bool only_trainable) const {
  int64_t n = 0;
  for (const Tensor& p : parameters())
    if (!only_trainable || p.requires_grad()) n += p.numel();
  return n;
}

StateDict Module::state_dict() const {
  std::vector<std::pair<std::string, Tensor*>> entries;
  collect_state(const_cast<Module&>(*this), "", entries);
  StateDict out;
  for (auto& [name, t] : entries) out.insert(name, t->detach());
  return out;
}

LoadResult Module::load_state_dict(const StateDict& state, bool strict) {
  std::vector<std::pair<std::string, Tensor*>> entries;
  collect_state(*this, "", entries);

  LoadResult result;
  std::vector<std::string> mismatches;
  std::unordered_set<std::string> expected;
  for (auto& [name, t] : entries) {
    expected.insert(name);
    if (!state.contains(name)) {
      result.missing_keys.push_back(name);
      continue;
    }
    const Tensor& src = state.at(name);
    EMBER_CHECK(src.defined(), ValueError, "load_state_dict: \"", name, "\" is an undefined Tensor");
    if (src.sizes() != t->sizes())
      mismatches.push_back(::ember::detail::str_cat("size mismatch for ", name, ": copying a param with shape ",
                                           shape_str(src.sizes()), " from checkpoint, the shape in current model is ",
                                           shape_str(t->sizes()), "."));
  }
  for (const auto& [name, t] : state)
    if (!expected.contains(name)) result.unexpected_keys.push_back(name);

  const bool key_errors = strict && (!result.missing_keys.empty() || !result.unexpected_keys.empty());
  if (key_errors || !mismatches.empty()) {
    auto quoted = [](const std::vector<std::string>& keys) {
      std::string s;
      for (const auto& k : keys) s += (s.empty() ? "\"" : ", \"") + k + "\"";
      return s;
    };
    std::string msg = "load_state_dict: Error(s) in loading state_dict for " + type_name() + ":";
    if (strict && !result.missing_keys.empty()) msg += "\n  Missing key(s) in state_dict: " + quoted(result.missing_keys) + ".";
    if (strict && !result.unexpected_keys.empty())
      msg += "\n  Unexpected key(s) in state_dict: " + quoted(result.unexpected_keys) + ".";
    for (const auto& m : mismatches) msg += "\n  " + m;
    throw ValueError(msg);
  }

  // Everything was checked first, so a failed load leaves the module untouched.
  autograd::NoGradGuard no_grad;
  for (auto& [name, t] : entries)
    if (state.contains(name)) t->copy_(state.at(name));
  return result;
}

std::string Module::repr() const {
  std::vector<std::string> extra_lines;
  {
    std::istringstream in(extra_repr());
    for (std::string line; std::getline(in, line);) extra_lines.push_back(line);
  }
  std::vector<std::string> child_lines;
  for (auto& [name, child] : members_of(*this).children)
    child_lines.push_back("(" + name + "): " + indent_after_first_line(child->repr(), 2));

  std::string s = type_name() + "(";
  if (extra_lines.size() == 1 && child_lines.empty()) {
    s += extra_lines[0];
  } else if (!extra_lines.empty() || !child_lines.empty()) {
    for (const auto& line : extra_lines) s += "\n  " + line;
    for (const auto& line : child_lines) s += "\n  " + line;
    s += "\n";
  }
  return s + ")";
}

std::ostream& operator<<(std::ostream& os, const Module& module) { return os << module.repr(); }

}  // namespace ember::nn
