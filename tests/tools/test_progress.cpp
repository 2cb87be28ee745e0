#include <gtest/gtest.h>

#include <sstream>

#include "format.h"
#include "progress.h"

using namespace ember::cli;

TEST(Format, Numbers) {
  EXPECT_EQ(format_count(0), "0");
  EXPECT_EQ(format_count(421642), "421,642");
  EXPECT_EQ(format_count(-1234567), "-1,234,567");
  EXPECT_EQ(format_bytes(512), "512 B");
  EXPECT_EQ(format_bytes(5 * 1024 * 1024 + 1024 * 512), "5.5 MiB");
  EXPECT_EQ(format_duration(65), "1:05");
  EXPECT_EQ(format_duration(3723), "1:02:03");
  EXPECT_EQ(format_duration(-3), "0:00");
}

TEST(ProgressBar, PlainLinesAtEveryTenthWhenNotATerminal) {
  std::ostringstream out;
  ProgressBar bar(out, /*tty=*/false, "epoch 1/5", 100);
  for (int64_t b = 1; b <= 100; ++b) bar.update(b, b * 64, 1.0 / double(b));
  bar.finish();
  const std::string text = out.str();
  EXPECT_EQ(text.find('\r'), std::string::npos);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 10) << text;
  EXPECT_NE(text.find("epoch 1/5 [========================] 100/100"), std::string::npos) << text;
  EXPECT_NE(text.find("batches/s"), std::string::npos);
  EXPECT_NE(text.find("images/s"), std::string::npos);
  EXPECT_NE(text.find("loss 0.0100"), std::string::npos) << text;
  EXPECT_NE(text.find("ETA 0:00"), std::string::npos);
}

TEST(ProgressBar, RedrawsOneLineOnATerminal) {
  std::ostringstream out;
  ProgressBar bar(out, /*tty=*/true, "epoch 2/5", 3);
  for (int64_t b = 1; b <= 3; ++b) bar.update(b, b * 10, 0.5);
  bar.finish();
  const std::string text = out.str();
  EXPECT_EQ(text.find('\n'), std::string::npos) << text;
  EXPECT_NE(text.find("\repoch 2/5 ["), std::string::npos) << text;
  EXPECT_NE(text.find("3/3"), std::string::npos) << text;
  // finish() blanks the line so the summary replaces it.
  EXPECT_EQ(text.back(), '\r');
}

TEST(ProgressBar, SummaryLine) {
  const std::string line = format_summary({.epoch = 3,
                                           .epochs = 5,
                                           .train_loss = 0.29114,
                                           .test_loss = 0.2803,
                                           .test_accuracy = 0.89912,
                                           .lr = 0.001,
                                           .train_seconds = 24,
                                           .images = 60000,
                                           .test_seconds = 1.25});
  EXPECT_EQ(line,
            "epoch 3/5  train loss 0.2911  test loss 0.2803  test accuracy 89.91%  lr 0.001  24.0 s (2500 images/s) "
            "+ test 1.2 s");
}
