// Training checkpoints as one safetensors file, and the atomic file write
// that every Ember writer of user files goes through.
#include "ember/io/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <set>

namespace ember::io {
namespace {

[[noreturn]] void fail_io(const std::string& path, const std::string& what) {
  EMBER_THROW(FormatError, path, ": ", what, ": ", std::strerror(errno));
}

void write_all(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_io(path, "write failed");
    bytes.remove_prefix(size_t(n));
  }
}

constexpr std::string_view kFormatName = "ember.checkpoint";
// Top-level __metadata__ keys; no section may take these names.
const std::set<std::string, std::less<>> kReservedNames = {"format", "format_version", "epoch", "step",
                                                           "sections", "rng", "info"};

void check_name(const std::string& name, std::string_view what) {
  EMBER_CHECK(!name.empty() && name.find_first_of(".,") == std::string::npos, ValueError,
              "save_checkpoint: ", what, " name \"", name, "\" must be non-empty without '.' or ','");
  EMBER_CHECK(!kReservedNames.contains(name), ValueError, "save_checkpoint: ", what, " name \"", name,
              "\" is reserved");
}

const std::string& check_key(const std::string& key, const std::string& section) {
  EMBER_CHECK(!key.empty(), ValueError, "save_checkpoint: an empty key in section \"", section, "\"");
  return key;
}

template <class Int>
Int parse_int(const Metadata& meta, const std::string& key, std::string_view source) {
  const auto it = meta.find(key);
  EMBER_CHECK(it != meta.end(), FormatError, source, ": checkpoint lacks the __metadata__ key \"", key, "\"");
  const std::string& text = it->second;
  Int value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  EMBER_CHECK(ec == std::errc() && end == text.data() + text.size() && !text.empty(), FormatError, source,
              ": checkpoint __metadata__ key \"", key, "\" is \"", text, "\", not an integer");
  return value;
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> parts;
  if (text.empty()) return parts;
  size_t start = 0;
  for (size_t comma; (comma = text.find(',', start)) != std::string::npos; start = comma + 1)
    parts.push_back(text.substr(start, comma - start));
  parts.push_back(text.substr(start));
  return parts;
}

}  // namespace

void write_file_atomic(const std::string& path, std::string_view bytes) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  // Unique per process and call, so concurrent writers never share a temporary;
  // a leftover from a killed writer has another name and is simply ignored.
  static std::atomic<uint64_t> counter{0};
  const std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) fail_io(path, "cannot create the temporary file " + tmp);
  try {
    write_all(fd, bytes, tmp);
    if (::fsync(fd) != 0) fail_io(tmp, "fsync failed");
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  if (::close(fd) != 0) {
    ::unlink(tmp.c_str());
    fail_io(tmp, "close failed");
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    fail_io(path, "cannot rename " + tmp + " over it");
  }
  // The rename itself is durable only once the directory entry is synced.
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) fail_io(dir.string(), "cannot open the directory to fsync it");
  const int rc = ::fsync(dir_fd);
  ::close(dir_fd);
  if (rc != 0) fail_io(dir.string(), "directory fsync failed");
}

const CheckpointSection& Checkpoint::section(const std::string& name) const {
  const auto it = sections.find(name);
  EMBER_CHECK(it != sections.end(), FormatError, source.empty() ? "<checkpoint>" : source,
              ": checkpoint has no section \"", name, "\"");
  return it->second;
}

void Checkpoint::restore_default_rng() const {
  const auto it = rng.find("default");
  EMBER_CHECK(it != rng.end(), FormatError, source.empty() ? "<checkpoint>" : source,
              ": checkpoint holds no RNG state \"default\"");
  default_generator().set_state(it->second);
}

SafetensorsContents checkpoint_to_safetensors(const Checkpoint& checkpoint) {
  SafetensorsContents out;
  Metadata& meta = out.metadata;
  meta["format"] = kFormatName;
  meta["format_version"] = std::to_string(Checkpoint::kFormatVersion);
  meta["epoch"] = std::to_string(checkpoint.epoch);
  meta["step"] = std::to_string(checkpoint.step);
  std::string names;
  for (const auto& [name, section] : checkpoint.sections) {
    check_name(name, "section");
    names += (names.empty() ? "" : ",") + name;
    for (const auto& [key, t] : section.tensors) out.tensors.emplace(name + "." + check_key(key, name), t);
    for (const auto& [key, value] : section.values) meta.emplace(name + "." + check_key(key, name), value);
  }
  meta["sections"] = names;
  for (const auto& [name, state] : checkpoint.rng) {
    EMBER_CHECK(!name.empty() && name.find('.') == std::string::npos, ValueError,
                "save_checkpoint: RNG name \"", name, "\" must be non-empty without '.'");
    // Decimal strings: a JSON number would lose the top bits of a 64-bit seed.
    meta["rng." + name + ".seed"] = std::to_string(state.seed);
    meta["rng." + name + ".offset"] = std::to_string(state.offset);
  }
  for (const auto& [key, value] : checkpoint.info) meta["info." + check_key(key, "info")] = value;
  return out;
}

