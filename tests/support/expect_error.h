#pragma once
// The one helper for bad-input tests: run f, expect an ember::Error of type E
// whose message contains every given fragment (op names, shapes, values).
//
//   expect_error<ShapeError>([&] { matmul(a, b); }, {"matmul", "[2, 3]", "[4, 5]"});
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <string_view>

#include "ember/core/error.h"

namespace ember::testing {

template <class E, class F>
void expect_error(F&& f, std::initializer_list<std::string_view> fragments) {
  try {
    f();
    ADD_FAILURE() << "no exception; expected one mentioning \"" << *fragments.begin() << "\"";
  } catch (const E& e) {
    const std::string what = e.what();
    for (std::string_view p : fragments)
      EXPECT_NE(what.find(p), std::string::npos) << "\"" << p << "\" not in: " << what;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
  }
}

template <class E, class F>
void expect_error(F&& f, std::string_view fragment) {
  expect_error<E>(std::forward<F>(f), {fragment});
}

// The message of the ember::Error f throws, or "<no error>": for tests that
// compare a whole message.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

}  // namespace ember::testing
