// Ember side of the benchmark suite (bench/run.py drives it; see
// docs/BENCHMARKS.md). Runs one named workload and prints one JSON line:
//   {"workload": ..., "threads": T, "times": [seconds per iteration, one per rep],
//    "flops": FLOPs per iteration, "items": items (images/ops) per iteration}
//
//   ember_bench gemm1024 --threads 2 --warmup 2 --reps 5 --inner 3
//   ember_bench --serve      # one request per stdin line: "gemm1024 --threads 2 ..."
//   ember_bench --list
#include <ember/ember.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace bench {
double fma_peak_run(int threads, int64_t iters, float* sink);
const char* fma_peak_isa();
}  // namespace bench

namespace nn = ember::nn;
using ember::Tensor;

namespace {

struct Workload {
  std::function<void()> step;  // one iteration
  double flops = 0;            // per iteration (0: not a FLOP-bound workload)
  double items = 1;            // per iteration (images for training steps, ops for dispatch)
};

struct Request {
  std::string name;
  int threads = 1, warmup = 1, reps = 5, inner = 1;
};

float g_sink = 0;

double conv_flops(int64_t n, int64_t cin, int64_t cout, int64_t h, int64_t w, int64_t k) {
  return 2.0 * double(n) * double(cout) * double(h) * double(w) * double(cin) * double(k * k);
}

Workload make_gemm(int64_t n) {
  Tensor a = ember::randn({n, n}), b = ember::randn({n, n});
  return {[a, b] { Tensor c = ember::matmul(a, b); }, 2.0 * double(n) * double(n) * double(n)};
}

// conv2d 3x3, stride 1, pad 1; forward only or forward+backward (dx, dw, db).
Workload make_conv(int64_t n, int64_t cin, int64_t cout, int64_t hw, bool backward) {
  Tensor x = ember::randn({n, cin, hw, hw});
  Tensor w = ember::randn({cout, cin, 3, 3}) * 0.05, b = ember::zeros({cout});
  const double f = conv_flops(n, cin, cout, hw, hw, 3);
  if (!backward) return {[x, w, b] { Tensor y = ember::conv2d(x, w, b, {.padding = 1}); }, f};
  x.requires_grad_();
  w.requires_grad_();
  b.requires_grad_();
  return {[x, w, b] { ember::conv2d(x, w, b, {.padding = 1}).sum().backward(); }, 3 * f};
}

Workload make_add1(int64_t per_iter) {
  Tensor a = ember::randn({1}), b = ember::randn({1});
  return {[a, b, per_iter] {
            for (int64_t i = 0; i < per_iter; ++i) Tensor c = a + b;
          },
          0, double(per_iter)};
}

Workload make_linear16(int64_t per_iter) {
  auto lin = std::make_shared<nn::Linear>(16, 16);
  Tensor x = ember::randn({1, 16});
  return {[lin, x, per_iter] {
            for (int64_t i = 0; i < per_iter; ++i) (*lin)(x).sum().backward();
          },
          0, double(per_iter)};
}

// The README's Fashion-MNIST CNN, batch 64, Adam, cross-entropy.
Workload make_cnn_step() {
  auto net = std::make_shared<nn::Sequential>(
      nn::Conv2d(1, 32, 3, {.padding = 1}), nn::ReLU(), nn::MaxPool2d(2), nn::Conv2d(32, 64, 3, {.padding = 1}),
      nn::ReLU(), nn::MaxPool2d(2), nn::Flatten(), nn::Linear(3136, 128), nn::ReLU(), nn::Linear(128, 10));
  auto opt = std::make_shared<ember::optim::Adam>(net->parameters(), ember::optim::AdamOptions{.lr = 1e-3});
  Tensor x = ember::randn({64, 1, 28, 28});
  Tensor y = ember::randint(0, 10, {64});
  return {[net, opt, x, y] {
            opt->zero_grad();
            Tensor loss = ember::cross_entropy((*net)(x), y);
            loss.backward();
            opt->step();
          },
          0, 64};
}

const std::vector<std::string> kNames = {"fma",           "gemm256",          "gemm1024",        "gemm2048",
                                         "conv_fashion_fwd", "conv_fashion_fwdbwd", "conv_resnet_fwd",
                                         "conv_resnet_fwdbwd", "add1",          "linear16_fwdbwd", "cnn_step"};

Workload make(const Request& r) {
  const std::string& n = r.name;
  if (n == "fma") {
    const int threads = r.threads;
    constexpr int64_t iters = 20'000'000;
    float* sink = &g_sink;
    const double flops = 2.0 * (std::string(bench::fma_peak_isa()) == "avx512" ? 16 : 8) * 16 * double(iters) * threads;
    return {[threads, sink] { bench::fma_peak_run(threads, iters, sink); }, flops};
  }
  if (n == "gemm256") return make_gemm(256);
  if (n == "gemm1024") return make_gemm(1024);
  if (n == "gemm2048") return make_gemm(2048);
  if (n == "conv_fashion_fwd") return make_conv(64, 32, 64, 14, false);
  if (n == "conv_fashion_fwdbwd") return make_conv(64, 32, 64, 14, true);
  if (n == "conv_resnet_fwd") return make_conv(32, 64, 64, 56, false);
  if (n == "conv_resnet_fwdbwd") return make_conv(32, 64, 64, 56, true);
  if (n == "add1") return make_add1(10000);
  if (n == "linear16_fwdbwd") return make_linear16(1000);
  if (n == "cnn_step") return make_cnn_step();
  throw std::invalid_argument("unknown workload '" + n + "' (try --list)");
}

Request parse(const std::vector<std::string>& args) {
  Request r;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> int {
      if (i + 1 >= args.size()) throw std::invalid_argument(a + " needs a value");
      return std::stoi(args[++i]);
    };
    if (a == "--threads") r.threads = value();
    else if (a == "--warmup") r.warmup = value();
    else if (a == "--reps") r.reps = value();
    else if (a == "--inner") r.inner = value();
    else if (a.rfind("--", 0) == 0) throw std::invalid_argument("unknown option " + a);
    else r.name = a;
  }
  if (r.name.empty()) throw std::invalid_argument("no workload named");
  if (r.threads < 1 || r.reps < 1 || r.inner < 1 || r.warmup < 0) throw std::invalid_argument("bad counts");
  return r;
}

