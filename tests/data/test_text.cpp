// Plain text: lines, byte tokens and a character vocabulary.
#include "data/files.h"

using namespace ember;
using namespace ember::data;
using namespace ember::data::testing;

namespace {

TEST(Text, ReadsLinesAndText) {
  TempDir dir;
  write_file(dir / "a.txt", std::string("first\r\nsecond\n\nlast\n"));
  EXPECT_EQ(read_lines(dir / "a.txt"), (std::vector<std::string>{"first", "second", "", "last"}));
  write_file(dir / "b.txt", std::string("no newline"));
  EXPECT_EQ(read_lines(dir / "b.txt"), (std::vector<std::string>{"no newline"}));
  EXPECT_EQ(read_text(dir / "a.txt"), "first\r\nsecond\n\nlast\n");
  EXPECT_THROW(read_text(dir / "absent.txt"), FormatError);
}

TEST(Text, ByteTokensRoundTrip) {
  const std::string text = "h\xC3\xA9\xFF\n";  // "hé", a stray 0xFF byte, a newline
  const Tensor ids = encode_bytes(text);
  EXPECT_EQ(ids.dtype(), DType::i64);
  EXPECT_EQ(ids.to_vector<int64_t>(), (std::vector<int64_t>{104, 195, 169, 255, 10}));
  EXPECT_EQ(decode_bytes(ids), text);
  EXPECT_THROW(decode_bytes(tensor({1, 256})), IndexError);
  EXPECT_THROW(decode_bytes(tensor({1.f})), DTypeError);
}

TEST(Text, CharTokenizerVocabularyInByteOrder) {
  const CharTokenizer tok("hello world");
  EXPECT_EQ(tok.chars(), " dehlorw");
  EXPECT_EQ(tok.vocab_size(), 8);
  const Tensor ids = tok.encode("hold");
  EXPECT_EQ(ids.to_vector<int64_t>(), (std::vector<int64_t>{3, 5, 4, 1}));
  EXPECT_EQ(tok.decode(ids), "hold");
  try {
    tok.encode("hex");
    ADD_FAILURE() << "no error";
  } catch (const ValueError& e) {
    EXPECT_STREQ(e.what(), "CharTokenizer.encode: byte 0x78 at position 2 is not in the 8-character vocabulary");
  }
  EXPECT_THROW(tok.decode(tensor({8})), IndexError);
  EXPECT_THROW(tok.decode(tensor({-1})), IndexError);
}

TEST(Text, CharactersFeedANextTokenDataset) {
  const std::string text = "abcabcabca";
  const CharTokenizer tok(text);
  const NextTokenDataset blocks(tok.encode(text), 3);
  DataLoader loader(blocks, {.batch_size = 2});
  auto it = loader.begin();
  EXPECT_EQ(tok.decode((*it).input[1]), "abc");
  EXPECT_EQ(tok.decode((*it).target[1]), "bca");
  EXPECT_EQ((*it).input.shape(), (Shape{2, 3}));
}

}  // namespace
