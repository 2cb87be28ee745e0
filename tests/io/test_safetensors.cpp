// safetensors: round trips, and every malformed-file class the reference
// reader rejects (huggingface/safetensors tensor.rs tests) is a FormatError
// naming the problem.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "ember/ember.h"
#include "ember/io/safetensors.h"

using namespace ember;
namespace fs = std::filesystem;

namespace {

std::span<const uint8_t> as_bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// A file made of an 8-byte length, the header text and `data` bytes.
std::string file_with_header(const std::string& header, size_t data_bytes) {
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(char((header.size() >> (8 * i)) & 0xff));
  out += header;
  out.append(data_bytes, '\0');
  return out;
}

void expect_format_error(const std::string& bytes, const std::string& substring) {
  try {
    io::parse_safetensors(as_bytes(bytes), "bad.safetensors");
    ADD_FAILURE() << "expected a FormatError containing \"" << substring << "\"";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find(substring), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("bad.safetensors"), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(Safetensors, RoundTripsEveryDType) {
  io::TensorMap tensors;
  tensors["f32"] = tensor({1.5f, -2.f, 3.25f}).reshape({3, 1});
  tensors["f64"] = tensor({1.0, 2.0}, DType::f64);
  tensors["bf16"] = tensor({1.f, 0.5f}, DType::bf16);
  tensors["f16"] = tensor({1.f, 0.25f}, DType::f16);
  tensors["i64"] = tensor({int64_t(-7), int64_t(1) << 40});
  tensors["i32"] = tensor({1, 2, 3}, DType::i32);
  tensors["i8"] = tensor({-1, 1}, DType::i8);
  tensors["u8"] = tensor({255, 1}, DType::u8);
  tensors["b"] = tensor({true, false, true});
  tensors["scalar"] = scalar_tensor(4.f);
  tensors["empty"] = zeros({0, 3});
  tensors["strided"] = tensor({1.f, 2.f, 3.f, 4.f}).reshape({2, 2}).t();
  const std::string bytes = io::to_safetensors_bytes(tensors, {{"epoch", "3"}});
  const auto back = io::parse_safetensors(as_bytes(bytes));
  EXPECT_EQ(back.metadata.at("epoch"), "3");
  ASSERT_EQ(back.tensors.size(), tensors.size());
  for (const auto& [name, t] : tensors) {
    const Tensor& r = back.tensors.at(name);
    EXPECT_EQ(r.sizes(), t.sizes()) << name;
    EXPECT_EQ(r.dtype(), t.dtype()) << name;
    EXPECT_EQ(r.to_vector<double>(), t.to_vector<double>()) << name;
  }
}

TEST(Safetensors, HeaderIsPaddedToEightBytes) {
  const std::string bytes = io::to_safetensors_bytes({{"x", ones({3})}});
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | uint8_t(bytes[size_t(i)]);
  EXPECT_EQ(n % 8, 0u);
  EXPECT_EQ(bytes[8], '{');
}

TEST(Safetensors, EmptyFileFromTheReferenceTests) {
  const std::string bytes = file_with_header("{}      ", 0);
  EXPECT_TRUE(io::parse_safetensors(as_bytes(bytes)).tensors.empty());
}

TEST(Safetensors, ScalarShape) {
  const auto r = io::parse_safetensors(
      as_bytes(file_with_header(R"({"s":{"dtype":"I32","shape":[],"data_offsets":[0,4]}})", 4)));
  EXPECT_EQ(r.tensors.at("s").dim(), 0);
}

TEST(Safetensors, RejectsMalformedFiles) {
  expect_format_error("abc", "shorter than the 8-byte header length");
  expect_format_error(std::string("\xff\xff\xff\xff\xff\xff\xff\xff", 8) + "{}", "exceeds the 100 MB limit");
  expect_format_error(std::string("\x10\0\0\0\0\0\0\0", 8) + "{}", "runs past the end of the file");
  expect_format_error(file_with_header("[1, 2]", 0), "does not start with '{'");
  expect_format_error(file_with_header("{\"a\": ", 0), "not valid JSON");
  expect_format_error(file_with_header(R"({"a":{"dtype":"Q8","shape":[1],"data_offsets":[0,1]}})", 1),
                      "dtype 'Q8' is not supported");
  expect_format_error(file_with_header(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4),
                      "non-negative");
  expect_format_error(file_with_header(R"({"a":{"dtype":"F32","shape":[2]}})", 8), "data_offsets");
  expect_format_error(file_with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", 4),
                      "needs 8 bytes");
  // Trailing bytes (polyglot files) and truncation.
  expect_format_error(file_with_header(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 6),
                      "the tensors cover 4");
  expect_format_error(file_with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 6),
                      "truncated");
  // Overlapping tensors (ten tensors at [0, 16] in the reference tests).
  expect_format_error(file_with_header(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                                       R"("b":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})",
                                       16),
                      "expected to begin at 16");
  expect_format_error(file_with_header(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                       R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                                       8),
                      "\"a\" twice");
  expect_format_error(file_with_header(R"({"__metadata__":{"k":1}})", 0), "is not a string");
  expect_format_error(file_with_header(R"({"a":{"dtype":"F32","shape":[4611686018427387904,8],)"
                                       R"("data_offsets":[0,4]}})",
                                       4),
                      "overflows");
}

TEST(Safetensors, MissingFileIsAnError) {
  EXPECT_THROW(io::load_safetensors("/nonexistent/x.safetensors"), FormatError);
}

// The real other side: the Python `safetensors` package (in the project's
// venv, made by scripts/setup.sh) reads what Ember writes and writes what
// Ember reads.
TEST(Safetensors, InteropWithThePythonPackage) {
  const char* env_root = std::getenv("EMBER_SOURCE_DIR");
  const std::string root = env_root ? env_root : EMBER_SOURCE_DIR_DEFAULT;
  const fs::path python = fs::path(root) / ".venv/bin/python";
  if (!fs::exists(python)) GTEST_SKIP() << "no venv; run scripts/setup.sh";
  const fs::path dir = fs::temp_directory_path() / ("ember_st_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  io::save_safetensors((dir / "ember.safetensors").string(),
                       {{"w", arange(0, 6, 1, DType::f32).reshape({2, 3})}, {"i", tensor({3, 4})}},
                       {{"source", "ember"}});
  const std::string script = R"(
import sys, numpy as np
from safetensors.numpy import load_file, save_file
from safetensors import safe_open
d = sys.argv[1]
t = load_file(d + "/ember.safetensors")
assert t["w"].dtype == np.float32 and t["w"].shape == (2, 3), t["w"]
assert (t["w"] == np.arange(6, dtype=np.float32).reshape(2, 3)).all()
assert t["i"].dtype == np.int64 and list(t["i"]) == [3, 4]
with safe_open(d + "/ember.safetensors", "np") as f:
    assert f.metadata() == {"source": "ember"}, f.metadata()
save_file({"y": np.array([[1.5, -2.0]], dtype=np.float64), "z": np.zeros((0, 2), np.int32)},
          d + "/python.safetensors", metadata={"from": "python"})
)";
  std::ofstream(dir / "check.py") << script;
  const std::string cmd = python.string() + " " + (dir / "check.py").string() + " " + dir.string();
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "python could not read Ember's file";
  const auto back = io::load_safetensors_file((dir / "python.safetensors").string());
  EXPECT_EQ(back.metadata.at("from"), "python");
  EXPECT_EQ(back.tensors.at("y").dtype(), DType::f64);
  EXPECT_EQ(back.tensors.at("y").to_vector<double>(), (std::vector<double>{1.5, -2.0}));
  EXPECT_EQ(back.tensors.at("z").sizes(), (Shape{0, 2}));
  fs::remove_all(dir);
}
