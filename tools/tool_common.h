// What every tool shares: --version text, and running the tool body with library errors mapped
// to the documented exit statuses (DESIGN.md section 5).
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <optional>
#include <string>

namespace digits {

// "digits-train 0.1.0 (CUDA: yes|no)".
std::string version_string(const std::string& tool);

// Parses argv. Returns nothing when the tool should go on, else the status to exit with: 0 after
// --help or --version, 2 (usage) after a flag error, which CLI11 has printed.
std::optional<int> parse_flags(CLI::App& app, int argc, char** argv);

// Runs body(); digits::Error becomes its exit code with "tool: message" on stderr; other
// exceptions become exit 1. Returns the exit status for main() to return.
int run_tool(const std::string& tool, const std::function<int()>& body);

}  // namespace digits
