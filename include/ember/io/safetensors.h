#pragma once
// safetensors: the Hugging Face weight format (see docs/FORMATS.md).
//
//   ember::io::save_safetensors("w.safetensors", {{"fc.weight", w}}, {{"epoch", "3"}});
//   auto tensors = ember::io::load_safetensors("w.safetensors");   // name -> Tensor
//
// The reader treats the file as hostile: every size, offset and dtype is
// validated with overflow-safe arithmetic before anything is read, and any
// violation is a FormatError naming the file and the problem.
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>

#include "ember/core/tensor.h"

namespace ember::io {

using TensorMap = std::map<std::string, Tensor>;
using Metadata = std::map<std::string, std::string>;

struct SafetensorsContents {
  TensorMap tensors;
  Metadata metadata;
};

// Serializes as safetensors.torch.save_file does: tensors ordered by
// descending alignment then name, header padded to a multiple of 8 bytes.
std::string to_safetensors_bytes(const TensorMap& tensors, const Metadata& metadata = {});
// `source` names the bytes in error messages (a file name).
SafetensorsContents parse_safetensors(std::span<const uint8_t> bytes, std::string_view source = "<bytes>");

void save_safetensors(const std::string& path, const TensorMap& tensors, const Metadata& metadata = {});
SafetensorsContents load_safetensors_file(const std::string& path);
inline TensorMap load_safetensors(const std::string& path) { return load_safetensors_file(path).tensors; }

}  // namespace ember::io
