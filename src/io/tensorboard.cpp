// TensorBoard event writer: Event protos (src/io/tensorboard.proto, compiled
// by protoc) in TFRecord framing. See docs/FORMATS.md for the facts followed.
#include "ember/io/tensorboard.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cfloat>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <vector>

#include "tensorboard.pb.h"

namespace ember::io {
namespace {

namespace tbp = ember::tensorboard;

constexpr std::array<uint32_t, 256> make_crc32c_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ ((c & 1) ? 0x82F63B78u : 0u);  // reflected Castagnoli
    table[i] = c;
  }
  return table;
}
constexpr std::array<uint32_t, 256> kCrc32cTable = make_crc32c_table();

std::span<const uint8_t> as_bytes(std::string_view s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string hostname() {
  std::array<char, 256> name{};
  if (::gethostname(name.data(), name.size() - 1) != 0) return "localhost";
  return name.data();
}

// TensorFlow's default histogram edges (tensorflow/core/lib/histogram):
// ±1e-12·1.1^k up to 1e20, a bucket at 0, and ±DBL_MAX at the ends.
const std::vector<double>& default_bucket_limits() {
  static const std::vector<double> limits = [] {
    std::vector<double> positive;
    for (double v = 1e-12; v < 1e20; v *= 1.1) positive.push_back(v);
    positive.push_back(DBL_MAX);
    std::vector<double> all;
    for (auto it = positive.rbegin(); it != positive.rend(); ++it) all.push_back(-*it);
    all.push_back(0.0);
    all.insert(all.end(), positive.begin(), positive.end());
    return all;
  }();
  return limits;
}

// Writes only the buckets that matter, as TensorFlow's Histogram::EncodeToProto
// does: a run of empty buckets collapses into one bucket ending where the run ends.
void encode_buckets(const std::vector<double>& limits, const std::vector<double>& counts, tbp::HistogramProto& proto) {
  for (size_t i = 0; i < counts.size();) {
    double end = limits[i], count = counts[i];
    ++i;
    if (count <= 0)
      for (; i < counts.size() && counts[i] <= 0; ++i) end = limits[i], count = counts[i];
    proto.add_bucket_limit(end);
    proto.add_bucket(count);
  }
}

tbp::HistogramProto make_histogram(std::string_view tag, const Tensor& values, const HistogramOptions& options) {
  EMBER_CHECK(values.defined() && values.numel() > 0, ValueError, "add_histogram: \"", tag,
              "\": the tensor is empty");
  EMBER_CHECK(options.bins >= 0, ValueError, "add_histogram: \"", tag, "\": bins must be >= 0, got ", options.bins);
  const std::vector<double> v = values.detach().to_vector<double>();
  tbp::HistogramProto proto;
  double lo = v[0], hi = v[0], sum = 0, sum_squares = 0;
  for (double x : v) {
    EMBER_CHECK(std::isfinite(x), ValueError, "add_histogram: \"", tag, "\" holds a non-finite value (", x,
                "); TensorBoard cannot bucket it");
    lo = std::min(lo, x);
    hi = std::max(hi, x);
    sum += x;
    sum_squares += x * x;
  }
  proto.set_min(lo);
  proto.set_max(hi);
  proto.set_num(double(v.size()));
  proto.set_sum(sum);
  proto.set_sum_squares(sum_squares);

  if (options.bins == 0) {
    const std::vector<double>& limits = default_bucket_limits();
    std::vector<double> counts(limits.size(), 0.0);
    // Bucket i holds [limits[i-1], limits[i]), as in TensorFlow.
    for (double x : v) counts[size_t(std::upper_bound(limits.begin(), limits.end(), x) - limits.begin())] += 1;
    encode_buckets(limits, counts, proto);
  } else {
    const auto n = size_t(options.bins);
    const double width = (hi - lo) / double(n);
    std::vector<double> limits(n), counts(n, 0.0);
    for (size_t i = 0; i < n; ++i) limits[i] = i + 1 == n ? hi : lo + width * double(i + 1);
    for (double x : v) {
      // Bucket i holds [limits[i-1], limits[i]), the last also max itself;
      // the division may round across an edge, so settle against the edges.
      if (width == 0) {  // every value equals min == max
        counts[0] += 1;
        continue;
      }
      size_t b = std::min(size_t((x - lo) / width), n - 1);
      if (b > 0 && x < limits[b - 1]) --b;
      else if (b + 1 < n && x >= limits[b]) ++b;
      counts[b] += 1;
    }
    for (size_t i = 0; i < n; ++i) {
      proto.add_bucket_limit(limits[i]);
      proto.add_bucket(counts[i]);
    }
  }
  return proto;
}

}  // namespace

