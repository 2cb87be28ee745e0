#pragma once
// Containers of modules of any type, owned by value: Sequential, ModuleList,
// ModuleDict.
//
//   nn::Sequential mlp{nn::Flatten(), nn::Linear(784, 256), nn::ReLU(), nn::Linear(256, 10)};
//   auto logits = mlp(x);                   // runs the modules in order
//   mlp.named_parameters();                 // "1.weight", "1.bias", "3.weight", "3.bias"
//   auto& fc = mlp[1].get<nn::Linear>();    // typed access
//
//   nn::ModuleDict heads;
//   heads.insert("cls", nn::Linear(256, 10));
//   auto y = heads["cls"](h);
//
// Copying a container copies each module (see Note [Copying modules]).
#include <concepts>
#include <memory>
#include <string>
#include <string_view>
#include <typeinfo>
#include <utility>
#include <vector>

#include "ember/nn/module.h"

namespace ember::nn {

// One module of any type, held by value. Calling it runs the module's
// forward(Tensor) -> Tensor; modules without one throw NotImplementedError.
class AnyModule {
 public:
  template <class M>
    requires std::derived_from<std::remove_cvref_t<M>, Module>
  AnyModule(M&& module)  // NOLINT(google-explicit-constructor)
      : impl_(std::make_unique<Model<std::remove_cvref_t<M>>>(std::forward<M>(module))) {}
  AnyModule(const AnyModule& other) : impl_(other.impl_->clone()) {}
  AnyModule(AnyModule&&) noexcept = default;
  AnyModule& operator=(const AnyModule& other) {
    if (this != &other) impl_ = other.impl_->clone();
    return *this;
  }
  AnyModule& operator=(AnyModule&&) noexcept = default;

  Module& module() { return impl_->module(); }
  const Module& module() const { return impl_->module(); }
  Tensor operator()(const Tensor& x) { return impl_->forward(x); }
  Tensor forward(const Tensor& x) { return impl_->forward(x); }
  // The held module as its own type; ValueError if it is another type.
  template <class M> M& get() {
    auto* m = dynamic_cast<M*>(&module());
    EMBER_CHECK(m != nullptr, ValueError, "AnyModule::get: holds a ", module().type_name(), ", not the requested type");
    return *m;
  }

 private:
  struct Concept {
    virtual ~Concept() = default;
    virtual Module& module() = 0;
    virtual Tensor forward(const Tensor& x) = 0;
    virtual std::unique_ptr<Concept> clone() const = 0;
  };
  template <class M> struct Model final : Concept {
    explicit Model(M v) : value(std::move(v)) {}
    Module& module() override { return value; }
    Tensor forward(const Tensor& x) override {
      if constexpr (requires { { value.forward(x) } -> std::convertible_to<Tensor>; }) {
        return value.forward(x);
      } else {
        EMBER_THROW(NotImplementedError, value.type_name(), " has no forward(Tensor) to call");
      }
    }
    std::unique_ptr<Concept> clone() const override { return std::make_unique<Model>(value); }
    M value;
  };
  std::unique_ptr<Concept> impl_;
};

// Runs its modules in order; children are named "0", "1", ... (or by the
// names given, as torch.nn.Sequential(OrderedDict(...))).
class Sequential : public Module {
 public:
  Sequential() = default;
  template <class... M>
    requires(sizeof...(M) > 0 && (std::derived_from<std::remove_cvref_t<M>, Module> && ...) &&
             !(sizeof...(M) == 1 && (std::same_as<std::remove_cvref_t<M>, Sequential> && ...)))
  explicit Sequential(M&&... modules) {
    (push_back(AnyModule(std::forward<M>(modules))), ...);
  }
  explicit Sequential(std::vector<std::pair<std::string, AnyModule>> named_modules);

  void push_back(AnyModule module);
  void push_back(std::string name, AnyModule module);
  Tensor forward(Tensor x);
  Tensor operator()(const Tensor& x) { return forward(x); }
  void visit(Visitor& visitor) override;

  // Negative indices count from the end; IndexError when out of range.
  AnyModule& operator[](int64_t index);
  size_t size() const { return modules_.size(); }
  bool empty() const { return modules_.empty(); }

 private:
  std::vector<std::pair<std::string, AnyModule>> modules_;
};

// Holds modules for a parent to use as it likes; children "0", "1", ...
class ModuleList : public Module {
 public:
  ModuleList() = default;
  template <class... M>
    requires(sizeof...(M) > 0 && (std::derived_from<std::remove_cvref_t<M>, Module> && ...) &&
             !(sizeof...(M) == 1 && (std::same_as<std::remove_cvref_t<M>, ModuleList> && ...)))
  explicit ModuleList(M&&... modules) {
    (push_back(AnyModule(std::forward<M>(modules))), ...);
  }

  void push_back(AnyModule module) { modules_.push_back(std::move(module)); }
  void visit(Visitor& visitor) override;
  AnyModule& operator[](int64_t index);  // negative counts from the end
  size_t size() const { return modules_.size(); }
  bool empty() const { return modules_.empty(); }
  auto begin() { return modules_.begin(); }
  auto end() { return modules_.end(); }

 private:
  std::vector<AnyModule> modules_;
};

// Modules by name, in insertion order.
class ModuleDict : public Module {
 public:
  ModuleDict() = default;
  explicit ModuleDict(std::vector<std::pair<std::string, AnyModule>> modules);

  // Adds `name`, or replaces the module under it keeping its position.
  void insert(std::string name, AnyModule module);
  bool contains(std::string_view name) const;
  AnyModule& operator[](std::string_view name);  // IndexError naming the key
  std::vector<std::string> keys() const;
  void visit(Visitor& visitor) override;
  size_t size() const { return modules_.size(); }
  bool empty() const { return modules_.empty(); }
  auto begin() { return modules_.begin(); }
  auto end() { return modules_.end(); }

 private:
  std::vector<std::pair<std::string, AnyModule>> modules_;
};

}  // namespace ember::nn
