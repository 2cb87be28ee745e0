// The `ember` command: one subcommand per file (train.cpp, eval.cpp, info.cpp,
// export.cpp, run.cpp).
//
//   ember train fashion-cnn --epochs 5 --out runs/cnn
//   ember eval runs/cnn/epoch-5.safetensors
//   ember info runs/cnn/epoch-5.safetensors
//   ember export runs/cnn/epoch-5.safetensors -o cnn.ember
//   ember run cnn.ember --input images.npy
//
// Every error a user can cause ends here as one line on stderr and a non-zero
// exit: 2 for a bad command line (as argparse does), 1 for anything else.
#include <cstring>
#include <exception>
#include <iostream>
#include <string_view>

#include "args.h"
#include "commands.h"

namespace {

struct Command {
  std::string_view name, summary;
  int (*run)(int, const char* const*);
};

constexpr Command kCommands[] = {
    {"train", "train a model (a built-in recipe or a JSON recipe file)", ember::cli::run_train},
    {"eval", "test-set accuracy and confusion matrix of a checkpoint", ember::cli::run_eval},
    {"info", "describe a checkpoint or an .ember model file", ember::cli::run_info},
    {"export", "trace a checkpoint's model into an .ember model file", ember::cli::run_export},
    {"run", "run an .ember model file on .npy or .safetensors inputs", ember::cli::run_model},
};

void print_usage(std::ostream& out) {
  out << "usage: ember COMMAND [options]\n\ncommands:\n";
  for (const Command& c : kCommands) out << "  " << c.name << std::string(8 - c.name.size(), ' ') << c.summary << "\n";
  out << "\n'ember COMMAND --help' describes a command's options.\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    print_usage(argc < 2 ? std::cerr : std::cout);
    return argc < 2 ? 2 : 0;
  }
  const std::string_view name = argv[1];
  for (const Command& command : kCommands) {
    if (command.name != name) continue;
    try {
      return command.run(argc - 2, argv + 2);
    } catch (const ember::cli::UsageError& e) {
      std::cerr << e.what() << " (see 'ember " << name << " --help')\n";
      return 2;
    } catch (const std::exception& e) {
      // Library errors name their file or op; prefix the command for context.
      std::cerr << "ember " << name << ": " << e.what() << "\n";
      return 1;
    }
  }
  std::cerr << "ember: unknown command '" << name << "'\n";
  print_usage(std::cerr);
  return 2;
}
