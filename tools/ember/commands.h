#pragma once
// The `ember` subcommands. Each takes the arguments after its name, writes to
// stdout, and returns the process exit status; errors are thrown (main prints
// them on one line: UsageError exits 2, any other ember::Error exits 1).

namespace ember::cli {

int run_train(int argc, const char* const* argv);
int run_eval(int argc, const char* const* argv);
int run_info(int argc, const char* const* argv);

}  // namespace ember::cli
