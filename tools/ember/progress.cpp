#include "progress.h"

#include <cmath>
#include <cstdio>
#include <ostream>

#include "format.h"

namespace ember::cli {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

ProgressBar::ProgressBar(std::ostream& out, bool tty, std::string label, int64_t total_batches)
    : out_(out), tty_(tty), label_(std::move(label)), total_(total_batches), start_(Clock::now()) {}

std::string ProgressBar::line(int64_t batches, int64_t images, double running_loss, double seconds) const {
  // Rates count only the batches run since the bar started, so a resumed
  // epoch does not report the skipped ones as instantly done.
  const double done = double(batches - first_batch_), done_images = double(images - first_images_);
  const double batch_rate = seconds > 0 ? done / seconds : 0, image_rate = seconds > 0 ? done_images / seconds : 0;
  const double eta = batch_rate > 0 ? double(total_ - batches) / batch_rate : 0;
  constexpr int kWidth = 24;
  const int filled = total_ > 0 ? int(kWidth * batches / total_) : kWidth;
  char buffer[256];
  std::snprintf(buffer, sizeof buffer, "%s [%s%s] %lld/%lld  %.1f batches/s  %.0f images/s  loss %.4f  ETA %s",
                label_.c_str(), std::string(size_t(filled), '=').c_str(),
                std::string(size_t(kWidth - filled), ' ').c_str(), (long long)batches, (long long)total_, batch_rate,
                image_rate, running_loss, format_duration(eta).c_str());
  return buffer;
}

void ProgressBar::update(int64_t batches, int64_t images, double running_loss) {
  if (first_batch_ < 0) {
    // The first update marks where timing starts: the first batch pays for
    // thread start-up and primitive creation.
    first_batch_ = batches;
    first_images_ = images;
    start_ = last_draw_ = Clock::now();
    next_plain_ = batches;
  }
  const double seconds = seconds_since(start_);
  if (tty_) {
    if (batches < total_ && seconds_since(last_draw_) < 0.1) return;
    last_draw_ = Clock::now();
    const std::string text = line(batches, images, running_loss, seconds);
    // Pad with spaces so a shorter line fully overwrites the previous one.
    out_ << '\r' << text << std::string(drawn_width_ > text.size() ? drawn_width_ - text.size() : 0, ' ') << std::flush;
    drawn_width_ = text.size();
  } else if (batches >= next_plain_ || batches == total_) {
    if (batches > first_batch_ || batches == total_)
      out_ << line(batches, images, running_loss, seconds) << "\n" << std::flush;
    const int64_t step = std::max<int64_t>(1, total_ / 10);
    while (next_plain_ <= batches) next_plain_ += step;
  }
}

void ProgressBar::finish() {
  if (tty_ && drawn_width_ > 0) out_ << '\r' << std::string(drawn_width_, ' ') << '\r' << std::flush;
  drawn_width_ = 0;
}

std::string format_summary(const EpochSummary& s) {
  const double rate = s.train_seconds > 0 ? double(s.images) / s.train_seconds : 0;
  char buffer[256];
  std::snprintf(buffer, sizeof buffer,
                "epoch %lld/%lld  train loss %.4f  test loss %.4f  test accuracy %.2f%%  lr %.3g  "
                "%.1f s (%.0f images/s) + test %.1f s",
                (long long)s.epoch, (long long)s.epochs, s.train_loss, s.test_loss, 100 * s.test_accuracy, s.lr,
                s.train_seconds, rate, s.test_seconds);
  return buffer;
}

}  // namespace ember::cli
