#pragma once
// Errors a user can cause are exceptions carrying the offending values
// (EMBER_CHECK); bugs in Ember itself are EMBER_INTERNAL_ASSERT. Nothing a user
// can reach aborts the process.
#include <sstream>
#include <stdexcept>
#include <string>

namespace ember {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
class ShapeError : public Error { using Error::Error; };
class DTypeError : public Error { using Error::Error; };
class IndexError : public Error { using Error::Error; };
class ValueError : public Error { using Error::Error; };
class FormatError : public Error { using Error::Error; };
class NotImplementedError : public Error { using Error::Error; };
// Misuse of autograd: backward twice, in-place on a saved tensor, ...
class AutogradError : public Error { using Error::Error; };
class InternalError : public Error { using Error::Error; };

namespace detail {
template <class... Args>
std::string str_cat(const Args&... args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}
[[noreturn]] void throw_internal(const char* file, int line, const char* cond, const std::string& msg);
}  // namespace detail

}  // namespace ember

#define EMBER_CHECK(cond, ErrorType, ...)                          \
  do {                                                              \
    if (!(cond)) [[unlikely]]                                       \
      throw ::ember::ErrorType(::ember::detail::str_cat(__VA_ARGS__)); \
  } while (0)

#define EMBER_THROW(ErrorType, ...) throw ::ember::ErrorType(::ember::detail::str_cat(__VA_ARGS__))

#define EMBER_INTERNAL_ASSERT(cond, ...)                                                   \
  do {                                                                                     \
    if (!(cond)) [[unlikely]]                                                              \
      ::ember::detail::throw_internal(__FILE__, __LINE__, #cond, ::ember::detail::str_cat(__VA_ARGS__)); \
  } while (0)

#ifdef NDEBUG
#define EMBER_DEBUG_ASSERT(cond, ...) ((void)0)
#else
#define EMBER_DEBUG_ASSERT(cond, ...) EMBER_INTERNAL_ASSERT(cond, __VA_ARGS__)
#endif
