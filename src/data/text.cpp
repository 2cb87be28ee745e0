#include "ember/data/text.h"

#include <fstream>
#include <sstream>

#include "ember/ops/creation.h"

namespace ember::data {

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  EMBER_CHECK(in.good(), FormatError, path.string(), ": cannot open for reading");
  std::ostringstream text;
  text << in.rdbuf();
  EMBER_CHECK(!in.bad(), FormatError, path.string(), ": read failed");
  return text.str();
}

std::vector<std::string> read_lines(const std::filesystem::path& path) {
  const std::string text = read_text(path);
  std::vector<std::string> lines;
  for (size_t pos = 0; pos < text.size();) {
    const size_t newline = std::min(text.find('\n', pos), text.size());
    size_t end = newline;
    if (end > pos && text[end - 1] == '\r') --end;
    lines.emplace_back(text, pos, end - pos);
    pos = newline + 1;
  }
  return lines;
}

Tensor encode_bytes(std::string_view text) {
  std::vector<int64_t> ids(text.begin(), text.end());
  for (auto& id : ids) id = uint8_t(id);  // char may be signed
  return tensor(ids, {int64_t(ids.size())});
}

// Token ids as a flat vector, checked to be integers.
static std::vector<int64_t> id_values(const Tensor& ids, const char* who) {
  EMBER_CHECK(ids.defined(), ValueError, who, ": ids are undefined");
  EMBER_CHECK(!is_floating(ids.dtype()) && ids.dtype() != DType::b8, DTypeError, who,
              ": ids must be integers, got ", ids.dtype());
  return ids.to(DType::i64).to_vector<int64_t>();
}

std::string decode_bytes(const Tensor& ids) {
  std::string text;
  for (const int64_t id : id_values(ids, "decode_bytes")) {
    EMBER_CHECK(id >= 0 && id < 256, IndexError, "decode_bytes: id ", id, " is not a byte (0..255)");
    text += char(uint8_t(id));
  }
  return text;
}

CharTokenizer::CharTokenizer(std::string_view corpus) {
  ids_.fill(-1);
  std::array<bool, 256> seen{};
  for (const char c : corpus) seen[uint8_t(c)] = true;
  for (int b = 0; b < 256; ++b) {
    if (!seen[size_t(b)]) continue;
    ids_[size_t(b)] = int64_t(chars_.size());
    chars_ += char(uint8_t(b));
  }
}

Tensor CharTokenizer::encode(std::string_view text) const {
  std::vector<int64_t> ids;
  ids.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const int64_t id = ids_[uint8_t(text[i])];
    EMBER_CHECK(id >= 0, ValueError, "CharTokenizer.encode: byte 0x", std::hex, int(uint8_t(text[i])), std::dec,
                " at position ", i, " is not in the ", vocab_size(), "-character vocabulary");
    ids.push_back(id);
  }
  return tensor(ids, {int64_t(ids.size())});
}

std::string CharTokenizer::decode(const Tensor& ids) const {
  std::string text;
  for (const int64_t id : id_values(ids, "CharTokenizer.decode")) {
    EMBER_CHECK(id >= 0 && id < vocab_size(), IndexError, "CharTokenizer.decode: id ", id,
                " is out of range for vocabulary size ", vocab_size());
    text += chars_[size_t(id)];
  }
  return text;
}

}  // namespace ember::data
