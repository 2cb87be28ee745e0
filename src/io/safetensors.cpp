// safetensors reader and writer. The reader follows the checks of the
// reference implementation (huggingface/safetensors tensor.rs) in the same
// order, plus the spec rules it leaves loose (duplicate keys, leading '{');
// see docs/FORMATS.md.
#include "ember/io/safetensors.h"

#include "ember/io/checkpoint.h"  // write_file_atomic
#include "read_file.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

namespace ember::io {
namespace {

constexpr uint64_t kMaxHeaderSize = 100'000'000;  // the reference reader's MAX_HEADER_SIZE

using Json = nlohmann::json;

[[noreturn]] void fail(std::string_view source, const std::string& what) {
  EMBER_THROW(FormatError, source, ": not a valid safetensors file: ", what);
}

// Multiplies with an overflow check (sizes come from the file).
bool checked_mul(uint64_t a, uint64_t b, uint64_t& out) {
  if (a != 0 && b > std::numeric_limits<uint64_t>::max() / a) return false;
  out = a * b;
  return true;
}

// nlohmann's parser accepts duplicate keys silently (keeping the last); the
// spec forbids them, so a callback rejects them while parsing.
Json parse_header(std::string_view text, std::string_view source) {
  std::vector<std::set<std::string>> seen;  // keys per open object
  std::string duplicate;
  auto callback = [&](int /*depth*/, Json::parse_event_t event, Json& parsed) {
    if (event == Json::parse_event_t::object_start) seen.emplace_back();
    else if (event == Json::parse_event_t::object_end) seen.pop_back();
    else if (event == Json::parse_event_t::key && !seen.empty()) {
      const auto& key = parsed.get_ref<const std::string&>();
      if (!seen.back().insert(key).second && duplicate.empty()) duplicate = key;
    }
    return true;
  };
  Json header = Json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/false);
  if (header.is_discarded()) fail(source, "the header is not valid JSON");
  if (!duplicate.empty()) fail(source, "the header has the key \"" + duplicate + "\" twice");
  return header;
}

struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin, end;
};

Entry parse_entry(const std::string& name, const Json& info, std::string_view source) {
  auto bad = [&](const std::string& what) { fail(source, "tensor \"" + name + "\": " + what); };
  if (!info.is_object()) bad("entry is not an object");
  if (!info.contains("dtype") || !info["dtype"].is_string()) bad("missing string \"dtype\"");
  if (!info.contains("shape") || !info["shape"].is_array()) bad("missing array \"shape\"");
  if (!info.contains("data_offsets") || !info["data_offsets"].is_array() || info["data_offsets"].size() != 2)
    bad("missing \"data_offsets\" [begin, end]");
  Entry e{name, DType::f32, {}, 0, 0};
  try {
    e.dtype = dtype_from_safetensors_name(info["dtype"].get<std::string>());
  } catch (const FormatError& err) {
    bad(err.what());
  }
  for (const auto& d : info["shape"]) {
    if (!d.is_number_unsigned()) bad("shape entries must be non-negative integers");
    const uint64_t v = d.get<uint64_t>();
    if (v > uint64_t(std::numeric_limits<int64_t>::max())) bad("shape entry too large");
    e.shape.push_back(int64_t(v));
  }
  for (int k = 0; k < 2; ++k)
    if (!info["data_offsets"][k].is_number_unsigned()) bad("data_offsets must be non-negative integers");
  e.begin = info["data_offsets"][0].get<uint64_t>();
  e.end = info["data_offsets"][1].get<uint64_t>();
  return e;
}

void append_le(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(char((v >> (8 * i)) & 0xff));
}

}  // namespace

