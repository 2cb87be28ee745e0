#pragma once
// NumPy's .npy arrays (numpy.save / numpy.load), for handing tensors to and
// from Python tools (`ember run --input x.npy`).
//
//   ember::io::save_npy("x.npy", x);          // version 1.0 header, C order
//   ember::Tensor x = ember::io::load_npy("x.npy");
//
// Format (numpy/lib/format.py): the magic "\x93NUMPY", a major and minor
// version byte, a little-endian header length (u16 in version 1, u32 in 2),
// then a Python dict literal {'descr': '<f4', 'fortran_order': False,
// 'shape': (2, 3), } padded with spaces and a final '\n' so that the data
// starts at a multiple of 64 bytes; then the elements. Read: versions 1 and 2,
// little-endian (or byte-order-free) float32/64, float16, int8/16/32/64, uint8
// and bool, C order, exactly the bytes the shape needs. Anything else is a
// FormatError naming the file and the problem.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "ember/core/tensor.h"

namespace ember::io {

std::string to_npy_bytes(const Tensor& tensor);
// `source` names the bytes in error messages (a file name).
Tensor parse_npy(std::span<const uint8_t> bytes, std::string_view source = "<bytes>");

void save_npy(const std::string& path, const Tensor& tensor);
Tensor load_npy(const std::string& path);

}  // namespace ember::io
