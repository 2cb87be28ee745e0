// CSV: numeric tables with headers, column selection, quoting, the three
// missing-value policies, and errors that point at the line and column.
#include "data/files.h"

using namespace ember;
using namespace ember::data;
using namespace ember::data::testing;

namespace {

const char* kTable =
    "id,height,\"weight, kg\",name\n"
    "1, 1.5 ,60,a\n"
    "\n"
    "2,-2.25e1,\"70\",b\r\n"
    "3,+3,80,c\n";

std::string error_of(std::string_view text, const CsvOptions& options) {
  try {
    parse_csv(text, options, "t.csv");
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(Csv, SelectsColumnsByNameOrIndex) {
  const Tensor t = parse_csv(kTable, {.columns = {"weight, kg", "id"}});
  EXPECT_EQ(t.shape(), (Shape{3, 2}));
  EXPECT_EQ(t.dtype(), DType::f32);
  EXPECT_EQ(t.to_vector<float>(), (std::vector<float>{60, 1, 70, 2, 80, 3}));
  const Tensor by_index = parse_csv(kTable, {.column_indices = {1}, .dtype = DType::f64});
  EXPECT_EQ(by_index.to_vector<double>(), (std::vector<double>{1.5, -22.5, 3}));
  // Every column: the text column "name" is not a number.
  EXPECT_EQ(error_of(kTable, {}), "t.csv:2: column \"name\": \"a\" is not a number");
}

TEST(Csv, NoHeaderAndOtherDelimiters) {
  const Tensor t = parse_csv("1;2\n3;4\n", {.delimiter = ';', .header = false, .dtype = DType::i64});
  EXPECT_EQ(t.to_vector<int64_t>(), (std::vector<int64_t>{1, 2, 3, 4}));
  EXPECT_EQ(error_of("1;x\n", {.delimiter = ';', .header = false}), "t.csv:1: column 1: \"x\" is not a number");
  EXPECT_EQ(parse_csv("a,b\n", {}).shape(), (Shape{0, 2}));
}

TEST(Csv, MissingValuePolicies) {
  const char* text = "a,b\n1,2\n3,\n NA ,6\n7,8\n";
  EXPECT_EQ(error_of(text, {}),
            "t.csv:3: column \"b\" is missing (\"\"); set missing to skip_row or fill to accept it");
  EXPECT_EQ(parse_csv(text, {.missing = Missing::skip_row}).to_vector<float>(), (std::vector<float>{1, 2, 7, 8}));
  EXPECT_EQ(parse_csv(text, {.missing = Missing::fill, .fill_value = -1}).to_vector<float>(),
            (std::vector<float>{1, 2, 3, -1, -1, 6, 7, 8}));
  // Only the selected columns are looked at.
  EXPECT_EQ(parse_csv(text, {.columns = {"b"}, .missing = Missing::skip_row}).to_vector<float>(),
            (std::vector<float>{2, 6, 8}));
}

TEST(Csv, MalformedInputIsAnError) {
  EXPECT_EQ(error_of("a,b\n1,2\n3\n", {}), "t.csv:3: 1 fields, expected 2");
  EXPECT_EQ(error_of("a,b\n1,2x\n", {}), "t.csv:2: column \"b\": \"2x\" is not a number");
  EXPECT_EQ(error_of("a,b\n1,2\n", {.columns = {"c"}}), "read_csv: t.csv: no column \"c\" in the header (a, b)");
  EXPECT_THROW(parse_csv("a,b\n", {.column_indices = {2}}), IndexError);
  EXPECT_THROW(parse_csv("a,b\n", {.columns = {"a"}, .column_indices = {0}}), ValueError);
  EXPECT_THROW(parse_csv("1,2\n", {.header = false, .columns = {"a"}}), ValueError);
  EXPECT_THROW(parse_csv("1,2\n", {.delimiter = '"'}), ValueError);
}

TEST(Csv, ReadsFiles) {
  TempDir dir;
  write_file(dir / "t.csv", std::string(kTable));
  EXPECT_EQ(read_csv(dir / "t.csv", {.columns = {"id"}}).to_vector<float>(), (std::vector<float>{1, 2, 3}));
  try {
    read_csv(dir / "t.csv");
    ADD_FAILURE() << "no error";
  } catch (const FormatError& e) {
    EXPECT_EQ(std::string(e.what()), (dir / "t.csv") + ":2: column \"name\": \"a\" is not a number");
  }
  EXPECT_THROW(read_csv(dir / "absent.csv"), FormatError);
}

}  // namespace
