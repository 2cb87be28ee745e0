#pragma once
// Command-line parsing for the `ember` subcommands, in the spirit of Python's
// argparse: declared flags, `--flag value` or `--flag=value`, generated
// --help, and one-line errors for anything else.
//
//   ArgParser args("ember train", "RECIPE", "Train a model.");
//   args.flag("--epochs", "N", "number of epochs");
//   args.switch_("--resume", "continue from the latest checkpoint");
//   if (!args.parse(argc, argv, std::cout)) return 0;   // --help was printed
//   int64_t epochs = args.get_int("--epochs", 5, 1);
#include <cstdint>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ember/core/error.h"

namespace ember::cli {

// A bad command line: main prints it with a pointer to --help and exits 2.
class UsageError : public ValueError {
  using ValueError::ValueError;
};

class ArgParser {
 public:
  // `positionals` names the positional arguments in the usage line ("RECIPE").
  ArgParser(std::string command, std::string positionals, std::string description);

  void flag(std::string name, std::string metavar, std::string help);  // takes a value
  void switch_(std::string name, std::string help);                    // takes none
  void epilog(std::string text) { epilog_ = std::move(text); }

  // Returns false when --help was given (the help is written to `out`).
  bool parse(int argc, const char* const* argv, std::ostream& out);
  std::string help() const;
  const std::string& command() const { return command_; }

  const std::vector<std::string>& positional() const { return positional_; }
  bool given(const std::string& name) const { return values_.count(name) > 0; }
  bool get_switch(const std::string& name) const { return given(name); }
  std::optional<std::string> get(const std::string& name) const;  // the last value given
  std::string get(const std::string& name, const std::string& fallback) const;
  // Every value of a flag given several times (`--input a.npy --input b.npy`).
  std::vector<std::string> get_all(const std::string& name) const;
  // Typed values; a malformed or out-of-range value is a UsageError naming the flag.
  std::optional<int64_t> get_int(const std::string& name, int64_t min) const;
  std::optional<double> get_double(const std::string& name, double min_exclusive) const;

 private:
  struct Spec {
    std::string name, metavar, help;
    bool takes_value;
  };
  const Spec* find(const std::string& name) const;

  std::string command_, positionals_, description_, epilog_;
  std::vector<Spec> specs_;
  std::vector<std::string> positional_;
  std::map<std::string, std::vector<std::string>> values_;
};

// Parses the whole of `text` as a number, or throws UsageError naming `what`.
int64_t parse_int(const std::string& what, const std::string& text);
double parse_double(const std::string& what, const std::string& text);

}  // namespace ember::cli
