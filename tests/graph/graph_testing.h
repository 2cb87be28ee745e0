#pragma once
// Helpers shared by the graph tests: building graphs by op name and comparing
// results bit for bit (the executor and interpret() run the same kernels).
#include <gtest/gtest.h>

#include <cstring>

#include "ember/ember.h"

namespace ember::testing {

inline const OpDef& op(std::string_view name) {
  const OpDef* def = find_op(name);
  EMBER_INTERNAL_ASSERT(def != nullptr, "no op ", name);
  return *def;
}

// Appends `name` applied to `inputs`; its first output.
inline graph::ValueId add_node(graph::Graph& g, std::string_view name, std::vector<graph::ValueId> inputs,
                               Attrs attrs = {}) {
  return g.add_node(op(name), std::move(inputs), std::move(attrs))[0];
}

// Same dtype, sizes and bytes (so -0.0 differs from 0.0, and NaNs must match).
inline void expect_identical(const Tensor& expected, const Tensor& got) {
  ASSERT_EQ(expected.dtype(), got.dtype());
  ASSERT_EQ(shape_str(expected.sizes()), shape_str(got.sizes()));
  const Tensor a = expected.contiguous(), b = got.contiguous();
  EXPECT_EQ(std::memcmp(a.raw_data(), b.raw_data(), size_t(a.numel()) * a.itemsize()), 0)
      << "expected " << expected << "\ngot " << got;
}

inline void expect_identical(const TensorList& expected, const TensorList& got) {
  ASSERT_EQ(expected.size(), got.size());
  for (size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE("output " + std::to_string(i));
    expect_identical(expected[i], got[i]);
  }
}

}  // namespace ember::testing
