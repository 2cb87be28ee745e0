#include "ember/data/idx.h"

#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <fstream>

#include "ember/ops/binary.h"
#include "ember/ops/shape.h"

namespace ember::data {

namespace {

std::vector<uint8_t> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  EMBER_CHECK(in.good(), FormatError, path.string(), ": cannot open for reading");
  const std::streamsize size = in.tellg();
  EMBER_CHECK(size >= 0, FormatError, path.string(), ": cannot determine the file size");
  std::vector<uint8_t> bytes(size_t(size), 0);
  in.seekg(0);
  in.read(reinterpret_cast<char*>(bytes.data()), size);
  EMBER_CHECK(in.gcount() == size, FormatError, path.string(), ": short read, got ", in.gcount(), " of ", size,
              " bytes");
  return bytes;
}

bool is_gzip(std::span<const uint8_t> bytes) { return bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b; }

// Inflates every gzip member in `bytes`; zlib checks each member's CRC and length.
std::vector<uint8_t> gunzip(std::span<const uint8_t> bytes, std::string_view source) {
  z_stream stream{};
  EMBER_CHECK(inflateInit2(&stream, 16 + MAX_WBITS) == Z_OK, FormatError, source, ": cannot start gzip decoding");
  constexpr size_t kMaxChunk = 1u << 30;  // zlib counts in 32-bit uInt
  std::vector<uint8_t> out;
  size_t in_pos = 0, out_pos = 0;
  try {
    while (true) {
      if (stream.avail_in == 0) {
        stream.next_in = const_cast<Bytef*>(bytes.data() + in_pos);
        stream.avail_in = uInt(std::min(bytes.size() - in_pos, kMaxChunk));
        in_pos += stream.avail_in;
      }
      if (out_pos == out.size()) out.resize(std::max<size_t>(2 * out.size(), 1u << 20));
      stream.next_out = out.data() + out_pos;
      stream.avail_out = uInt(std::min(out.size() - out_pos, kMaxChunk));
      const uInt avail_out = stream.avail_out;
      const int status = inflate(&stream, Z_NO_FLUSH);
      out_pos += avail_out - stream.avail_out;
      if (status == Z_STREAM_END) {
        const size_t rest = bytes.size() - in_pos + stream.avail_in;
        if (rest == 0) break;
        // Another member may follow (as `cat a.gz b.gz` makes); anything else is garbage.
        EMBER_CHECK(is_gzip(bytes.subspan(bytes.size() - rest)), FormatError, source, ": ", rest,
                    " bytes of trailing garbage after the gzip stream");
        EMBER_CHECK(inflateReset(&stream) == Z_OK, FormatError, source, ": cannot restart gzip decoding");
        continue;
      }
      const bool input_done = stream.avail_in == 0 && in_pos == bytes.size();
      EMBER_CHECK(status == Z_OK || status == Z_BUF_ERROR, FormatError, source, ": corrupt gzip stream (",
                  stream.msg ? stream.msg : "zlib error", ")");
      // Inflate wants more input and there is none: the stream was cut off.
      EMBER_CHECK(!(input_done && stream.avail_out > 0), FormatError, source,
                  ": gzip stream ends early (truncated file?) after ", out_pos, " decompressed bytes");
    }
  } catch (...) {
    inflateEnd(&stream);
    throw;
  }
  inflateEnd(&stream);
  out.resize(out_pos);
  return out;
}

uint32_t read_be32(const uint8_t* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }

struct IdxType {
  DType dtype;
  size_t file_itemsize;
  const char* name;
};

std::optional<IdxType> idx_type(uint8_t code) {
  switch (code) {
    case 0x08: return IdxType{DType::u8, 1, "ubyte"};
    case 0x09: return IdxType{DType::i8, 1, "byte"};
    case 0x0B: return IdxType{DType::i32, 2, "short"};
    case 0x0C: return IdxType{DType::i32, 4, "int"};
    case 0x0D: return IdxType{DType::f32, 4, "float"};
    case 0x0E: return IdxType{DType::f64, 8, "double"};
    default: return std::nullopt;
  }
}

// Big-endian file values -> native tensor elements.
void decode_values(const uint8_t* src, const Tensor& out, uint8_t code, size_t count) {
  switch (code) {
    case 0x08:
    case 0x09: std::memcpy(out.raw_data(), src, count); break;
    case 0x0B: {
      auto* dst = out.data_ptr<int32_t>();
      for (size_t i = 0; i < count; ++i) dst[i] = int16_t(uint16_t(src[2 * i] << 8 | src[2 * i + 1]));
      break;
    }
    case 0x0C: {
      auto* dst = out.data_ptr<int32_t>();
      for (size_t i = 0; i < count; ++i) dst[i] = int32_t(read_be32(src + 4 * i));
      break;
    }
    case 0x0D: {
      auto* dst = out.data_ptr<float>();
      for (size_t i = 0; i < count; ++i) dst[i] = std::bit_cast<float>(read_be32(src + 4 * i));
      break;
    }
    case 0x0E: {
      auto* dst = out.data_ptr<double>();
      for (size_t i = 0; i < count; ++i) {
        dst[i] = std::bit_cast<double>(uint64_t(read_be32(src + 8 * i)) << 32 | read_be32(src + 8 * i + 4));
      }
      break;
    }
  }
}

Tensor parse_raw_idx(std::span<const uint8_t> bytes, std::string_view source) {
  EMBER_CHECK(bytes.size() >= 4, FormatError, source, ": ", bytes.size(),
              " bytes is too short for an IDX header (4 bytes of magic)");
  EMBER_CHECK(bytes[0] == 0 && bytes[1] == 0, FormatError, source, ": bad IDX magic 0x", std::hex,
              read_be32(bytes.data()), std::dec, " (an IDX file starts with two zero bytes)");
  const uint8_t code = bytes[2];
  const auto type = idx_type(code);
  EMBER_CHECK(type.has_value(), FormatError, source, ": unknown IDX data type code 0x", std::hex, int(code),
              std::dec, " (expected 0x08, 0x09, 0x0B, 0x0C, 0x0D or 0x0E)");
  const size_t ndim = bytes[3];
  const size_t header = 4 + 4 * ndim;
  EMBER_CHECK(bytes.size() >= header, FormatError, source, ": truncated header: ", ndim, " dims need ", header,
              " bytes, the data has ", bytes.size());
  Shape shape(ndim, 0);
  uint64_t count = 1;
  // Strides multiply the nonzero dims, so they must fit in int64 even when a
  // zero dim makes the tensor empty.
  int64_t stride_span = 1;
  bool overflow = false;
  for (size_t d = 0; d < ndim; ++d) {
    shape[d] = read_be32(bytes.data() + 4 + 4 * d);
    overflow = overflow || __builtin_mul_overflow(count, uint64_t(shape[d]), &count) ||
               __builtin_mul_overflow(stride_span, std::max<int64_t>(shape[d], 1), &stride_span);
  }
  uint64_t data_bytes = 0;
  overflow = overflow || __builtin_mul_overflow(count, uint64_t(type->file_itemsize), &data_bytes);
  EMBER_CHECK(!overflow, FormatError, source, ": IDX dims ", shape_str(shape), " of ", type->name,
              " overflow the addressable size");
  const uint64_t available = bytes.size() - header;
  EMBER_CHECK(available >= data_bytes, FormatError, source, ": truncated data: dims ", shape_str(shape), " of ",
              type->name, " need ", data_bytes, " bytes, only ", available, " follow the header");
  EMBER_CHECK(available == data_bytes, FormatError, source, ": wrong element count: dims ", shape_str(shape),
              " of ", type->name, " need ", data_bytes, " bytes, but ", available - data_bytes,
              " extra bytes follow them");
  Tensor out = Tensor::empty(shape, type->dtype);
  decode_values(bytes.data() + header, out, code, size_t(count));
  return out;
}

}  // namespace

