#include "ember/nn/containers.h"

#include <string>

namespace ember::nn {

namespace {
size_t wrap_index(int64_t index, size_t size, const char* container) {
  const int64_t n = int64_t(size);
  EMBER_CHECK(index >= -n && index < n, IndexError, container, ": index ", index, " is out of range for ", n,
              " modules");
  return size_t(index < 0 ? index + n : index);
}
}  // namespace

Sequential::Sequential(std::vector<std::pair<std::string, AnyModule>> named_modules) {
  for (auto& [name, module] : named_modules) push_back(std::move(name), std::move(module));
}

void Sequential::push_back(AnyModule module) { push_back(std::to_string(modules_.size()), std::move(module)); }

void Sequential::push_back(std::string name, AnyModule module) {
  for (const auto& [existing, m] : modules_)
    EMBER_CHECK(existing != name, ValueError, "Sequential: a module named \"", name, "\" already exists");
  modules_.emplace_back(std::move(name), std::move(module));
}

Tensor Sequential::forward(Tensor x) {
  for (auto& [name, module] : modules_) x = module(x);
  return x;
}

void Sequential::visit(Visitor& visitor) {
  for (auto& [name, module] : modules_) visitor.module(name, module.module());
}

AnyModule& Sequential::operator[](int64_t index) {
  return modules_[wrap_index(index, modules_.size(), "Sequential")].second;
}

void ModuleList::visit(Visitor& visitor) {
  for (size_t i = 0; i < modules_.size(); ++i) visitor.module(std::to_string(i), modules_[i].module());
}

AnyModule& ModuleList::operator[](int64_t index) { return modules_[wrap_index(index, modules_.size(), "ModuleList")]; }

ModuleDict::ModuleDict(std::vector<std::pair<std::string, AnyModule>> modules) {
  for (auto& [name, module] : modules) insert(std::move(name), std::move(module));
}

void ModuleDict::insert(std::string name, AnyModule module) {
  for (auto& [existing, m] : modules_)
    if (existing == name) {
      m = std::move(module);
      return;
    }
  modules_.emplace_back(std::move(name), std::move(module));
}

bool ModuleDict::contains(std::string_view name) const {
  for (const auto& [existing, m] : modules_)
    if (existing == name) return true;
  return false;
}

AnyModule& ModuleDict::operator[](std::string_view name) {
  for (auto& [existing, m] : modules_)
    if (existing == name) return m;
  EMBER_THROW(IndexError, "ModuleDict: no module named \"", name, "\"");
}

std::vector<std::string> ModuleDict::keys() const {
  std::vector<std::string> out;
  for (const auto& [name, m] : modules_) out.push_back(name);
  return out;
}

void ModuleDict::visit(Visitor& visitor) {
  for (auto& [name, module] : modules_) visitor.module(name, module.module());
}

}  // namespace ember::nn
