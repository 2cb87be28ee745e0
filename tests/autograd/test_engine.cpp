#include <gtest/gtest.h>

#include "ember/ember.h"

using namespace ember;

TEST(Engine, Placeholder) { EXPECT_TRUE(autograd::GradMode::is_enabled()); }
