// CUDA backend skeleton: device queries and one kernel launch. Errors from the
// runtime become ember::Error, never an abort.
#include <cuda_runtime.h>

#include "ember/core/error.h"
#include "ember/cuda/cuda.h"

namespace ember::cuda {
namespace {

void check(cudaError_t status, const char* what) {
  EMBER_CHECK(status == cudaSuccess, Error, "cuda: ", what, " failed: ", cudaGetErrorString(status));
}

__global__ void saxpy_kernel(int64_t n, float a, const float* x, float* y) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) y[i] = a * x[i] + y[i];
}

}  // namespace

int device_count() {
  int count = 0;
  // No driver or no device is "not available", not an error.
  if (cudaGetDeviceCount(&count) != cudaSuccess) return 0;
  return count;
}

bool is_available() { return device_count() > 0; }

std::string device_name(int index) {
  EMBER_CHECK(index >= 0 && index < device_count(), IndexError, "cuda: device ", index, " does not exist (",
              device_count(), " devices)");
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, index), "cudaGetDeviceProperties");
  return prop.name;
}

void saxpy(int64_t n, float a, const float* x, float* y) {
  if (n <= 0) return;
  constexpr int kThreads = 256;
  const auto blocks = unsigned((n + kThreads - 1) / kThreads);
  saxpy_kernel<<<blocks, kThreads>>>(n, a, x, y);
  check(cudaGetLastError(), "saxpy launch");
  check(cudaDeviceSynchronize(), "saxpy");
}

}  // namespace ember::cuda