std::string run(const Request& r) {
  ember::set_num_threads(r.threads);
  ember::manual_seed(0);
  Workload w = make(r);
  for (int i = 0; i < r.warmup; ++i) w.step();
  std::vector<double> times;
  for (int rep = 0; rep < r.reps; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < r.inner; ++i) w.step();
    const auto t1 = std::chrono::steady_clock::now();
    times.push_back(std::chrono::duration<double>(t1 - t0).count() / r.inner);
  }
  std::ostringstream o;
  o.precision(9);
  o << "{\"workload\": \"" << r.name << "\", \"threads\": " << r.threads << ", \"times\": [";
  for (size_t i = 0; i < times.size(); ++i) o << (i ? ", " : "") << times[i];
  o << "], \"flops\": " << w.flops << ", \"items\": " << w.items;
  if (r.name == "fma") o << ", \"isa\": \"" << bench::fma_peak_isa() << "\"";
  o << "}";
  return o.str();
}

std::vector<std::string> split(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> out;
  for (std::string s; in >> s;) out.push_back(s);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "--list") {
    for (const auto& n : kNames) std::printf("%s\n", n.c_str());
    return 0;
  }
  if (!args.empty() && args[0] == "--serve") {
    // One request per line; one JSON line (or {"error": ...}) per answer.
    for (std::string line; std::getline(std::cin, line);) {
      if (split(line).empty()) continue;
      try {
        std::cout << run(parse(split(line))) << std::endl;
      } catch (const std::exception& e) {
        std::cout << "{\"error\": \"" << e.what() << "\"}" << std::endl;
      }
    }
    return 0;
  }
  try {
    std::cout << run(parse(args)) << std::endl;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ember_bench: %s\n", e.what());
    return 2;
  }
  return g_sink == 12345.0f ? 1 : 0;
}
