#pragma once
// Reading a whole file for the loaders in this folder, which parse bytes
// (and are fuzzed on bytes): a FormatError naming the file when it cannot be
// opened or read.
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "ember/core/error.h"

namespace ember::io::detail {

inline std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  EMBER_CHECK(in.good(), FormatError, path, ": cannot open for reading");
  const std::streamoff size = in.tellg();
  EMBER_CHECK(size >= 0, FormatError, path, ": cannot read its size (a directory?)");
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(bytes.data()), std::streamsize(bytes.size()));
  EMBER_CHECK(in.gcount() == std::streamsize(bytes.size()), FormatError, path, ": read failed");
  return bytes;
}

}  // namespace ember::io::detail
