#pragma once
// Plain text and character-level tokens for language-model experiments.
//
//   auto text = ember::data::read_text("tiny-shakespeare.txt");
//   ember::data::CharTokenizer tok(text);
//   ember::data::NextTokenDataset blocks(tok.encode(text), /*block_size=*/64);
//
// Characters are bytes: UTF-8 text round-trips through encode/decode, with
// each multi-byte character taking several tokens.
#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "ember/core/tensor.h"

namespace ember::data {

std::string read_text(const std::filesystem::path& path);
// Lines without their "\n" or "\r\n"; a final newline does not add an empty line.
std::vector<std::string> read_lines(const std::filesystem::path& path);

// Byte-level tokens: each byte is its own id in [0, 256), as i64 [n].
Tensor encode_bytes(std::string_view text);
std::string decode_bytes(const Tensor& ids);

// A vocabulary of the distinct bytes of a corpus, ids in byte order (as
// char-rnn builds it from sorted(set(text))).
class CharTokenizer {
 public:
  explicit CharTokenizer(std::string_view corpus);
  int64_t vocab_size() const { return int64_t(chars_.size()); }
  const std::string& chars() const { return chars_; }  // id -> character
  Tensor encode(std::string_view text) const;  // i64 [n]; ValueError on a character outside the vocabulary
  std::string decode(const Tensor& ids) const;  // IndexError on an id outside [0, vocab_size)

 private:
  std::string chars_;
  std::array<int64_t, 256> ids_;  // byte -> id, -1 if absent
};

}  // namespace ember::data
