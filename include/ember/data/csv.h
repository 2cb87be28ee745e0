#pragma once
// Numeric CSV files -> a 2-d tensor [rows, columns].
//
//   auto table = ember::data::read_csv("iris.csv", {.columns = {"sepal_length", "petal_width"},
//                                                    .missing = ember::data::Missing::fill,
//                                                    .fill_value = 0});
//
// Fields are numbers (surrounding spaces and double quotes are ignored). A
// field that is empty or one of NA, N/A, NaN, nan, null is missing, and
// `missing` decides what happens. Anything else that is not a number is a
// FormatError naming the file, line and column.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "ember/core/tensor.h"

namespace ember::data {

enum class Missing { error, skip_row, fill };

struct CsvOptions {
  char delimiter = ',';
  bool header = true;                    // the first line names the columns
  std::vector<std::string> columns = {};  // keep these, by header name, in this order
  std::vector<int64_t> column_indices = {};  // or these, by 0-based position
  Missing missing = Missing::error;
  double fill_value = 0;  // with Missing::fill
  DType dtype = DType::f32;
};

Tensor read_csv(const std::filesystem::path& path, const CsvOptions& options = {});
// The same over text in memory; `source` names it in error messages.
Tensor parse_csv(std::string_view text, const CsvOptions& options = {}, std::string_view source = "<text>");

}  // namespace ember::data
