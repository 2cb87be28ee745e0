// The op table's completeness rules (STYLE.md §3): every op states its
// shape rule, a kernel, its gradient (or why none), and its ONNX mapping (or
// why none). Adding an op that skips one fails here.
#include <gtest/gtest.h>

#include <set>

#include "ember/ember.h"

using namespace ember;

TEST(Registry, EveryOpIsComplete) {
  ASSERT_FALSE(all_ops().empty());
  std::set<std::string_view> names;
  for (const OpDef* op : all_ops()) {
    ASSERT_NE(op, nullptr);
    EXPECT_TRUE(names.insert(op->name).second) << "duplicate op name " << op->name;
    EXPECT_NE(op->infer, nullptr) << op->name << ": no infer";
    EXPECT_TRUE(op->cpu != nullptr || op->view != nullptr) << op->name << ": no CPU kernel or view";
    EXPECT_TRUE(op->backward != nullptr || !op->nondifferentiable.empty())
        << op->name << ": no backward and no nondifferentiable reason";
    EXPECT_TRUE(!op->onnx.empty() || !op->not_exportable.empty())
        << op->name << ": no ONNX mapping and no not_exportable reason";
    EXPECT_EQ(find_op(op->name), op);
  }
}
