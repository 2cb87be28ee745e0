#pragma once
// The per-epoch progress bar and summary line of `ember train`.
//
// On a terminal the bar is one line redrawn in place (\r) at most ten times a
// second; when stdout is a file or a pipe (CI logs) it prints a plain line at
// every tenth of the epoch instead, so logs stay short and readable.
#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <string>

namespace ember::cli {

class ProgressBar {
 public:
  ProgressBar(std::ostream& out, bool tty, std::string label, int64_t total_batches);
  // After each batch: totals so far in this epoch and the running mean loss.
  void update(int64_t batches, int64_t images, double running_loss);
  // Ends the bar (a TTY line is cleared so the summary line replaces it).
  void finish();

 private:
  std::string line(int64_t batches, int64_t images, double running_loss, double seconds) const;

  std::ostream& out_;
  bool tty_;
  std::string label_;
  int64_t total_;
  int64_t first_batch_ = -1;  // batches before the bar started (a resumed epoch)
  int64_t first_images_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
  int64_t next_plain_ = 0;  // batch count that triggers the next plain line
  size_t drawn_width_ = 0;
};

struct EpochSummary {
  int64_t epoch, epochs;
  double train_loss, test_loss, test_accuracy;  // accuracy in [0, 1]
  double lr;                                    // after the epoch
  double train_seconds;                         // wall time of the training batches
  int64_t images;                               // training images in that time
  double test_seconds;                          // wall time of the test pass
};
// "epoch 3/5  train loss 0.2911  test loss 0.2803  test accuracy 89.91%  lr 0.001  24.3 s (2468 images/s) + test 1.2 s"
std::string format_summary(const EpochSummary& s);

}  // namespace ember::cli
