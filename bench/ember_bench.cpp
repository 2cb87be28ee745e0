// Ember side of the benchmark suite (bench/run.py drives it; see
// docs/BENCHMARKS.md). Runs one named workload and prints one JSON line:
//   {"workload": ..., "threads": T, "times": [seconds per iteration, one per rep],
//    "flops": FLOPs per iteration, "items": items (images/ops) per iteration,
//    "bytes": bytes read + written per iteration (memory-bound workloads),
//    with --mem "step_peak_bytes": one iteration's allocator peak above what
//    was allocated before it}
//
//   ember_bench gemm1024 --threads 2 --warmup 2 --reps 5 --inner 3
//   ember_bench --serve      # one request per stdin line: "gemm1024 --threads 2 ..."
//   ember_bench graph_cnn_step_compiled --threads 2 --warmup 3 --reps 5 --mem
//   ember_bench --list
#include <ember/ember.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace bench {
double fma_peak_run(int threads, int64_t iters, float* sink);
const char* fma_peak_isa();
double stream_run(int threads, bool triad, float* a, const float* b, const float* c, int64_t n);
}  // namespace bench

namespace nn = ember::nn;
using ember::Tensor;

namespace {

struct Workload {
  std::function<void()> step;  // one iteration
  double flops = 0;            // per iteration (0: not a FLOP-bound workload)
  double items = 1;            // per iteration (images for training steps, ops for dispatch)
  double bytes = 0;            // per iteration: bytes read + written (memory-bound workloads)
};

struct Request {
  std::string name;
  int threads = 1, warmup = 1, reps = 5, inner = 1;
  bool mem = false;  // also measure one iteration's allocator peak (see run())
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

// scaled_dot_product_attention, batch 4, 8 heads, head dim 64, sequence `len`
// (bench/peer.py sdpa: same shapes and FLOP count).
Workload make_sdpa(int64_t len, bool causal, bool backward) {
  constexpr int64_t kBatch = 4, kHeads = 8, kDim = 64;
  Tensor q = ember::randn({kBatch, kHeads, len, kDim}), k = ember::randn({kBatch, kHeads, len, kDim}),
         v = ember::randn({kBatch, kHeads, len, kDim}), g = ember::randn({kBatch, kHeads, len, kDim});
  const double fwd = 4.0 * double(kBatch * kHeads * kDim) * double(len) * double(len) * (causal ? 0.5 : 1.0);
  if (backward)
    for (Tensor* t : {&q, &k, &v}) t->requires_grad_();
  auto attend = [q, k, v, causal] { return ember::scaled_dot_product_attention(q, k, v, {.is_causal = causal}); };
  if (!backward) return {[attend] { Tensor o = attend(); }, fwd};
  // The backward counts 2.5x the forward (FlashAttention's convention).
  return {[attend, q, k, v, g] { ember::autograd::grad({attend()}, {q, k, v}, {g}); }, 3.5 * fwd};
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

// STREAM-like copy / triad over 64 MiB arrays (the GB/s denominator).
Workload make_stream(int threads, bool triad) {
  constexpr int64_t n = 16 << 20;  // 16M floats = 64 MiB per array
  auto buf = std::make_shared<std::vector<float>>(3 * n, 1.0f);
  Workload w{[buf, threads, triad] {
               float* p = buf->data();
               bench::stream_run(threads, triad, p, p + n, p + 2 * n, n);
             }};
  w.bytes = (triad ? 3.0 : 2.0) * 4.0 * double(n);
  return w;
}

// Elementwise ops and reductions over n f32 elements (rows of 1024 for
// softmax / layer_norm). bytes = logical bytes read + written.
Workload make_elementwise(const std::string& op, int64_t n) {
  const int64_t rows = std::max<int64_t>(1, n / 1024), cols = n / rows;
  Tensor a = ember::randn({rows, cols}), b = ember::randn({rows, cols}), c = ember::randn({rows, cols});
  Workload w;
  const double e = 4.0 * double(n);
  if (op == "add") w = {[a, b] { Tensor y = a + b; }}, w.bytes = 3 * e;
  else if (op == "muladd") w = {[a, b, c] { Tensor y = a * b + c; }}, w.bytes = 4 * e;
  else if (op == "gelu") w = {[a] { Tensor y = ember::gelu(a); }}, w.bytes = 2 * e;
  else if (op == "sum") w = {[a] { Tensor y = a.sum(); }}, w.bytes = e + 4;
  else if (op == "softmax") w = {[a] { Tensor y = ember::softmax(a, -1); }}, w.bytes = 2 * e;
  else if (op == "layernorm") {
    Tensor g = ember::randn({cols}), h = ember::randn({cols});
    w = {[a, g, h, cols] { Tensor y = ember::layer_norm(a, {cols}, g, h); }};
    w.bytes = 2 * e + 8.0 * double(cols);
  } else throw std::invalid_argument("unknown elementwise op " + op);
  return w;
}

std::shared_ptr<nn::Sequential> make_mlp() {
  return std::make_shared<nn::Sequential>(nn::Linear(784, 512), nn::ReLU(), nn::Linear(512, 512), nn::ReLU(),
                                          nn::Linear(512, 10));
}

// The README's Fashion-MNIST CNN.
std::shared_ptr<nn::Sequential> make_cnn() {
  return std::make_shared<nn::Sequential>(
      nn::Conv2d(1, 32, 3, {.padding = 1}), nn::ReLU(), nn::MaxPool2d(2), nn::Conv2d(32, 64, 3, {.padding = 1}),
      nn::ReLU(), nn::MaxPool2d(2), nn::Flatten(), nn::Linear(3136, 128), nn::ReLU(), nn::Linear(128, 10));
}

// fashion-mlp training step: batch 128, SGD lr 0.01 momentum 0.9, cross-entropy.
Workload make_mlp_step() {
  auto net = make_mlp();
  auto opt = std::make_shared<ember::optim::SGD>(net->parameters(),
                                                 ember::optim::SGDOptions{.lr = 0.01, .momentum = 0.9});
  Tensor x = ember::randn({128, 784});
  Tensor y = ember::randint(0, 10, {128});
  return {[net, opt, x, y] {
            opt->zero_grad();
            Tensor loss = ember::cross_entropy((*net)(x), y);
            loss.backward();
            opt->step();
          },
          0, 128};
}

// Forward-only latency in inference mode (no autograd recording).
Workload make_infer(bool cnn, int64_t batch) {
  auto net = cnn ? make_cnn() : make_mlp();
  net->eval();
  Tensor x = cnn ? ember::randn({batch, 1, 28, 28}) : ember::randn({batch, 784});
  return {[net, x] {
            ember::autograd::InferenceModeGuard guard;
            Tensor y = (*net)(x);
          },
          0, 1};
}

// The README's Fashion-MNIST CNN, batch 64, Adam, cross-entropy.
Workload make_cnn_step() {
  auto net = make_cnn();
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

// One full training epoch from the files: read Debian's Fashion-MNIST
// (60,000 images), normalize, then shuffled batches through the DataLoader
// (one worker thread, as `ember train`) into the fashion-cnn (batch 64, Adam)
// or fashion-mlp (batch 128, SGD momentum) step. Timed as one iteration.
Workload make_epoch(bool cnn) {
  return {[cnn] {
            ember::data::TensorDataset train = ember::data::load_mnist();
            Tensor images = ((train.input() - 0.2860) / 0.3530).contiguous();
            if (!cnn) images = images.reshape({images.size(0), 784});
            auto net = cnn ? make_cnn() : make_mlp();
            std::unique_ptr<ember::optim::Optimizer> opt;
            if (cnn) opt = std::make_unique<ember::optim::Adam>(net->parameters(), ember::optim::AdamOptions{.lr = 1e-3});
            else
              opt = std::make_unique<ember::optim::SGD>(net->parameters(),
                                                       ember::optim::SGDOptions{.lr = 0.01, .momentum = 0.9});
            ember::data::DataLoader loader(ember::data::TensorDataset(images, train.target()),
                                           {.batch_size = cnn ? 64 : 128, .shuffle = true, .num_workers = 1});
            for (auto& [x, y] : loader) {
              opt->zero_grad();
              ember::cross_entropy((*net)(x), y).backward();
              opt->step();
            }
          },
          0, 60000};
}

// ---- Graph mode (issue 5): eager against compiled, same model and inputs ----

// The built-in recipes' layers (tools/ember/recipe.cpp): fashion-mlp starts
// with a Flatten, fashion-cnn has Dropout(0.25) before its last Linear.
std::shared_ptr<nn::Sequential> make_recipe_model(bool cnn) {
  if (!cnn)
    return std::make_shared<nn::Sequential>(nn::Flatten(), nn::Linear(784, 512), nn::ReLU(), nn::Linear(512, 512),
                                            nn::ReLU(), nn::Linear(512, 10));
  return std::make_shared<nn::Sequential>(
      nn::Conv2d(1, 32, 3, {.padding = 1}), nn::ReLU(), nn::MaxPool2d(2), nn::Conv2d(32, 64, 3, {.padding = 1}),
      nn::ReLU(), nn::MaxPool2d(2), nn::Flatten(), nn::Linear(3136, 128), nn::ReLU(), nn::Dropout(0.25),
      nn::Linear(128, 10));
}

// Forward pass in eval mode: eagerly under no_grad, or an optimized trace
// (specialized to this batch size, as torch.compile and tf.function are by
// default) run by the graph executor.
Workload make_graph_infer(bool cnn, int64_t batch, bool compiled) {
  auto net = make_recipe_model(cnn);
  net->eval();
  Tensor x = cnn ? ember::randn({batch, 1, 28, 28}) : ember::randn({batch, 784});
  if (!compiled)
    return {[net, x] {
              ember::autograd::NoGradGuard guard;
              Tensor y = (*net)(x);
            },
            0, 1};
  ember::autograd::NoGradGuard guard;
  auto exe = std::make_shared<ember::graph::Executor>(ember::jit::optimize(ember::jit::trace(*net, {x})));
  // Never time a graph that computes something else (f32 rounding aside).
  const Tensor eager = (*net)(x);
  if ((exe->run({x})[0] - eager).abs().max().item<float>() > 1e-4f * (1 + eager.abs().max().item<float>()))
    throw std::runtime_error("the compiled model's output differs from eager");
  return {[exe, x] { Tensor y = exe->run({x})[0]; }, 0, 1};
}

// A training step (forward, cross-entropy, backward, optimizer step) with the
// recipe's optimizer and batch size: fashion-mlp SGD lr 0.05 momentum 0.9,
// batch 128; fashion-cnn Adam lr 1e-3, batch 64, label smoothing 0.1 (the
// recipes' LR schedules are left out: a constant lr). Compiled: ember::compile
// of the whole step, compiled here, before any timing.
Workload make_graph_step(bool cnn, bool compiled) {
  auto net = make_recipe_model(cnn);
  std::shared_ptr<ember::optim::Optimizer> opt;
  if (cnn) opt = std::make_shared<ember::optim::Adam>(net->parameters(), ember::optim::AdamOptions{.lr = 1e-3});
  else
    opt = std::make_shared<ember::optim::SGD>(net->parameters(), ember::optim::SGDOptions{.lr = 0.05, .momentum = 0.9});
  const int64_t batch = cnn ? 64 : 128;
  Tensor x = cnn ? ember::randn({batch, 1, 28, 28}) : ember::randn({batch, 784});
  Tensor y = ember::randint(0, 10, {batch});
  auto step = [net, opt, cnn](const ember::TensorList& in) {
    opt->zero_grad();
    Tensor loss = ember::cross_entropy((*net)(in[0]), in[1], {.label_smoothing = cnn ? 0.1 : 0.0});
    loss.backward();
    opt->step();
    return ember::TensorList{loss};
  };
  if (!compiled) return {[step, x, y] { step({x, y}); }, 0, double(batch)};
  auto fn = std::make_shared<ember::CompiledFunction>(
      ember::compile(step, {.named_state = ember::jit::named_state(*net)}));
  // Call 1 runs eagerly, call 2 traces (Note [Compile cache]); never time those.
  for (int i = 0; i < 2 && !fn->graph_for({x, y}); ++i) (*fn)({x, y});
  if (!fn->graph_for({x, y})) throw std::runtime_error("ember::compile did not compile the training step");
  return {[fn, x, y] { (*fn)({x, y}); }, 0, double(batch)};
}

// Memory high-water mark and current resident size of this process, MB
// (/proc/self/status VmHWM and VmRSS).
std::pair<double, double> rss_mb() {
  std::ifstream in("/proc/self/status");
  double hwm = 0, rss = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmHWM:", 0) == 0) hwm = std::stod(line.substr(6)) / 1024;
    if (line.rfind("VmRSS:", 0) == 0) rss = std::stod(line.substr(6)) / 1024;
  }
  return {hwm, rss};
}

const std::vector<std::string> kNames = {"fma",           "gemm256",          "gemm1024",        "gemm2048",
                                         "conv_fashion_fwd", "conv_fashion_fwdbwd", "conv_resnet_fwd",
                                         "conv_resnet_fwdbwd", "add1",          "linear16_fwdbwd", "cnn_step",
                                         "stream_copy",   "stream_triad",     "mlp_step",        "mlp_infer1",
                                         "mlp_infer64",   "cnn_infer1",       "cnn_infer64",     "cnn_epoch",
                                         "mlp_epoch",     "sdpa_512",         "sdpa_2048",       "sdpa_2048_causal",
                                         "sdpa_512_fwdbwd", "sdpa_2048_fwdbwd", "sdpa_2048_causal_fwdbwd"};
// Graph mode: each name with _eager or _compiled appended.
const std::vector<std::string> kGraphNames = {"graph_mlp_infer1", "graph_mlp_infer64", "graph_cnn_infer1",
                                              "graph_cnn_infer64", "graph_mlp_step",    "graph_cnn_step"};
const std::vector<std::string> kElementwiseOps = {"add", "muladd", "gelu", "sum", "softmax", "layernorm"};
const std::vector<std::pair<std::string, int64_t>> kSizes = {{"1k", 1024}, {"64k", 65536}, {"16m", 16 << 20}};

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
  if (n == "stream_copy") return make_stream(r.threads, false);
  if (n == "stream_triad") return make_stream(r.threads, true);
  if (n == "mlp_step") return make_mlp_step();
  if (n == "mlp_infer1") return make_infer(false, 1);
  if (n == "mlp_infer64") return make_infer(false, 64);
  if (n == "cnn_infer1") return make_infer(true, 1);
  if (n == "cnn_infer64") return make_infer(true, 64);
  if (n == "cnn_epoch") return make_epoch(true);
  if (n == "mlp_epoch") return make_epoch(false);
  if (n.rfind("sdpa_", 0) == 0 && std::find(kNames.begin(), kNames.end(), n) != kNames.end())
    return make_sdpa(n.rfind("sdpa_512", 0) == 0 ? 512 : 2048, n.find("causal") != std::string::npos,
                     n.ends_with("_fwdbwd"));
  for (const auto& op : kElementwiseOps)
    for (const auto& [tag, size] : kSizes)
      if (n == op + "_" + tag) return make_elementwise(op, size);
  for (const auto& g : kGraphNames)
    for (const bool compiled : {false, true})
      if (n == g + (compiled ? "_compiled" : "_eager")) {
        const bool cnn = g.find("cnn") != std::string::npos;
        if (g.ends_with("_step")) return make_graph_step(cnn, compiled);
        return make_graph_infer(cnn, g.ends_with("infer1") ? 1 : 64, compiled);
      }
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
    else if (a == "--mem") r.mem = true;
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
  const double rss_before = rss_mb().second;
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
  o << "], \"flops\": " << w.flops << ", \"items\": " << w.items << ", \"bytes\": " << w.bytes;
  if (r.name == "fma") o << ", \"isa\": \"" << bench::fma_peak_isa() << "\"";
  // Peak RSS is the process's whole life: meaningful for a fresh process per
  // request (bench/run.py does that for the epoch workloads).
  o << ", \"rss_before_mb\": " << rss_before << ", \"peak_rss_mb\": " << rss_mb().first;
  if (r.mem) {
    // One more, untimed iteration: the caching allocator's high-water mark
    // during it above what was allocated before it (parameters, gradients,
    // optimizer state, inputs, an executor's cached buffers: what outlives
    // an iteration). For a forward pass that is the activation memory.
    const size_t before = ember::cpu_allocator_stats().allocated_bytes;
    ember::cpu_allocator_reset_peak();
    w.step();
    o << ", \"step_peak_bytes\": " << ember::cpu_allocator_stats().peak_allocated_bytes - before;
  }
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
    for (const auto& n : kGraphNames) std::printf("%s_eager\n%s_compiled\n", n.c_str(), n.c_str());
    for (const auto& op : kElementwiseOps)
      for (const auto& [tag, size] : kSizes) std::printf("%s_%s\n", op.c_str(), tag.c_str());
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
