#include "ember/data/csv.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

#include "ember/ops/creation.h"

namespace ember::data {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Splits one line at `delimiter`, honouring double-quoted fields ("" is a quote).
std::vector<std::string> split_fields(std::string_view line, char delimiter) {
  std::vector<std::string> fields;
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == delimiter) {
      fields.emplace_back(trim(field));
      field.clear();
    } else {
      field += c;
    }
  }
  fields.emplace_back(trim(field));
  return fields;
}

bool is_missing(std::string_view field) {
  static constexpr std::string_view kMissing[] = {"", "NA", "N/A", "NaN", "nan", "null"};
  return std::find(std::begin(kMissing), std::end(kMissing), field) != std::end(kMissing);
}

std::optional<double> parse_number(std::string_view field) {
  if (field.size() > 1 && field.front() == '+') field.remove_prefix(1);
  double value = 0;
  const auto [end, error] = std::from_chars(field.data(), field.data() + field.size(), value);
  if (error != std::errc() || end != field.data() + field.size()) return std::nullopt;
  return value;
}

std::string join(const std::vector<std::string>& names) {
  std::ostringstream out;
  for (size_t i = 0; i < names.size(); ++i) out << (i ? ", " : "") << names[i];
  return out.str();
}

}  // namespace

Tensor parse_csv(std::string_view text, const CsvOptions& options, std::string_view source) {
  EMBER_CHECK(options.columns.empty() || options.column_indices.empty(), ValueError, "read_csv: ", source,
              ": give columns by name or by index, not both");
  EMBER_CHECK(options.columns.empty() || options.header, ValueError, "read_csv: ", source,
              ": selecting columns by name needs header = true");
  EMBER_CHECK(options.delimiter != '"' && options.delimiter != '\n', ValueError, "read_csv: ", source,
              ": the delimiter cannot be a quote or a newline");

  std::vector<std::string> names;
  std::vector<size_t> selected;
  size_t num_fields = 0;
  std::vector<double> values;
  int64_t rows = 0;
  size_t line_number = 0;
  bool first = true;
  for (size_t pos = 0; pos < text.size();) {
    const size_t newline = std::min(text.find('\n', pos), text.size());
    const std::string_view line = text.substr(pos, newline - pos);
    pos = newline + 1;
    ++line_number;
    if (trim(line).empty()) continue;  // blank lines are skipped, as pandas does
    std::vector<std::string> fields = split_fields(line, options.delimiter);
    if (first) {
      first = false;
      num_fields = fields.size();
      if (options.header) names = fields;
      for (const auto& name : options.columns) {
        const auto it = std::find(names.begin(), names.end(), name);
        EMBER_CHECK(it != names.end(), ValueError, "read_csv: ", source, ": no column \"", name,
                    "\" in the header (", join(names), ")");
        selected.push_back(size_t(it - names.begin()));
      }
      for (const int64_t index : options.column_indices) {
        EMBER_CHECK(index >= 0 && size_t(index) < num_fields, IndexError, "read_csv: ", source, ": column index ",
                    index, " is out of range for ", num_fields, " columns");
        selected.push_back(size_t(index));
      }
      if (options.columns.empty() && options.column_indices.empty()) {
        for (size_t c = 0; c < num_fields; ++c) selected.push_back(c);
      }
      if (options.header) continue;
    }
    EMBER_CHECK(fields.size() == num_fields, FormatError, source, ":", line_number, ": ", fields.size(),
                " fields, expected ", num_fields);
    const size_t row_start = values.size();
    bool skip = false;
    for (const size_t c : selected) {
      const std::string& field = fields[c];
      const std::string column = names.empty() ? std::to_string(c) : "\"" + names[c] + "\"";
      if (is_missing(field)) {
        EMBER_CHECK(options.missing != Missing::error, FormatError, source, ":", line_number, ": column ", column,
                    " is missing (\"", field, "\"); set missing to skip_row or fill to accept it");
        if (options.missing == Missing::skip_row) {
          skip = true;
          break;
        }
        values.push_back(options.fill_value);
        continue;
      }
      const auto value = parse_number(field);
      EMBER_CHECK(value.has_value(), FormatError, source, ":", line_number, ": column ", column, ": \"", field,
                  "\" is not a number");
      values.push_back(*value);
    }
    if (skip) {
      values.resize(row_start);
    } else {
      ++rows;
    }
  }
  return tensor(values, {rows, int64_t(selected.size())}, options.dtype);
}

Tensor read_csv(const std::filesystem::path& path, const CsvOptions& options) {
  std::ifstream in(path, std::ios::binary);
  EMBER_CHECK(in.good(), FormatError, path.string(), ": cannot open for reading");
  std::ostringstream text;
  text << in.rdbuf();
  EMBER_CHECK(!in.bad(), FormatError, path.string(), ": read failed");
  return parse_csv(text.str(), options, path.string());
}

}  // namespace ember::data
