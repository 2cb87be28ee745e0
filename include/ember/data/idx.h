#pragma once
// IDX files (the MNIST / Fashion-MNIST format), raw or gzip-compressed.
//
//   auto train = ember::data::load_mnist();              // Fashion-MNIST, Debian's copy
//   auto test = ember::data::load_mnist("/data/mnist", /*train=*/false);
//   train.input();   // f32 [60000, 1, 28, 28] in [0, 1]
//   train.target();  // i64 [60000]
//
// Layout: two zero bytes, a type code (0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32,
// 0x0D f32, 0x0E f64), the number of dims, each dim as a big-endian u32, then
// the big-endian values in row-major order. Files are hostile input: every
// count is checked with overflow-safe arithmetic, and any problem is a
// FormatError naming the file.
#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>

#include "ember/core/tensor.h"
#include "ember/data/dataset.h"

namespace ember::data {

// Where Debian's dataset-fashion-mnist package installs the files.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

// Parses IDX bytes, gunzipping them first when they start with the gzip magic.
// i16 data (code 0x0B) widens to i32, as Ember has no 16-bit integer dtype.
// `source` names the bytes in error messages.
Tensor parse_idx(std::span<const uint8_t> bytes, std::string_view source = "<bytes>");
Tensor read_idx(const std::filesystem::path& path);

// {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz] from `dir`: images as
// f32 [N, 1, H, W] scaled to [0, 1], labels as i64 [N].
TensorDataset load_mnist(const std::filesystem::path& dir = kFashionMnistDir, bool train = true);

}  // namespace ember::data
