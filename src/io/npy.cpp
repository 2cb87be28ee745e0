// .npy reader and writer; see the format summary in ember/io/npy.h. The
// reader treats the bytes as hostile: the header is parsed by a small strict
// grammar (no Python eval), and sizes are multiplied with overflow checks.
#include "ember/io/npy.h"

#include <cctype>
#include <cstring>
#include <fstream>
#include <limits>
#include <optional>

#include "ember/io/checkpoint.h"  // write_file_atomic
#include "read_file.h"

namespace ember::io {
namespace {

constexpr std::string_view kMagic = "\x93NUMPY";

[[noreturn]] void fail(std::string_view source, const std::string& what) {
  EMBER_THROW(FormatError, source, ": not a valid .npy file: ", what);
}

// NumPy's type strings for Ember's dtypes: '<' little-endian, '|' no byte order.
std::string_view descr_of(DType dtype) {
  switch (dtype) {
    case DType::f32: return "<f4";
    case DType::f64: return "<f8";
    case DType::f16: return "<f2";
    case DType::i8: return "|i1";
    case DType::u8: return "|u1";
    case DType::i16: return "<i2";
    case DType::i32: return "<i4";
    case DType::i64: return "<i8";
    case DType::b8: return "|b1";
    case DType::bf16: break;
  }
  EMBER_THROW(DTypeError, "save_npy: NumPy has no ", dtype, " dtype (convert to float32 first)");
}

std::optional<DType> dtype_of_descr(std::string_view descr) {
  if (descr.size() != 3) return std::nullopt;
  // '=' (native) is little-endian on every machine Ember runs on; one-byte
  // types may carry any byte-order mark.
  const bool one_byte = descr[2] == '1';
  if (descr[0] != '<' && descr[0] != '=' && !(one_byte && descr[0] == '|')) return std::nullopt;
  for (DType dt : {DType::f32, DType::f64, DType::f16, DType::i8, DType::u8, DType::i16, DType::i32, DType::i64,
                   DType::b8})
    if (descr.substr(1) == descr_of(dt).substr(1)) return dt;
  return std::nullopt;
}

// The header dict, e.g. {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }:
// exactly these three keys in any order, as numpy.lib.format writes them.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, std::string_view source) : text_(text), source_(source) {}

  void parse(std::string& descr, bool& fortran_order, Shape& shape) {
    bool seen_descr = false, seen_order = false, seen_shape = false;
    expect('{');
    while (!peek('}')) {
      const std::string key = string_literal();
      expect(':');
      if (key == "descr" && !seen_descr) {
        descr = string_literal();
        seen_descr = true;
      } else if (key == "fortran_order" && !seen_order) {
        fortran_order = boolean();
        seen_order = true;
      } else if (key == "shape" && !seen_shape) {
        shape = tuple();
        seen_shape = true;
      } else {
        fail(source_, "unexpected or repeated key '" + key + "' in the header");
      }
      if (!peek('}')) expect(',');
    }
    expect('}');
    skip_space();
    if (pos_ != text_.size()) fail(source_, "trailing characters after the header dict");
    if (!seen_descr || !seen_order || !seen_shape)
      fail(source_, "the header needs 'descr', 'fortran_order' and 'shape'");
  }

 private:
  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' || text_[pos_] == '\t')) ++pos_;
  }
  bool peek(char c) {
    skip_space();
    return pos_ < text_.size() && text_[pos_] == c;
  }
  void expect(char c) {
    if (!peek(c)) fail(source_, std::string("malformed header: expected '") + c + "' at offset " + std::to_string(pos_));
    ++pos_;
  }
  std::string string_literal() {
    skip_space();
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"'))
      fail(source_, "malformed header: expected a string at offset " + std::to_string(pos_));
    const char quote = text_[pos_++];
    const size_t end = text_.find(quote, pos_);
    if (end == std::string_view::npos) fail(source_, "malformed header: unterminated string");
    std::string s(text_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return s;
  }
  bool boolean() {
    skip_space();
    for (const auto& [word, value] : {std::pair{std::string_view("True"), true}, std::pair{std::string_view("False"), false}})
      if (text_.substr(pos_, word.size()) == word) {
        pos_ += word.size();
        return value;
      }
    fail(source_, "malformed header: 'fortran_order' must be True or False");
  }
  Shape tuple() {
    Shape shape;
    expect('(');
    while (!peek(')')) {
      skip_space();
      const size_t start = pos_;
      uint64_t value = 0;
      while (pos_ < text_.size() && std::isdigit(uint8_t(text_[pos_]))) {
        const uint64_t digit = uint64_t(text_[pos_++] - '0');
        if (value > (uint64_t(std::numeric_limits<int64_t>::max()) - digit) / 10)
          fail(source_, "a shape entry is too large");
        value = value * 10 + digit;
      }
      if (pos_ == start) fail(source_, "malformed header: shape entries must be non-negative integers");
      shape.push_back(int64_t(value));
      if (peek(')')) {
        // Python needs the comma in a one-element tuple: (3) is the number 3.
        if (shape.size() == 1 && text_[pos_ - 1] != ',')
          fail(source_, "malformed header: a one-element shape is written (n,)");
        break;
      }
      expect(',');
    }
    expect(')');
    return shape;
  }

  std::string_view text_, source_;
  size_t pos_ = 0;
};

}  // namespace

