#pragma once
// Training checkpoints: one .safetensors file holding every named state of a
// run (model, optimizer, scheduler, ...), the RNG states, epoch and step.
//
//   io::Checkpoint ckpt{.epoch = 3, .step = 1800};
//   ckpt.sections["model"] = {.tensors = net.state_dict()};
//   ckpt.sections["optimizer"] = {.tensors = opt_tensors, .values = {{"lr", "0.001"}}};
//   ckpt.capture_default_rng();
//   io::save_checkpoint("out/last.safetensors", ckpt);          // atomic
//
//   auto back = io::load_checkpoint("out/last.safetensors", {.required_sections = {"model", "optimizer"}});
//   net.load_state_dict(back.section("model").tensors);
//   back.restore_default_rng();
//
// On disk a section's tensors are named "<section>.<name>" ("model.fc.weight")
// and its string values "<section>.<key>" in __metadata__, beside "format",
// "format_version", "epoch", "step", "sections" and "rng.<name>.{seed,offset}".
// Any safetensors reader can open the file; the model's weights are the
// tensors under "model.".
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "ember/core/generator.h"
#include "ember/io/safetensors.h"

namespace ember::io {

// Replaces `path` with `bytes` so that a crash at any moment leaves either the
// old file or the new one, never a torn mix: write a temporary file in the
// same directory, fsync it, rename it over `path`, fsync the directory.
void write_file_atomic(const std::string& path, std::string_view bytes);

// One named state: its tensors and its non-tensor values as strings.
struct CheckpointSection {
  TensorMap tensors = {};
  Metadata values = {};
};

struct Checkpoint {
  static constexpr int64_t kFormatVersion = 1;

  int64_t epoch = 0;  // completed epochs
  int64_t step = 0;   // completed optimizer steps
  // Generator states by name; "default" is ember::default_generator().
  std::map<std::string, Generator::State> rng = {};
  // Section names are non-empty and contain no '.' or ','.
  std::map<std::string, CheckpointSection> sections = {};
  // Free-form facts about the run (recipe, command line, ...).
  Metadata info = {};
  // The file it was loaded from; names it in errors. Empty when built in memory.
  std::string source = {};

  // The section `name`; FormatError naming the file and the key when absent.
  const CheckpointSection& section(const std::string& name) const;
  bool has_section(const std::string& name) const { return sections.count(name) != 0; }

  void capture_default_rng() { rng["default"] = default_generator().state(); }
  // FormatError when the checkpoint holds no "default" RNG state.
  void restore_default_rng() const;
};

struct CheckpointLoadOptions {
  // Sections that must be present; a missing one is a FormatError.
  std::vector<std::string> required_sections = {};
};

// Flattens into safetensors form (the inverse of checkpoint_from_safetensors).
SafetensorsContents checkpoint_to_safetensors(const Checkpoint& checkpoint);
Checkpoint checkpoint_from_safetensors(SafetensorsContents contents, std::string_view source = "<bytes>",
                                       const CheckpointLoadOptions& options = {});

// Atomic save (write_file_atomic) and a validating load: wrong format name,
// a newer format version, unparsable numbers, tensors outside the listed
// sections and missing required sections are FormatErrors naming the file and
// the key.
void save_checkpoint(const std::string& path, const Checkpoint& checkpoint);
Checkpoint load_checkpoint(const std::string& path, const CheckpointLoadOptions& options = {});

}  // namespace ember::io
