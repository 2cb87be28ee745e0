#pragma once
// nn::Module: parameters, buffers and child modules, found by visiting the
// members a module names — never by pointers stored at construction.
//
//   #include <ember/ember.h>
//   namespace nn = ember::nn;
//
//   struct Net : nn::Module {
//     nn::Conv2d c1{1, 32, 3, {.padding = 1}}, c2{32, 64, 3, {.padding = 1}};
//     nn::Linear f1{64 * 7 * 7, 128}, f2{128, 10};
//     EMBER_MODULE(c1, c2, f1, f2)
//     ember::Tensor forward(ember::Tensor x) {
//       x = ember::max_pool2d(ember::relu(c1(x)), 2);
//       x = ember::max_pool2d(ember::relu(c2(x)), 2);
//       return f2(ember::relu(f1(x.flatten(1))));
//     }
//   };
//
//   Net net;
//   auto loss = ember::cross_entropy(net(x), y);   // net(x) calls forward
//   loss.backward();
//   for (auto& [name, p] : net.named_parameters()) ...   // "c1.weight", "c1.bias", ...
//   ember::io::save_safetensors("net.safetensors", net.state_dict().to_map());
//   net.load_state_dict(ember::io::load_safetensors("net.safetensors"));
//   std::cout << net;   // Net(\n  (c1): Conv2d(1, 32, kernel_size=(3, 3), ...
//
// Note [Modules are values]
// A module's structure is its C++ members. EMBER_MODULE(a, b, ...) writes a
// visit() that reports ("a", a), ("b", b), ... every time it is called:
// members derived from Module are children, Tensor members are parameters.
// A module that holds buffers (or optional members) writes visit() by hand,
// calling visitor.parameter / buffer / module. Because nothing stores a
// pointer to a member, copying or moving a module is always safe.
//
// Note [Copying modules]
// Copying a module copies its structure and its Tensor handles, so the copy's
// parameters and buffers alias the original's storage (as copying a Tensor
// does). nn::clone(m) makes a deep copy with storage of its own (PyTorch's
// copy.deepcopy), keeping tied parameters tied.
#include <concepts>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iosfwd>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ember/core/tensor.h"

namespace ember::nn {

class Module;

// Receives one call per direct member of a module (see Module::visit).
class Visitor {
 public:
  virtual ~Visitor() = default;
  virtual void parameter(std::string_view /*name*/, Tensor& /*value*/) {}
  // Non-persistent buffers are left out of state_dict (register_buffer(persistent=False)).
  virtual void buffer(std::string_view /*name*/, Tensor& /*value*/, bool /*persistent*/ = true) {}
  virtual void module(std::string_view /*name*/, Module& /*child*/) {}
};

// name -> Tensor in insertion order (PyTorch's OrderedDict state dicts).
class StateDict {
 public:
  using Item = std::pair<std::string, Tensor>;
  StateDict() = default;
  StateDict(std::initializer_list<Item> items);
  // From a name-sorted map, e.g. io::load_safetensors's result.
  StateDict(const std::map<std::string, Tensor>& tensors);  // NOLINT(google-explicit-constructor)

  // Adds `name`, or replaces its value keeping its position.
  void insert(std::string name, Tensor value);
  bool contains(std::string_view name) const;
  // Throws IndexError naming the key.
  const Tensor& at(std::string_view name) const;
  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  std::vector<std::string> keys() const;
  std::map<std::string, Tensor> to_map() const;  // for io::save_safetensors
  auto begin() const { return items_.begin(); }
  auto end() const { return items_.end(); }

 private:
  std::vector<Item> items_;
  std::unordered_map<std::string, size_t> index_;
};

// What load_state_dict(..., strict=false) did not match.
struct LoadResult {
  std::vector<std::string> missing_keys;
  std::vector<std::string> unexpected_keys;
};

class Module {
 public:
  Module() = default;
  Module(const Module&) = default;
  Module(Module&&) = default;
  Module& operator=(const Module&) = default;
  Module& operator=(Module&&) = default;
  virtual ~Module() = default;

  // Reports this module's direct parameters, buffers and children, in
  // registration order. Written by EMBER_MODULE or by hand.
  virtual void visit(Visitor& /*visitor*/) {}
  // The class name shown by the printout (demangled, without namespaces).
  virtual std::string type_name() const;
  // What goes between the parentheses of the printout, e.g. "in_features=3, ...".
  virtual std::string extra_repr() const { return ""; }

