#pragma once
// TensorBoard event files, written as PyTorch's torch.utils.tensorboard does.
//
//   io::SummaryWriter writer("runs/fashion-cnn");
//   writer.add_scalar("train/loss", loss, step);
//   writer.add_histogram("weights/fc.weight", fc.weight, epoch);
//   writer.add_text("config", "lr=0.01 batch=64", 0);
//
// One file per writer, logdir/events.out.tfevents.<unix secs>.<hostname>.<pid>.<n>:
// TFRecord framing (length, masked CRC32C, Event proto, masked CRC32C), first
// record file_version "brain.Event:2" (see docs/FORMATS.md). Every add_* is
// flushed to the OS at once, so a running TensorBoard sees it live.
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <span>
#include <string>
#include <string_view>

#include "ember/core/tensor.h"

namespace ember::io {

// CRC-32C (Castagnoli), and TFRecord's masked form of it.
uint32_t crc32c(std::span<const uint8_t> bytes);
uint32_t masked_crc32c(std::span<const uint8_t> bytes);

struct SummaryWriterOptions {
  std::string filename_suffix = "";  // appended to the event file's name
};

struct HistogramOptions {
  // 0: TensorFlow's default buckets (edges ±1e-12·1.1^k, as bins="tensorflow"
  // in PyTorch); n > 0: n equal-width buckets spanning [min, max].
  int64_t bins = 0;
};

class SummaryWriter {
 public:
  // Creates `logdir` (and parents) when missing and opens a new event file.
  explicit SummaryWriter(std::string logdir, SummaryWriterOptions options = {});
  ~SummaryWriter();
  SummaryWriter(const SummaryWriter&) = delete;
  SummaryWriter& operator=(const SummaryWriter&) = delete;

  // Stored as float32, as TensorBoard's simple_value is.
  void add_scalar(std::string_view tag, double value, int64_t step);
  // min, max, num, sum, sum_squares and bucket counts of every element of
  // `values` (any real dtype, any shape). ValueError on an empty tensor or
  // NaN/Inf elements (TensorBoard cannot bucket them).
  void add_histogram(std::string_view tag, const Tensor& values, int64_t step, HistogramOptions options = {});
  // Shown by TensorBoard's text plugin (markdown).
  void add_text(std::string_view tag, std::string_view text, int64_t step);

  void flush();
  // Flushes and closes the file; further add_* calls are ValueErrors.
  void close();

  const std::string& logdir() const { return logdir_; }
  const std::string& path() const { return path_; }  // the event file

 private:
  void write_event(const std::string& serialized_event);

  std::string logdir_;
  std::string path_;
  std::FILE* file_ = nullptr;
  std::mutex mutex_;
};

}  // namespace ember::io