Tensor parse_idx(std::span<const uint8_t> bytes, std::string_view source) {
  if (is_gzip(bytes)) {
    const std::vector<uint8_t> raw = gunzip(bytes, source);
    return parse_raw_idx(raw, source);
  }
  return parse_raw_idx(bytes, source);
}

Tensor read_idx(const std::filesystem::path& path) { return parse_idx(read_file(path), path.string()); }

TensorDataset load_mnist(const std::filesystem::path& dir, bool train) {
  const std::string split = train ? "train" : "t10k";
  // Debian ships the .gz files; people who unpacked them have the raw ones.
  const auto find = [&](const std::string& name) {
    for (const auto& candidate : {dir / (name + ".gz"), dir / name}) {
      if (std::filesystem::exists(candidate)) return candidate;
    }
    EMBER_THROW(ValueError, "load_mnist: neither ", name, ".gz nor ", name, " is in ", dir.string(),
                " (Debian: apt install dataset-fashion-mnist)");
  };
  const auto images_path = find(split + "-images-idx3-ubyte");
  const auto labels_path = find(split + "-labels-idx1-ubyte");
  const Tensor images = read_idx(images_path);
  const Tensor labels = read_idx(labels_path);
  EMBER_CHECK(images.dtype() == DType::u8 && images.dim() == 3, FormatError, images_path.string(),
              ": expected ubyte images [N, H, W], got ", images.meta_str());
  EMBER_CHECK(labels.dtype() == DType::u8 && labels.dim() == 1, FormatError, labels_path.string(),
              ": expected ubyte labels [N], got ", labels.meta_str());
  EMBER_CHECK(images.size(0) == labels.size(0), FormatError, images_path.string(), " holds ", images.size(0),
              " images but ", labels_path.string(), " holds ", labels.size(0), " labels");
  return TensorDataset((images.to(DType::f32) / 255.0).unsqueeze(1), labels.to(DType::i64));
}

}  // namespace ember::data