  // ---- members, with dotted names as PyTorch prints them ----
  // A tensor registered twice (tied weights) is reported once, under its first name.
  std::vector<std::pair<std::string, Tensor>> named_parameters(bool recurse = true) const;
  TensorList parameters(bool recurse = true) const;
  std::vector<std::pair<std::string, Tensor>> named_buffers(bool recurse = true) const;
  TensorList buffers(bool recurse = true) const;
  // This module first (name ""), then every descendant in pre-order. The
  // pointers are valid while this module is alive and not moved.
  std::vector<std::pair<std::string, Module*>> named_modules();
  std::vector<std::pair<std::string, Module*>> named_children();
  std::vector<Module*> children();
  // Calls fn on every descendant, then on this module (torch's Module.apply).
  Module& apply(const std::function<void(Module&)>& fn);

  // ---- modes ----
  Module& train(bool on = true);  // this module and all descendants
  Module& eval() { return train(false); }
  bool is_training() const { return training_; }

  // ---- parameters ----
  // Casts floating-point parameters and buffers (integer buffers such as
  // num_batches_tracked keep their dtype). Parameters become new tensors:
  // create optimizers after calling to().
  Module& to(DType dtype);
  // set_to_none (the default, as in PyTorch 2.x) drops the gradients; else zeroes them.
  void zero_grad(bool set_to_none = true);
  // Freezes (false) or unfreezes every parameter.
  Module& requires_grad_(bool on = true);
  int64_t num_parameters(bool only_trainable = false) const;

  // ---- state ----
  // Parameters and persistent buffers by dotted name, each module's own
  // parameters then buffers then children, as PyTorch orders them. The
  // tensors are detached views of the module's storage.
  StateDict state_dict() const;
  // Copies values in place (casting dtype). Shape mismatches always throw;
  // missing and unexpected keys throw when strict, else are returned. One
  // ValueError lists every problem by name.
  LoadResult load_state_dict(const StateDict& state, bool strict = true);

  // PyTorch's repr: "Net(\n  (c1): Conv2d(1, 32, kernel_size=(3, 3), ...)\n)".
  std::string repr() const;

 protected:
  bool training_ = true;
};

std::ostream& operator<<(std::ostream& os, const Module& module);

namespace detail {
void deep_copy_tensors(Module& module);
// Splits EMBER_MODULE's stringified argument list "a, b, c" into names.
std::vector<std::string_view> split_member_names(std::string_view names);
inline void visit_member(Visitor& v, std::string_view name, Tensor& t) { v.parameter(name, t); }
inline void visit_member(Visitor& v, std::string_view name, Module& m) { v.module(name, m); }
// A dependent call, so that modules without forward() still compile.
template <class M, class... Args> decltype(auto) call_forward(M& module, Args&&... args) {
  return module.forward(std::forward<Args>(args)...);
}
template <class... Members>
void visit_members(Visitor& v, const std::vector<std::string_view>& names, Members&... members) {
  size_t i = 0;
  (visit_member(v, names[i++], members), ...);
}
}  // namespace detail

// A deep copy of `module`: same structure, parameters and buffers with storage
// of their own (see Note [Copying modules]).
template <class M>
  requires std::derived_from<M, Module>
M clone(const M& module) {
  M copy = module;
  detail::deep_copy_tensors(copy);
  return copy;
}

}  // namespace ember::nn

// Registers members as children (Module members) or parameters (Tensor
// members) and makes `module(args...)` call `module.forward(args...)`.
// See Note [Modules are values]. The call operator is a template, so the
// module must be defined at namespace or class scope (not inside a function).
#define EMBER_MODULE(...)                                                                  \
  void visit(::ember::nn::Visitor& visitor) override {                                      \
    static const auto ember_member_names = ::ember::nn::detail::split_member_names(#__VA_ARGS__); \
    ::ember::nn::detail::visit_members(visitor, ember_member_names, __VA_ARGS__);           \
  }                                                                                         \
  template <class... EmberArgs>                                                             \
  decltype(auto) operator()(EmberArgs&&... args) {                                          \
    return ::ember::nn::detail::call_forward(*this, std::forward<EmberArgs>(args)...);      \
  }                                                                                         \
  template <class... EmberArgs>                                                             \
  decltype(auto) operator()(EmberArgs&&... args) const {                                    \
    return ::ember::nn::detail::call_forward(*this, std::forward<EmberArgs>(args)...);      \
  }