std::string to_npy_bytes(const Tensor& tensor) {
  EMBER_CHECK(tensor.defined(), ValueError, "save_npy: the tensor is undefined");
  std::string dict = "{'descr': '" + std::string(descr_of(tensor.dtype())) + "', 'fortran_order': False, 'shape': (";
  for (int64_t d = 0; d < tensor.dim(); ++d) dict += (d > 0 ? ", " : "") + std::to_string(tensor.size(d));
  dict += tensor.dim() == 1 ? ",), }" : "), }";
  // Padded with spaces and a '\n' so the data starts 64-aligned. Version 1's
  // u16 length holds up to 65535 bytes; longer headers (thousands of dims)
  // need version 2's u32, as numpy does.
  auto padded = [&](size_t prefix) { return (prefix + dict.size() + 1 + 63) / 64 * 64 - prefix; };
  const bool v2 = padded(kMagic.size() + 4) > 65535;
  const size_t prefix = kMagic.size() + (v2 ? 6 : 4);
  const size_t header_size = padded(prefix);
  dict.append(header_size - dict.size() - 1, ' ');
  dict += '\n';
  std::string out(kMagic);
  out += char(v2 ? 2 : 1);
  out += char(0);
  for (size_t i = 0; i < prefix - kMagic.size() - 2; ++i) out += char((header_size >> (8 * i)) & 0xff);
  out += dict;
  const Tensor c = tensor.contiguous();
  out.append(static_cast<const char*>(c.raw_data()), size_t(c.numel()) * c.itemsize());
  return out;
}

Tensor parse_npy(std::span<const uint8_t> bytes, std::string_view source) {
  const std::string_view all(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  if (!all.starts_with(kMagic)) fail(source, "it does not start with the magic string \\x93NUMPY");
  if (bytes.size() < kMagic.size() + 2) fail(source, "truncated before the version bytes");
  const uint8_t major = bytes[6], minor = bytes[7];
  if ((major != 1 && major != 2) || minor != 0)
    fail(source, "format version " + std::to_string(major) + "." + std::to_string(minor) +
                     " is not supported (1.0 and 2.0 are)");
  const size_t length_bytes = major == 1 ? 2 : 4;
  const size_t prefix = kMagic.size() + 2 + length_bytes;
  if (bytes.size() < prefix) fail(source, "truncated in the header length");
  uint64_t header_size = 0;
  for (size_t i = length_bytes; i-- > 0;) header_size = (header_size << 8) | bytes[8 + i];
  if (header_size > bytes.size() - prefix)
    fail(source, "header length " + std::to_string(header_size) + " runs past the end of the file (" +
                     std::to_string(bytes.size()) + " bytes)");
  std::string descr;
  bool fortran_order = false;
  Shape shape;
  HeaderParser(all.substr(prefix, size_t(header_size)), source).parse(descr, fortran_order, shape);
  const std::optional<DType> dtype = dtype_of_descr(descr);
  if (!dtype)
    fail(source, "dtype '" + descr +
                     "' is not supported (little-endian float16/32/64, int8/16/32/64, uint8 and bool are)");
  if (fortran_order) fail(source, "Fortran-order arrays are not supported (save with numpy.ascontiguousarray)");
  uint64_t nbytes = itemsize(*dtype);
  for (int64_t d : shape) {
    if (d != 0 && nbytes > std::numeric_limits<uint64_t>::max() / uint64_t(d))
      fail(source, "the shape's byte size overflows");
    nbytes *= uint64_t(d);
  }
  const uint64_t data_size = bytes.size() - prefix - header_size;
  if (nbytes != data_size)
    fail(source, "shape " + shape_str(shape) + " of " + descr + " needs " + std::to_string(nbytes) +
                     " data bytes, the file has " + std::to_string(data_size));
  const std::span<const uint8_t> data = bytes.subspan(size_t(prefix + header_size));
  if (*dtype == DType::b8)  // any byte but 0 and 1 would be an invalid C++ bool
    for (uint8_t b : data)
      if (b > 1) fail(source, "a bool element is " + std::to_string(b) + " (must be 0 or 1)");
  Tensor t = Tensor::empty(shape, *dtype);
  if (nbytes > 0) std::memcpy(t.raw_data(), data.data(), size_t(nbytes));
  return t;
}

void save_npy(const std::string& path, const Tensor& tensor) { write_file_atomic(path, to_npy_bytes(tensor)); }

Tensor load_npy(const std::string& path) {
  const std::vector<uint8_t> bytes = detail::read_file(path);
  return parse_npy(bytes, path);
}

}  // namespace ember::io
