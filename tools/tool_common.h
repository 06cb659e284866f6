// What every tool shares: --version text, and running the tool body with library errors mapped
// to the documented exit statuses (DESIGN.md section 5).
#pragma once

#include <functional>
#include <string>

namespace digits {

// "digits-train 0.1.0 (CUDA: yes|no)".
std::string version_string(const std::string& tool);

// Runs body(); digits::Error becomes its exit code with "tool: message" on stderr; other
// exceptions become exit 1. Returns the exit status for main() to return.
int run_tool(const std::string& tool, const std::function<int()>& body);

}  // namespace digits
