#include "args.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <ostream>
#include <sstream>

namespace ember::cli {

ArgParser::ArgParser(std::string command, std::string positionals, std::string description)
    : command_(std::move(command)), positionals_(std::move(positionals)), description_(std::move(description)) {
  switch_("--help", "show this help and exit");
}

void ArgParser::flag(std::string name, std::string metavar, std::string help) {
  specs_.push_back({std::move(name), std::move(metavar), std::move(help), true});
}

void ArgParser::switch_(std::string name, std::string help) {
  specs_.push_back({std::move(name), "", std::move(help), false});
}

const ArgParser::Spec* ArgParser::find(const std::string& name) const {
  for (const Spec& spec : specs_)
    if (spec.name == name) return &spec;
  return nullptr;
}

bool ArgParser::parse(int argc, const char* const* argv, std::ostream& out) {
  bool only_positional = false;  // after "--"
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (only_positional || arg.size() < 2 || arg[0] != '-') {
      positional_.push_back(arg);
      continue;
    }
    if (arg == "--") {
      only_positional = true;
      continue;
    }
    if (arg == "-h") arg = "--help";
    std::optional<std::string> inline_value;
    if (const auto eq = arg.find('='); eq != std::string::npos) {
      inline_value = arg.substr(eq + 1);
      arg.resize(eq);
    }
    const Spec* spec = find(arg);
    if (spec == nullptr) throw UsageError(command_ + ": unknown option " + arg);
    if (spec->name == "--help") {
      out << help();
      return false;
    }
    if (!spec->takes_value) {
      if (inline_value) throw UsageError(command_ + ": " + arg + " takes no value");
      values_[arg].push_back("");
    } else if (inline_value) {
      values_[arg].push_back(*inline_value);
    } else {
      if (i + 1 >= argc) throw UsageError(command_ + ": " + arg + " needs a value (" + spec->metavar + ")");
      values_[arg].push_back(argv[++i]);
    }
  }
  return true;
}

std::string ArgParser::help() const {
  std::ostringstream s;
  s << "usage: " << command_ << " [options]";
  if (!positionals_.empty()) s << " " << positionals_;
  s << "\n\n" << description_ << "\n\noptions:\n";
  std::vector<std::string> left;
  size_t width = 0;
  for (const Spec& spec : specs_) {
    left.push_back(spec.takes_value ? spec.name + " " + spec.metavar : spec.name);
    width = std::max(width, left.back().size());
  }
  for (size_t i = 0; i < specs_.size(); ++i)
    s << "  " << left[i] << std::string(width - left[i].size() + 2, ' ') << specs_[i].help << "\n";
  if (!epilog_.empty()) s << "\n" << epilog_ << "\n";
  return s.str();
}

std::optional<std::string> ArgParser::get(const std::string& name) const {
  EMBER_INTERNAL_ASSERT(find(name) != nullptr, "undeclared flag ", name);
  const auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second.back();
}

std::vector<std::string> ArgParser::get_all(const std::string& name) const {
  EMBER_INTERNAL_ASSERT(find(name) != nullptr, "undeclared flag ", name);
  const auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

std::string ArgParser::get(const std::string& name, const std::string& fallback) const {
  return get(name).value_or(fallback);
}

std::optional<int64_t> ArgParser::get_int(const std::string& name, int64_t min) const {
  const auto text = get(name);
  if (!text) return std::nullopt;
  const int64_t value = parse_int(command_ + ": " + name, *text);
  if (value < min) throw UsageError(detail::str_cat(command_, ": ", name, " must be at least ", min, ", got ", value));
  return value;
}

std::optional<double> ArgParser::get_double(const std::string& name, double min_exclusive) const {
  const auto text = get(name);
  if (!text) return std::nullopt;
  const double value = parse_double(command_ + ": " + name, *text);
  if (!(value > min_exclusive))
    throw UsageError(detail::str_cat(command_, ": ", name, " must be greater than ", min_exclusive, ", got ", *text));
  return value;
}

int64_t parse_int(const std::string& what, const std::string& text) {
  errno = 0;
  char* end = nullptr;
  const long long value = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno == ERANGE)
    throw UsageError(what + ": expected an integer, got '" + text + "'");
  return value;
}

double parse_double(const std::string& what, const std::string& text) {
  errno = 0;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(value))
    throw UsageError(what + ": expected a number, got '" + text + "'");
  return value;
}

}  // namespace ember::cli
