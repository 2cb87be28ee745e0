// .npy: round trips of every supported dtype and rank, files numpy itself
// writes (versions 1 and 2) and reads, and a FormatError for each malformed
// header, unsupported dtype or order, and size mismatch.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "ember/ember.h"
#include "ember/io/npy.h"
#include "graph/graph_testing.h"
#include "support/expect_error.h"
#include "support/temp_dir.h"

namespace ember::io {
namespace {

namespace fs = std::filesystem;
using ember::testing::expect_identical;
using ember::testing::expect_error;
using ember::testing::TempDir;

std::span<const uint8_t> as_bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// A .npy file with the given header dict and data bytes (version 1).
std::string npy_with_header(const std::string& dict, const std::string& data = "", char major = 1) {
  std::string header = dict + "\n";
  std::string out = std::string("\x93NUMPY") + major + '\0';
  out += char(header.size() & 0xff);
  out += char(header.size() >> 8);
  if (major == 2) out += std::string(2, '\0');
  return out + header + data;
}

TEST(Npy, RoundTripsEveryDtypeAndRank) {
  manual_seed(0);
  const std::vector<Tensor> cases = {
      randn({2, 3}),
      randn({4}).to(DType::f64),
      randn({2, 2, 2}).to(DType::f16),
      scalar_tensor(7, DType::i64),
      arange(0, 6, 1, DType::i32).reshape({3, 2}),
      arange(0, 5, 1, DType::i8),
      arange(0, 5, 1, DType::i16),
      arange(250, 256, 1, DType::u8),
      tensor({1.0, 0.0, 2.0}).to(DType::b8),
      Tensor::empty({0, 3}),
      randn({3, 4}).t(),  // non-contiguous: written in C order
  };
  for (const Tensor& t : cases) {
    SCOPED_TRACE(t.meta_str());
    const std::string bytes = to_npy_bytes(t);
    // numpy's layout: the data starts 64-aligned after a '\n'-terminated header.
    const size_t header = size_t(uint8_t(bytes[8])) | size_t(uint8_t(bytes[9])) << 8;
    EXPECT_EQ((10 + header) % 64, 0u);
    EXPECT_EQ(bytes[10 + header - 1], '\n');
    expect_identical(t, parse_npy(as_bytes(bytes)));
  }
  EXPECT_NE(to_npy_bytes(randn({3})).find("'shape': (3,)"), std::string::npos);
  EXPECT_NE(to_npy_bytes(scalar_tensor(1.0)).find("'shape': ()"), std::string::npos);
  expect_error<DTypeError>([] { to_npy_bytes(randn({2}).to(DType::bf16)); }, {"save_npy", "bfloat16"});
}

TEST(Npy, ManyDimensionsUseVersion2) {
  Shape sizes(25000, 1);  // "1, " each: a header over 65535 bytes
  const Tensor t = full(sizes, 3.0);
  const std::string bytes = to_npy_bytes(t);
  EXPECT_EQ(bytes[6], 2);
  expect_identical(t, parse_npy(as_bytes(bytes)));
}

TEST(Npy, MalformedFilesAreFormatErrors) {
  const std::string f4 = std::string(8, '\0');  // two float32 zeros
  auto bad = [](const std::string& bytes, std::initializer_list<std::string_view> fragments) {
    expect_error<FormatError>([&] { parse_npy(as_bytes(bytes), "x.npy"); }, fragments);
  };
  const std::string ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  EXPECT_EQ(parse_npy(as_bytes(npy_with_header(ok, f4))).sizes(), (Shape{2}));
  bad("PK\x03\x04", {"x.npy", "magic"});
  bad(std::string("\x93NUMPY"), {"x.npy", "truncated"});
  bad(npy_with_header(ok, f4, 3), {"version 3.0 is not supported"});
  bad(npy_with_header(ok, f4).substr(0, 12), {"header length", "runs past the end"});
  bad(npy_with_header(ok, f4 + "x"), {"needs 8 data bytes, the file has 9"});
  bad(npy_with_header(ok, f4.substr(1)), {"needs 8 data bytes, the file has 7"});
  bad(npy_with_header("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", f4), {"dtype '>f4'"});
  bad(npy_with_header("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", f4), {"dtype '<c8'"});
  bad(npy_with_header("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", f4), {"Fortran"});
  bad(npy_with_header("{'descr': '<f4', 'shape': (2,), }", f4), {"needs 'descr', 'fortran_order' and 'shape'"});
  bad(npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", f4), {"key 'x'"});
  bad(npy_with_header("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", f4),
      {"repeated key 'descr'"});
  bad(npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2), }", f4), {"(n,)"});
  bad(npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", f4), {"non-negative"});
  bad(npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", f4),
      {"too large"});
  bad(npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }"),
      {"overflows"});
  bad(npy_with_header("{'descr': '<f4', 'fortran_order': maybe, 'shape': (2,), }", f4), {"True or False"});
  bad(npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } junk", f4), {"trailing"});
  bad(npy_with_header("{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }", std::string("\x01\x02", 2)),
      {"bool element is 2"});
  expect_error<FormatError>([] { load_npy("/nonexistent/x.npy"); }, {"/nonexistent/x.npy", "cannot open"});
}

// The real other side: numpy reads what Ember writes, and Ember reads what
// numpy writes, including version 2.0 headers.
TEST(Npy, InteropWithNumpy) {
  const char* env_root = std::getenv("EMBER_SOURCE_DIR");
  const fs::path python = fs::path(env_root ? env_root : EMBER_SOURCE_DIR_DEFAULT) / ".venv/bin/python";
  if (!fs::exists(python)) GTEST_SKIP() << "no venv; run scripts/setup.sh";
  TempDir dir;
  save_npy(dir / "ember_f32.npy", arange(0, 6, 1, DType::f32).reshape({2, 3}));
  save_npy(dir / "ember_b.npy", tensor({1.0, 0.0}).to(DType::b8));
  save_npy(dir / "ember_scalar.npy", scalar_tensor(int64_t(-5), DType::i64));
  std::ofstream(dir / "check.py") << R"(
import sys
import numpy as np
d = sys.argv[1]
a = np.load(d + "/ember_f32.npy")
assert a.dtype == np.float32 and a.shape == (2, 3) and (a == np.arange(6).reshape(2, 3)).all(), a
b = np.load(d + "/ember_b.npy")
assert b.dtype == np.bool_ and list(b) == [True, False], b
s = np.load(d + "/ember_scalar.npy")
assert s.dtype == np.int64 and s.shape == () and s == -5, s
np.save(d + "/np_u8.npy", np.arange(12, dtype=np.uint8).reshape(3, 4))
np.save(d + "/np_f64.npy", np.array([[1.5], [-2.0]]))
with open(d + "/np_v2.npy", "wb") as f:
    np.lib.format.write_array(f, np.array([1, 2, 3], np.int32), version=(2, 0))
np.save(d + "/np_fortran.npy", np.asfortranarray(np.ones((2, 3), np.float32)))
)";
  const std::string cmd = python.string() + " " + (dir / "check.py") + " " + dir.path.string();
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "numpy disagrees with Ember's .npy files";
  expect_identical(arange(0, 12, 1, DType::u8).reshape({3, 4}), load_npy(dir / "np_u8.npy"));
  expect_identical(tensor({1.5, -2.0}).to(DType::f64).reshape({2, 1}), load_npy(dir / "np_f64.npy"));
  expect_identical(tensor({1, 2, 3}).to(DType::i32), load_npy(dir / "np_v2.npy"));
  expect_error<FormatError>([&] { load_npy(dir / "np_fortran.npy"); }, {"np_fortran.npy", "Fortran"});
}

}  // namespace
}  // namespace ember::io
