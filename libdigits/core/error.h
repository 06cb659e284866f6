// Errors with context, and the exit statuses every tool shares (DESIGN.md section 5).
// Library code throws digits::Error; only tools/ turn it into an exit status.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace digits {

// Documented in every man page. Keep the numbers: scripts depend on them.
enum class ExitCode : int {
  ok = 0,
  runtime = 1,    // I/O failure, numerical divergence, GPU error
  usage = 2,      // bad flags, bad spec
  data = 3,       // input data rejected: corrupt dataset or weights, too many bad items
  missing = 4,    // required resource missing: no GPU where demanded, no NVIDIA driver
  preempted = 75, // SIGUSR1: snapshot written, run again to continue
  sigint = 130,
  sigterm = 143,
};

class Error : public std::runtime_error {
 public:
  Error(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ExitCode code() const { return code_; }

 private:
  ExitCode code_;
};

template <typename... Args>
[[noreturn]] void fail(ExitCode code, fmt::format_string<Args...> format, Args&&... args) {
  throw Error(code, fmt::format(format, std::forward<Args>(args)...));
}

// Shorthands for the common cases: fail_usage("{}: expected ...", key).
template <typename... Args>
[[noreturn]] void fail_usage(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(ExitCode::usage, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
[[noreturn]] void fail_data(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(ExitCode::data, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
[[noreturn]] void fail_runtime(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(ExitCode::runtime, fmt::format(format, std::forward<Args>(args)...));
}

// Internal invariant checks: a failure here is a bug in digits, not in the user's input.
#define DIGITS_CHECK(cond, ...)                                                              \
  do {                                                                                       \
    if (!(cond))                                                                             \
      ::digits::fail(::digits::ExitCode::runtime, "{}:{}: check failed: {}: {}", __FILE__,    \
                     __LINE__, #cond, fmt::format(__VA_ARGS__));                             \
  } while (0)

}  // namespace digits
