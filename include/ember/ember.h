#pragma once
// Ember: the whole public API.
//
//   #include <ember/ember.h>
//   auto w = ember::randn({784, 10}).requires_grad_();
//   auto loss = ember::cross_entropy(ember::matmul(x, w), y);
//   loss.backward();
#include "ember/autograd/autograd.h"
#include "ember/core/allocator.h"
#include "ember/core/dtype.h"
#include "ember/core/error.h"
#include "ember/core/generator.h"
#include "ember/core/parallel.h"
#include "ember/core/tensor.h"
#include "ember/ops/binary.h"
#include "ember/ops/creation.h"
#include "ember/ops/index.h"
#include "ember/ops/linalg.h"
#include "ember/ops/nn.h"
#include "ember/ops/op.h"
#include "ember/ops/reduce.h"
#include "ember/ops/shape.h"
#include "ember/ops/unary.h"