uint32_t crc32c(std::span<const uint8_t> bytes) {
  uint32_t crc = 0xFFFFFFFFu;
  for (uint8_t b : bytes) crc = kCrc32cTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

uint32_t masked_crc32c(std::span<const uint8_t> bytes) {
  const uint32_t crc = crc32c(bytes);
  return ((crc >> 15) | (crc << 17)) + 0xA282EAD8u;
}

SummaryWriter::SummaryWriter(std::string logdir, SummaryWriterOptions options) : logdir_(std::move(logdir)) {
  std::error_code ec;
  std::filesystem::create_directories(logdir_, ec);
  EMBER_CHECK(!ec, FormatError, "SummaryWriter: cannot create the log directory ", logdir_, ": ", ec.message());
  static std::atomic<uint64_t> uid{0};
  std::array<char, 16> secs{};
  std::snprintf(secs.data(), secs.size(), "%010lld", static_cast<long long>(std::time(nullptr)));
  path_ = (std::filesystem::path(logdir_) / ("events.out.tfevents." + std::string(secs.data()) + "." + hostname() +
                                             "." + std::to_string(::getpid()) + "." + std::to_string(uid++) +
                                             options.filename_suffix))
              .string();
  file_ = std::fopen(path_.c_str(), "wbx");  // x: never clobber another writer's file
  EMBER_CHECK(file_ != nullptr, FormatError, "SummaryWriter: cannot create ", path_, ": ", std::strerror(errno));
  tbp::Event event;
  event.set_wall_time(now_seconds());
  event.set_file_version("brain.Event:2");
  event.mutable_source_metadata()->set_writer("ember");
  try {
    write_event(event.SerializeAsString());
  } catch (const Error&) {
    std::fclose(file_);  // the destructor will not run
    throw;
  }
}

SummaryWriter::~SummaryWriter() {
  try {
    close();
  } catch (const Error&) {
    // A destructor cannot report a failed final flush; close() can.
  }
}

void SummaryWriter::write_event(const std::string& serialized_event) {
  EMBER_CHECK(file_ != nullptr, ValueError, "SummaryWriter: ", path_, " is closed");
  std::array<uint8_t, 8> length{};
  for (size_t i = 0; i < 8; ++i) length[i] = uint8_t(uint64_t(serialized_event.size()) >> (8 * i));
  auto le32 = [](uint32_t v) {
    return std::array<uint8_t, 4>{uint8_t(v), uint8_t(v >> 8), uint8_t(v >> 16), uint8_t(v >> 24)};
  };
  const auto length_crc = le32(masked_crc32c(length));
  const auto data_crc = le32(masked_crc32c(as_bytes(serialized_event)));
  const bool ok = std::fwrite(length.data(), 1, 8, file_) == 8 && std::fwrite(length_crc.data(), 1, 4, file_) == 4 &&
                  std::fwrite(serialized_event.data(), 1, serialized_event.size(), file_) == serialized_event.size() &&
                  std::fwrite(data_crc.data(), 1, 4, file_) == 4 && std::fflush(file_) == 0;
  EMBER_CHECK(ok, FormatError, "SummaryWriter: writing ", path_, " failed: ", std::strerror(errno));
}

void SummaryWriter::add_scalar(std::string_view tag, double value, int64_t step) {
  tbp::Event event;
  event.set_wall_time(now_seconds());
  event.set_step(step);
  auto* v = event.mutable_summary()->add_value();
  v->set_tag(std::string(tag));
  v->set_simple_value(float(value));
  std::lock_guard lock(mutex_);
  write_event(event.SerializeAsString());
}

void SummaryWriter::add_histogram(std::string_view tag, const Tensor& values, int64_t step, HistogramOptions options) {
  tbp::Event event;
  event.set_wall_time(now_seconds());
  event.set_step(step);
  auto* v = event.mutable_summary()->add_value();
  v->set_tag(std::string(tag));
  *v->mutable_histo() = make_histogram(tag, values, options);
  std::lock_guard lock(mutex_);
  write_event(event.SerializeAsString());
}

void SummaryWriter::add_text(std::string_view tag, std::string_view text, int64_t step) {
  // As torch.utils.tensorboard's text(): a [1] DT_STRING tensor for the "text" plugin.
  tbp::Event event;
  event.set_wall_time(now_seconds());
  event.set_step(step);
  auto* v = event.mutable_summary()->add_value();
  v->set_tag(std::string(tag));
  v->mutable_metadata()->mutable_plugin_data()->set_plugin_name("text");
  auto* t = v->mutable_tensor();
  t->set_dtype(tbp::DT_STRING);
  t->mutable_tensor_shape()->add_dim()->set_size(1);
  t->add_string_val(std::string(text));
  std::lock_guard lock(mutex_);
  write_event(event.SerializeAsString());
}

void SummaryWriter::flush() {
  std::lock_guard lock(mutex_);
  EMBER_CHECK(file_ != nullptr, ValueError, "SummaryWriter: ", path_, " is closed");
  EMBER_CHECK(std::fflush(file_) == 0, FormatError, "SummaryWriter: flushing ", path_, " failed: ",
              std::strerror(errno));
}

void SummaryWriter::close() {
  std::lock_guard lock(mutex_);
  if (file_ == nullptr) return;
  const int rc = std::fclose(file_);
  file_ = nullptr;
  EMBER_CHECK(rc == 0, FormatError, "SummaryWriter: closing ", path_, " failed: ", std::strerror(errno));
}

}  // namespace ember::io