Checkpoint checkpoint_from_safetensors(SafetensorsContents contents, std::string_view source,
                                       const CheckpointLoadOptions& options) {
  const Metadata& meta = contents.metadata;
  const auto format = meta.find("format");
  EMBER_CHECK(format != meta.end() && format->second == kFormatName, FormatError, source,
              ": not an Ember checkpoint (__metadata__ key \"format\" is ",
              format == meta.end() ? std::string("missing") : "\"" + format->second + "\"", ", expected \"",
              kFormatName, "\")");
  const auto version = parse_int<int64_t>(meta, "format_version", source);
  EMBER_CHECK(version >= 1 && version <= Checkpoint::kFormatVersion, FormatError, source,
              ": checkpoint format_version ", version, " is not supported (this Ember reads 1 to ",
              Checkpoint::kFormatVersion, ")");

  Checkpoint ckpt;
  ckpt.source = std::string(source);
  ckpt.epoch = parse_int<int64_t>(meta, "epoch", source);
  ckpt.step = parse_int<int64_t>(meta, "step", source);
  const auto listed = meta.find("sections");
  EMBER_CHECK(listed != meta.end(), FormatError, source, ": checkpoint lacks the __metadata__ key \"sections\"");
  for (const std::string& name : split_commas(listed->second)) {
    EMBER_CHECK(!name.empty() && !kReservedNames.contains(name) && !ckpt.sections.contains(name), FormatError,
                source, ": checkpoint __metadata__ key \"sections\" is \"", listed->second,
                "\", not a list of distinct section names");
    ckpt.sections[name];
  }
  // Everything is "<prefix>.<rest>"; the prefix says where it belongs.
  auto split = [&](const std::string& key, std::string_view what) {
    const size_t dot = key.find('.');
    EMBER_CHECK(dot != std::string::npos && dot > 0 && dot + 1 < key.size(), FormatError, source, ": checkpoint ",
                what, " \"", key, "\" is not of the form <section>.<name>");
    return std::pair{key.substr(0, dot), key.substr(dot + 1)};
  };
  for (auto& [key, t] : contents.tensors) {
    auto [prefix, rest] = split(key, "tensor");
    const auto section = ckpt.sections.find(prefix);
    EMBER_CHECK(section != ckpt.sections.end(), FormatError, source, ": checkpoint tensor \"", key,
                "\" belongs to no section listed in __metadata__ \"sections\" (", listed->second, ")");
    section->second.tensors.emplace(rest, std::move(t));
  }
  for (const auto& [key, value] : meta) {
    if (kReservedNames.contains(key)) continue;
    auto [prefix, rest] = split(key, "__metadata__ key");
    if (prefix == "info") {
      ckpt.info[rest] = value;
    } else if (prefix == "rng") {
      const size_t dot = rest.rfind('.');
      const std::string name = dot == std::string::npos ? "" : rest.substr(0, dot);
      const std::string field = dot == std::string::npos ? rest : rest.substr(dot + 1);
      EMBER_CHECK(!name.empty() && (field == "seed" || field == "offset"), FormatError, source,
                  ": checkpoint __metadata__ key \"", key, "\" is not rng.<name>.seed or rng.<name>.offset");
      if (ckpt.rng.contains(name)) continue;  // read with its sibling
      ckpt.rng[name] = {.seed = parse_int<uint64_t>(meta, "rng." + name + ".seed", source),
                        .offset = parse_int<uint64_t>(meta, "rng." + name + ".offset", source)};
    } else {
      const auto section = ckpt.sections.find(prefix);
      EMBER_CHECK(section != ckpt.sections.end(), FormatError, source, ": checkpoint __metadata__ key \"", key,
                  "\" belongs to no section listed in \"sections\" (", listed->second, ")");
      section->second.values[rest] = value;
    }
  }
  for (const std::string& name : options.required_sections)
    EMBER_CHECK(ckpt.sections.contains(name), FormatError, source, ": checkpoint has no section \"", name,
                "\" (it holds: ", listed->second, ")");
  return ckpt;
}

void save_checkpoint(const std::string& path, const Checkpoint& checkpoint) {
  const SafetensorsContents contents = checkpoint_to_safetensors(checkpoint);
  write_file_atomic(path, to_safetensors_bytes(contents.tensors, contents.metadata));
}

Checkpoint load_checkpoint(const std::string& path, const CheckpointLoadOptions& options) {
  return checkpoint_from_safetensors(load_safetensors_file(path), path, options);
}

}  // namespace ember::io
