// CUDA smoke test: runs a kernel when a GPU is present, otherwise checks that
// the backend reports "no device" cleanly.
#include <gtest/gtest.h>
#include <cuda_runtime.h>

#include <vector>

#include "ember/cuda/cuda.h"
#include "ember/core/error.h"

TEST(Cuda, SaxpyMatchesCpu) {
  if (!ember::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const int64_t n = 1000;
  std::vector<float> x(n), y(n);
  for (int64_t i = 0; i < n; ++i) x[size_t(i)] = float(i), y[size_t(i)] = 1.f;
  float *dx = nullptr, *dy = nullptr;
  ASSERT_EQ(cudaMalloc(&dx, n * sizeof(float)), cudaSuccess);
  ASSERT_EQ(cudaMalloc(&dy, n * sizeof(float)), cudaSuccess);
  cudaMemcpy(dx, x.data(), n * sizeof(float), cudaMemcpyHostToDevice);
  cudaMemcpy(dy, y.data(), n * sizeof(float), cudaMemcpyHostToDevice);
  ember::cuda::saxpy(n, 2.f, dx, dy);
  cudaMemcpy(y.data(), dy, n * sizeof(float), cudaMemcpyDeviceToHost);
  cudaFree(dx);
  cudaFree(dy);
  for (int64_t i = 0; i < n; ++i) EXPECT_EQ(y[size_t(i)], 2.f * float(i) + 1.f);
}

TEST(Cuda, BadDeviceIsAnError) {
  EXPECT_THROW(ember::cuda::device_name(ember::cuda::device_count()), ember::IndexError);
}