SafetensorsContents parse_safetensors(std::span<const uint8_t> bytes, std::string_view source) {
  if (bytes.size() < 8) fail(source, "file is " + std::to_string(bytes.size()) + " bytes, shorter than the 8-byte header length");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[size_t(i)];
  if (n > kMaxHeaderSize) fail(source, "header length " + std::to_string(n) + " exceeds the 100 MB limit");
  if (n > bytes.size() - 8)
    fail(source, "header length " + std::to_string(n) + " runs past the end of the file (" +
                     std::to_string(bytes.size()) + " bytes)");
  const std::string_view text(reinterpret_cast<const char*>(bytes.data() + 8), size_t(n));
  if (text.empty() || text.front() != '{') fail(source, "the header does not start with '{'");
  const Json header = parse_header(text, source);
  if (!header.is_object()) fail(source, "the header is not a JSON object");

  SafetensorsContents result;
  std::vector<Entry> entries;
  for (const auto& [name, info] : header.items()) {
    if (name == "__metadata__") {
      if (!info.is_object()) fail(source, "__metadata__ is not an object");
      for (const auto& [k, v] : info.items()) {
        if (!v.is_string()) fail(source, "__metadata__ value for \"" + k + "\" is not a string");
        result.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    entries.push_back(parse_entry(name, info, source));
  }
  // No gaps, no overlaps: sorted by offsets, each tensor starts where the last ended.
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t cursor = 0;
  const uint64_t buffer_size = bytes.size() - 8 - n;
  for (const Entry& e : entries) {
    if (e.begin != cursor || e.end < e.begin)
      fail(source, "tensor \"" + e.name + "\" has data_offsets [" + std::to_string(e.begin) + ", " +
                       std::to_string(e.end) + "] (expected to begin at " + std::to_string(cursor) + ")");
    uint64_t numel = 1, nbytes = 0;
    for (int64_t d : e.shape)
      if (!checked_mul(numel, uint64_t(d), numel)) fail(source, "tensor \"" + e.name + "\": element count overflows");
    if (!checked_mul(numel, itemsize(e.dtype), nbytes)) fail(source, "tensor \"" + e.name + "\": byte size overflows");
    if (e.end - e.begin != nbytes)
      fail(source, "tensor \"" + e.name + "\" of shape " + shape_str(e.shape) + " and dtype " +
                       std::string(dtype_safetensors_name(e.dtype)) + " needs " + std::to_string(nbytes) +
                       " bytes but data_offsets give " + std::to_string(e.end - e.begin));
    if (e.end > buffer_size)
      fail(source, "tensor \"" + e.name + "\" ends at byte " + std::to_string(e.end) + " of a " +
                       std::to_string(buffer_size) + "-byte data buffer (truncated file?)");
    cursor = e.end;
  }
  if (cursor != buffer_size)
    fail(source, "the data buffer is " + std::to_string(buffer_size) + " bytes but the tensors cover " +
                     std::to_string(cursor));
  const uint8_t* data = bytes.data() + 8 + n;
  for (const Entry& e : entries) {
    Tensor t = Tensor::empty(e.shape, e.dtype);
    if (e.end > e.begin) std::memcpy(t.raw_data(), data + e.begin, size_t(e.end - e.begin));
    result.tensors.emplace(e.name, std::move(t));
  }
  return result;
}

std::string to_safetensors_bytes(const TensorMap& tensors, const Metadata& metadata) {
  std::vector<std::pair<std::string, Tensor>> order(tensors.begin(), tensors.end());
  std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    return a.second.itemsize() > b.second.itemsize();  // then by name: the map is already sorted
  });
  // nlohmann's ordered_json keeps insertion order: __metadata__ first, then the tensors.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& [name, t] : order) {
    EMBER_CHECK(t.defined(), ValueError, "save_safetensors: tensor \"", name, "\" is undefined");
    const uint64_t nbytes = uint64_t(t.numel()) * t.itemsize();
    header[name] = {{"dtype", std::string(dtype_safetensors_name(t.dtype()))},
                    {"shape", t.sizes()},
                    {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::type_error& e) {  // JSON text must be UTF-8
    EMBER_THROW(ValueError, "save_safetensors: tensor names and metadata must be UTF-8 text (", e.what(), ")");
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  std::string out;
  out.reserve(8 + text.size() + offset);
  append_le(out, text.size());
  out += text;
  for (const auto& [name, t] : order) {
    const Tensor c = t.contiguous();
    out.append(static_cast<const char*>(c.raw_data()), size_t(c.numel()) * c.itemsize());
  }
  return out;
}

void save_safetensors(const std::string& path, const TensorMap& tensors, const Metadata& metadata) {
  write_file_atomic(path, to_safetensors_bytes(tensors, metadata));
}

SafetensorsContents load_safetensors_file(const std::string& path) {
  const std::vector<uint8_t> bytes = detail::read_file(path);
  return parse_safetensors(bytes, path);
}

}  // namespace ember::io
