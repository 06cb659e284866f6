#include "tool_common.h"

#include <cstdio>
#include <exception>
#include <new>

#include "core/error.h"
#include "digits/version.h"

namespace digits {

std::string version_string(const std::string& tool) {
#ifdef DIGITS_HAVE_CUDA
  const char* cuda = "yes";
#else
  const char* cuda = "no";
#endif
  return fmt::format("{} {} (CUDA backend: {})", tool, DIGITS_VERSION, cuda);
}

std::optional<int> parse_flags(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return static_cast<int>(ExitCode::usage);
  }
  return std::nullopt;
}

int run_tool(const std::string& tool, const std::function<int()>& body) {
  try {
    return body();
  } catch (const Error& e) {
    std::fprintf(stderr, "%s: error: %s\n", tool.c_str(), e.what());
    return static_cast<int>(e.code());
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "%s: error: out of memory\n", tool.c_str());
    return static_cast<int>(ExitCode::runtime);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: error: %s\n", tool.c_str(), e.what());
    return static_cast<int>(ExitCode::runtime);
  }
}

}  // namespace digits
