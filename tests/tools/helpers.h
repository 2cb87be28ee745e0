#pragma once
// Shared by the CLI's tests: a scratch directory, running the `ember` binary,
// and a tiny Fashion-MNIST look-alike in IDX format, so training runs take a
// fraction of a second.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>
#include "support/temp_dir.h"

namespace ember::tools_test {

namespace fs = std::filesystem;

using ember::testing::TempDir;

struct Result {
  int exit_code;
  std::string output;  // stdout and stderr
};

// Runs `ember ARGS` (EMBER_CLI_PATH) with its output captured in `dir`.
inline Result run_ember(const TempDir& dir, const std::string& args) {
  const std::string log = dir / "output.txt";
  const std::string command = std::string(EMBER_CLI_PATH) + " " + args + " > " + log + " 2>&1";
  const int status = std::system(command.c_str());
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, text.str()};
}

inline bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

inline int lines(const std::string& text) { return int(std::count(text.begin(), text.end(), '\n')); }

inline void write_idx(const fs::path& file, uint8_t ndim, const std::vector<uint32_t>& dims,
                      const std::vector<uint8_t>& values) {
  std::ofstream out(file, std::ios::binary);
  const uint8_t magic[4] = {0, 0, 0x08, ndim};
  out.write(reinterpret_cast<const char*>(magic), 4);
  for (uint32_t d : dims) {
    const uint8_t be[4] = {uint8_t(d >> 24), uint8_t(d >> 16), uint8_t(d >> 8), uint8_t(d)};
    out.write(reinterpret_cast<const char*>(be), 4);
  }
  out.write(reinterpret_cast<const char*>(values.data()), std::streamsize(values.size()));
}

// `n` 28x28 images per split whose brightness pattern depends on the label,
// so a model can learn them: {train,t10k}-{images-idx3,labels-idx1}-ubyte.
inline void write_fake_mnist(const fs::path& dir, uint32_t n_train, uint32_t n_test) {
  fs::create_directories(dir);
  for (const auto& [prefix, n] : {std::pair{"train", n_train}, std::pair{"t10k", n_test}}) {
    std::vector<uint8_t> images(size_t(n) * 784), labels(n);
    for (uint32_t i = 0; i < n; ++i) {
      labels[i] = uint8_t((i * 7 + 3) % 10);
      for (uint32_t p = 0; p < 784; ++p)
        images[size_t(i) * 784 + p] = uint8_t((p / 78 == labels[i] ? 200 : 20) + (i * 31 + p * 17) % 40);
    }
    write_idx(dir / (std::string(prefix) + "-images-idx3-ubyte"), 3, {n, 28, 28}, images);
    write_idx(dir / (std::string(prefix) + "-labels-idx1-ubyte"), 1, {n}, labels);
  }
}

}  // namespace ember::tools_test
