#pragma once
// The CUDA backend's entry points (built only with -DEMBER_CUDA=ON).
//
//   if (ember::cuda::is_available()) std::cout << ember::cuda::device_name(0);
//
// Tensors do not live on the GPU yet: this skeleton proves the toolchain
// (nvcc, cudart, cuBLAS) builds and links with the rest of Ember, and gives
// the later CUDA issue one place to grow from.
#include <cstdint>
#include <string>

namespace ember::cuda {

bool is_available();
int device_count();
std::string device_name(int index);
// y[i] = a * x[i] + y[i] on device memory: the smallest kernel that exercises
// a launch, for the backend's smoke test.
void saxpy(int64_t n, float a, const float* x, float* y);

}  // namespace ember::cuda
