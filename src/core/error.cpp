#include "ember/core/error.h"

namespace ember::detail {

void throw_internal(const char* file, int line, const char* cond, const std::string& msg) {
  throw InternalError(str_cat("internal error (a bug in Ember, please report it): ", cond,
                              " failed at ", file, ":", line, msg.empty() ? "" : ": ", msg));
}

}  // namespace ember::detail
