#pragma once
// The `ember` subcommands. Each takes the arguments after its name, writes to
// stdout, and returns the process exit status; errors are thrown (main prints
// them on one line: UsageError exits 2, any other ember::Error exits 1).
#include <string>

#include "ember/io/checkpoint.h"
#include "recipe.h"

namespace ember::cli {

int run_train(int argc, const char* const* argv);
int run_eval(int argc, const char* const* argv);
int run_info(int argc, const char* const* argv);
int run_export(int argc, const char* const* argv);
int run_model(int argc, const char* const* argv);  // `ember run`

// The model of a checkpoint written by `ember train`: rebuilt from the recipe
// it stores (info.config), with its weights loaded. FormatError otherwise.
struct TrainedModel {
  Recipe recipe;
  nn::AnyModule model;
  io::Checkpoint checkpoint;
};
TrainedModel load_trained_model(const std::string& path);

// `ember info` on an .ember model file (the caller has read its metadata).
void print_model_info(const std::string& path);

}  // namespace ember::cli
