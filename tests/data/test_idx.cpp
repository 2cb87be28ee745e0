// IDX reading: every data type decoded from big-endian bytes, gzip detected by
// its magic, and each kind of corrupt or truncated file rejected with a
// FormatError that names the file and the problem.
#include <bit>
#include <cmath>

#include "data/files.h"

using namespace ember;
using namespace ember::data;
using namespace ember::data::testing;

namespace {

std::vector<uint8_t> be32_words(const std::vector<uint32_t>& words) {
  std::vector<uint8_t> out;
  for (const uint32_t w : words) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(uint8_t(w >> shift));
  }
  return out;
}

// Expects `fn` to throw FormatError whose message contains every fragment.
template <class F>
void expect_format_error(F&& fn, const std::vector<std::string>& fragments) {
  try {
    fn();
    ADD_FAILURE() << "no FormatError";
  } catch (const FormatError& e) {
    for (const auto& fragment : fragments) EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(Idx, DecodesEveryDataType) {
  const Tensor u8 = parse_idx(idx_bytes(0x08, {2, 3}, {0, 1, 2, 253, 254, 255}));
  EXPECT_EQ(u8.dtype(), DType::u8);
  EXPECT_EQ(u8.shape(), (Shape{2, 3}));
  EXPECT_EQ(u8.to_vector<uint8_t>(), (std::vector<uint8_t>{0, 1, 2, 253, 254, 255}));

  const Tensor i8 = parse_idx(idx_bytes(0x09, {3}, {0x80, 0xFF, 0x7F}));
  EXPECT_EQ(i8.to_vector<int8_t>(), (std::vector<int8_t>{-128, -1, 127}));

  const Tensor i16 = parse_idx(idx_bytes(0x0B, {2}, {0xFE, 0xD4, 0x01, 0x2C}));  // -300, 300
  EXPECT_EQ(i16.dtype(), DType::i32);
  EXPECT_EQ(i16.to_vector<int32_t>(), (std::vector<int32_t>{-300, 300}));

  const Tensor i32 = parse_idx(idx_bytes(0x0C, {2}, be32_words({0xFFFFFFFE, 70000})));
  EXPECT_EQ(i32.to_vector<int32_t>(), (std::vector<int32_t>{-2, 70000}));

  const Tensor f32 = parse_idx(
      idx_bytes(0x0D, {1, 2}, be32_words({std::bit_cast<uint32_t>(1.5f), std::bit_cast<uint32_t>(-2.25f)})));
  EXPECT_EQ(f32.shape(), (Shape{1, 2}));
  EXPECT_EQ(f32.to_vector<float>(), (std::vector<float>{1.5f, -2.25f}));

  const uint64_t bits = std::bit_cast<uint64_t>(-0.1);
  const Tensor f64 = parse_idx(idx_bytes(0x0E, {1}, be32_words({uint32_t(bits >> 32), uint32_t(bits)})));
  EXPECT_EQ(f64.to_vector<double>(), (std::vector<double>{-0.1}));
}

TEST(Idx, GzipIsDetectedByMagic) {
  const auto raw = idx_bytes(0x08, {4}, {9, 8, 7, 6});
  EXPECT_EQ(parse_idx(gzip(raw)).to_vector<uint8_t>(), (std::vector<uint8_t>{9, 8, 7, 6}));
  // Concatenated members decompress to their concatenation, as gunzip does.
  auto first = gzip({raw.begin(), raw.begin() + 5}), second = gzip({raw.begin() + 5, raw.end()});
  first.insert(first.end(), second.begin(), second.end());
  EXPECT_EQ(parse_idx(first).to_vector<uint8_t>(), (std::vector<uint8_t>{9, 8, 7, 6}));

  TempDir dir;
  write_file(dir / "a.idx", raw);
  write_file(dir / "a.idx.gz", gzip(raw));
  EXPECT_EQ(read_idx(dir / "a.idx").to_vector<uint8_t>(), read_idx(dir / "a.idx.gz").to_vector<uint8_t>());
}

TEST(Idx, LargeGzipStreamGrowsTheBuffer) {
  std::vector<uint8_t> data(3 << 20);
  for (size_t i = 0; i < data.size(); ++i) data[i] = uint8_t(i * 7 + i / 1000);
  const Tensor t = parse_idx(gzip(idx_bytes(0x08, {3, 1 << 20}, data)));
  EXPECT_EQ(t.to_vector<uint8_t>(), data);
}

TEST(Idx, CorruptFilesNameTheFileAndTheProblem) {
  TempDir dir;
  const auto check = [&](const std::string& name, const std::vector<uint8_t>& bytes,
                         const std::vector<std::string>& fragments) {
    write_file(dir / name, bytes);
    auto with_name = fragments;
    with_name.push_back(dir / name);
    expect_format_error([&] { read_idx(dir / name); }, with_name);
  };
  const auto good = idx_bytes(0x08, {2, 2}, {1, 2, 3, 4});
  check("short.idx", {0, 0, 8}, {"too short for an IDX header"});
  check("magic.idx", {0x50, 0x4b, 3, 4, 0, 0, 0, 0}, {"bad IDX magic 0x504b0304"});
  check("type.idx", idx_bytes(0x0A, {1}, {0}), {"unknown IDX data type code 0xa"});
  check("header.idx", {0, 0, 8, 3, 0, 0, 0, 2, 0, 0}, {"truncated header", "3 dims need 16 bytes"});
  check("data.idx", {good.begin(), good.end() - 1}, {"truncated data", "need 4 bytes, only 3"});
  auto extra = good;
  extra.push_back(5);
  check("count.idx", extra, {"wrong element count", "1 extra bytes"});
  check("overflow.idx", idx_bytes(0x0E, {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, {}), {"overflow"});
  // Each dim fits, and so does the element count, but not its size in bytes.
  check("bytes.idx", idx_bytes(0x0E, {0xFFFFFFFF, 0xFFFFFFFF, 0x10}, {}), {"overflow"});
  // Empty, yet its strides would overflow (found by fuzz_idx).
  check("empty.idx", idx_bytes(0x08, {8, 0xFEFE0000, 0, 0xA5FFFFFF}, {}), {"overflow"});

  const auto gz = gzip(idx_bytes(0x08, {1000}, std::vector<uint8_t>(1000, 42)));
  check("cut.idx.gz", {gz.begin(), gz.begin() + ptrdiff_t(gz.size() / 2)}, {"gzip stream ends early"});
  check("magic-only.idx.gz", {0x1f, 0x8b}, {"gzip stream ends early"});
  auto bad_crc = gz;
  bad_crc[bad_crc.size() - 6] ^= 0xFF;  // inside the CRC32 of the trailer
  check("crc.idx.gz", bad_crc, {"corrupt gzip stream"});
  auto garbage = gz;
  garbage.insert(garbage.end(), {1, 2, 3});
  check("garbage.idx.gz", garbage, {"3 bytes of trailing garbage"});
  // A valid gzip stream around a broken IDX file is reported as the IDX problem.
  check("inner.idx.gz", gzip({good.begin(), good.end() - 2}), {"truncated data"});

  expect_format_error([&] { read_idx(dir / "absent.idx"); }, {"absent.idx", "cannot open"});
}

TEST(Idx, ZeroDimsIsAScalar) {
  const Tensor t = parse_idx(idx_bytes(0x08, {}, {7}));
  EXPECT_EQ(t.dim(), 0);
  EXPECT_EQ(t.item<uint8_t>(), 7);
}

struct MnistFiles {
  TempDir dir;
  void write(const std::string& split, uint32_t images, uint32_t labels, bool gz) {
    std::vector<uint8_t> pixels(images * 4 * 3);
    for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = uint8_t(i * 5);
    std::vector<uint8_t> ys(labels);
    for (size_t i = 0; i < ys.size(); ++i) ys[i] = uint8_t(i % 10);
    const auto image_file = idx_bytes(0x08, {images, 4, 3}, pixels), label_file = idx_bytes(0x08, {labels}, ys);
    const std::string suffix = gz ? ".gz" : "";
    write_file(dir / (split + "-images-idx3-ubyte" + suffix), gz ? gzip(image_file) : image_file);
    write_file(dir / (split + "-labels-idx1-ubyte" + suffix), gz ? gzip(label_file) : label_file);
  }
};

TEST(Mnist, LoadsImagesAsUnitFloatsAndLabelsAsInt64) {
  MnistFiles files;
  files.write("train", 5, 5, /*gz=*/true);
  files.write("t10k", 2, 2, /*gz=*/false);
  const TensorDataset train = load_mnist(files.dir.path, true);
  EXPECT_EQ(train.input().shape(), (Shape{5, 1, 4, 3}));
  EXPECT_EQ(train.input().dtype(), DType::f32);
  EXPECT_EQ(train.target().dtype(), DType::i64);
  EXPECT_EQ(train.target().to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 2, 3, 4}));
  const auto pixels = train.input().to_vector<float>();
  for (size_t i = 0; i < pixels.size(); ++i) EXPECT_EQ(pixels[i], float(uint8_t(i * 5)) / 255.0f) << i;
  EXPECT_EQ(load_mnist(files.dir.path, false).size(), 2);
}

TEST(Mnist, MismatchedCountsAndMissingFilesAreErrors) {
  MnistFiles files;
  files.write("train", 5, 4, true);
  expect_format_error([&] { load_mnist(files.dir.path, true); }, {"holds 5 images but", "holds 4 labels"});
  try {
    load_mnist(files.dir.path, false);
    ADD_FAILURE() << "no error";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("t10k-images-idx3-ubyte"), std::string::npos) << e.what();
  }
  write_file(files.dir / "train-labels-idx1-ubyte.gz", gzip(idx_bytes(0x0C, {5}, std::vector<uint8_t>(20))));
  expect_format_error([&] { load_mnist(files.dir.path, true); }, {"expected ubyte labels", "int32[5]"});
}

// The real dataset, where Debian installs it: sizes, balanced classes, and the
// pixel mean and std that torchvision users normalize with (0.2860, 0.3530).
TEST(Mnist, RealFashionMnist) {
  if (!fs::exists(fs::path(kFashionMnistDir) / "train-images-idx3-ubyte.gz")) GTEST_SKIP() << "no Fashion-MNIST";
  const TensorDataset train = load_mnist();
  EXPECT_EQ(train.input().shape(), (Shape{60000, 1, 28, 28}));
  const Tensor counts = one_hot(train.target(), 10).sum({0});
  EXPECT_EQ(counts.to_vector<int64_t>(), std::vector<int64_t>(10, 6000));
  const double mean = train.input().to(DType::f64).mean().item<double>();
  const double stddev = std::sqrt(((train.input().to(DType::f64) - mean).pow(2)).mean().item<double>());
  EXPECT_NEAR(mean, 0.2860, 5e-5);
  EXPECT_NEAR(stddev, 0.3530, 5e-5);
  EXPECT_EQ(load_mnist(kFashionMnistDir, false).size(), 10000);
}

}  // namespace
