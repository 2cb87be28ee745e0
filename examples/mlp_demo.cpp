// The eager demo: a two-layer MLP written with Ember's ops and autograd,
// trained with plain SGD on the real Fashion-MNIST data from Debian's
// dataset-fashion-mnist package. Prints the loss falling and the test accuracy.
//
//   ember_demo [DATA_DIR] [--train N] [--epochs E]
//
// The `ember train` CLI (nn modules, optimizers, data loaders) supersedes
// this once it lands; this file shows what the foundation alone can do.
#include <zlib.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "ember/ember.h"

namespace {

using ember::Tensor;

// Reads a gzip-compressed IDX file (MNIST layout) and checks its header.
std::vector<uint8_t> read_idx_gz(const std::string& path, uint32_t expected_magic, std::vector<int64_t>& dims) {
  gzFile f = gzopen(path.c_str(), "rb");
  EMBER_CHECK(f != nullptr, FormatError, path, ": cannot open (install dataset-fashion-mnist)");
  std::vector<uint8_t> bytes;
  uint8_t buffer[1 << 16];
  int n;
  while ((n = gzread(f, buffer, sizeof buffer)) > 0) bytes.insert(bytes.end(), buffer, buffer + n);
  gzclose(f);
  auto be32 = [&](size_t at) {
    EMBER_CHECK(at + 4 <= bytes.size(), FormatError, path, ": truncated header");
    return uint32_t(bytes[at]) << 24 | uint32_t(bytes[at + 1]) << 16 | uint32_t(bytes[at + 2]) << 8 | bytes[at + 3];
  };
  const uint32_t magic = be32(0);
  EMBER_CHECK(magic == expected_magic, FormatError, path, ": bad IDX magic ", magic);
  const size_t ndim = magic & 0xff;
  size_t count = 1;
  dims.clear();
  for (size_t d = 0; d < ndim; ++d) {
    dims.push_back(be32(4 + 4 * d));
    count *= size_t(dims.back());
  }
  const size_t header = 4 + 4 * ndim;
  EMBER_CHECK(bytes.size() == header + count, FormatError, path, ": expected ", count, " values, file has ",
              bytes.size() - header);
  return {bytes.begin() + long(header), bytes.end()};
}

struct Split {
  Tensor images;  // [n, 784] float32 in [0, 1]
  Tensor labels;  // [n] int64
};

Split load(const std::string& dir, const std::string& prefix, int64_t limit) {
  std::vector<int64_t> image_dims, label_dims;
  const auto pixels = read_idx_gz(dir + "/" + prefix + "-images-idx3-ubyte.gz", 0x803, image_dims);
  const auto labels = read_idx_gz(dir + "/" + prefix + "-labels-idx1-ubyte.gz", 0x801, label_dims);
  const int64_t n = std::min(limit, image_dims[0]);
  const int64_t features = image_dims[1] * image_dims[2];
  Tensor x = ember::tensor(std::vector<uint8_t>(pixels.begin(), pixels.begin() + n * features), {n, features})
                 .to(ember::DType::f32) / 255.0;
  Tensor y = ember::tensor(std::vector<uint8_t>(labels.begin(), labels.begin() + n), {n}).to(ember::DType::i64);
  return {x, y};
}

// PyTorch's default Linear init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
Tensor init_weight(int64_t out, int64_t in, ember::Generator& gen) {
  const double bound = 1.0 / std::sqrt(double(in));
  return (ember::rand({out, in}, ember::DType::f32, &gen) * (2 * bound) - bound).requires_grad_();
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "/usr/share/datasets/fashion-mnist";
  int64_t train_count = 60000, epochs = 5, batch = 128;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--train" && i + 1 < argc) train_count = std::stoll(argv[++i]);
    else if (arg == "--epochs" && i + 1 < argc) epochs = std::stoll(argv[++i]);
    else dir = arg;
  }
  try {
    const Split train = load(dir, "train", train_count);
    const Split test = load(dir, "t10k", 10000);
    std::cout << "Fashion-MNIST: " << train.images.size(0) << " training and " << test.images.size(0)
              << " test images from " << dir << "\n";

    ember::Generator gen(0);
    Tensor w1 = init_weight(256, 784, gen), b1 = ember::zeros({256}).requires_grad_();
    Tensor w2 = init_weight(10, 256, gen), b2 = ember::zeros({10}).requires_grad_();
    const std::vector<Tensor> params{w1, b1, w2, b2};
    auto forward = [&](const Tensor& x) { return ember::linear(ember::relu(ember::linear(x, w1, b1)), w2, b2); };

    const double lr = 0.1;
    const int64_t n = train.images.size(0);
    const auto start = std::chrono::steady_clock::now();
    for (int64_t epoch = 1; epoch <= epochs; ++epoch) {
      const Tensor order = ember::randperm(n, ember::DType::i64, &gen);
      double running = 0;
      int64_t seen = 0;
      for (int64_t begin = 0; begin + batch <= n; begin += batch) {
        const Tensor idx = order.narrow(0, begin, batch);
        const Tensor loss = ember::cross_entropy(forward(ember::index_select(train.images, 0, idx)),
                                                 ember::index_select(train.labels, 0, idx));
        for (Tensor p : params) p.set_grad({});
        loss.backward();
        {
          ember::autograd::NoGradGuard no_grad;
          for (Tensor p : params) p.sub_(p.grad() * lr);
        }
        running += loss.item<double>();
        ++seen;
        if (seen % 50 == 0) {
          std::printf("epoch %lld  step %4lld  loss %.4f\n", (long long)epoch, (long long)seen, running / 50);
          running = 0;
        }
      }
      ember::autograd::NoGradGuard no_grad;
      const Tensor predicted = ember::argmax(forward(test.images), 1);
      const double accuracy = (predicted == test.labels).to(ember::DType::f64).mean().item<double>();
      std::printf("epoch %lld  test accuracy %.2f%%\n", (long long)epoch, 100 * accuracy);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("trained %lld epochs in %.1f s (%.0f images/s)\n", (long long)epochs, seconds,
                double(epochs * n) / seconds);
  } catch (const ember::Error& e) {
    std::cerr << "ember_demo: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
