// libtorch (PyTorch's C++ API) side of the dispatch-overhead workloads, so
// Ember's eager cost is compared with a C++ peer rather than with Python.
// Speaks bench/peer.py's protocol: a {"ready": ...} line, then one request
// per stdin line and one JSON line per answer (or {"error": ...}).
//
//   bench/setup.sh                    # builds build-bench/libtorch_peer
//   build-bench/libtorch_peer --threads 1 --serve
//   > add1 --threads 1 --warmup 1 --reps 5 --inner 3
//   < {"workload": "add1", "threads": 1, "times": [...], "flops": 0, "items": 10000, "bytes": 0}
//
// The workloads are bench/ember_bench.cpp's: add1 (10,000 adds of two
// 1-element f32 tensors, no tensor requires grad) and linear16_fwdbwd (1,000
// times Linear(16,16) on a [1, 16] input, .sum().backward(), grad mode on).
#include <torch/torch.h>

#include <chrono>
#include <functional>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

struct Workload {
  std::function<void()> step;
  double items = 1;
};

struct Request {
  std::string name;
  int threads = 1, warmup = 1, reps = 5, inner = 1;
};

Workload make(const std::string& name) {
  torch::manual_seed(0);
  if (name == "add1") {
    torch::Tensor a = torch::randn({1}), b = torch::randn({1});
    return {[a, b] {
              for (int i = 0; i < 10000; ++i) torch::Tensor c = a + b;
            },
            10000};
  }
  if (name == "linear16_fwdbwd") {
    torch::nn::Linear lin(16, 16);
    torch::Tensor x = torch::randn({1, 16});
    return {[lin, x]() mutable {
              for (int i = 0; i < 1000; ++i) lin->forward(x).sum().backward();
            },
            1000};
  }
  throw std::invalid_argument("unknown workload '" + name + "' (libtorch_peer runs add1, linear16_fwdbwd)");
}

Request parse(const std::vector<std::string>& args, int threads) {
  Request r;
  r.threads = threads;
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
  if (r.threads != threads)
    throw std::invalid_argument("this process runs " + std::to_string(threads) + " threads, asked for " +
                                std::to_string(r.threads));
  if (r.reps < 1 || r.inner < 1 || r.warmup < 0) throw std::invalid_argument("bad counts");
  return r;
}

std::string run(const Request& r) {
  Workload w = make(r.name);
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
  o << "], \"flops\": 0, \"items\": " << w.items << ", \"bytes\": 0}";
  return o.str();
}

std::vector<std::string> split(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> out;
  for (std::string s; in >> s;) out.push_back(s);
  return out;
}

std::string json_escape(std::string s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  int threads = 1;
  bool serve = false;
  std::vector<std::string> request;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--serve") serve = true;
    else if (args[i] == "--threads" && i + 1 < args.size()) threads = std::stoi(args[++i]);
    else request.push_back(args[i]);
  }
  if (!request.empty()) request.insert(request.end(), {"--threads", std::to_string(threads)});
  // Both pools, as peer.py's torch.set_num_threads does for the Python peer.
  torch::set_num_threads(threads);
  torch::set_num_interop_threads(threads);
  std::cout << "{\"ready\": \"libtorch\", \"version\": \"" << TORCH_VERSION << "\"}" << std::endl;
  auto answer = [&](const std::vector<std::string>& words) {
    try {
      std::cout << run(parse(words, threads)) << std::endl;
    } catch (const std::exception& e) {
      std::cout << "{\"error\": \"" << json_escape(e.what()) << "\"}" << std::endl;
    }
  };
  if (!serve) {
    answer(request);
    return 0;
  }
  for (std::string line; std::getline(std::cin, line);)
    if (!split(line).empty()) answer(split(line));
  return 0;
}
