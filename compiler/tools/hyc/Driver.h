//===- Driver.h - hyc subcommands and their shared helpers ---------------===//
#ifndef HYC_TOOLS_HYC_DRIVER_H
#define HYC_TOOLS_HYC_DRIVER_H

#include <string>
#include <vector>

namespace hyc::driver {
int compileMain(const std::vector<std::string> &args);
int runMain(const std::vector<std::string> &args);
int inspectMain(const std::vector<std::string> &args);
int convertMain(const std::vector<std::string> &args);
int tuneMain(const std::vector<std::string> &args);
int benchMain(const std::vector<std::string> &args);

/// Prints "hyc <cmd>: error: <msg>" to stderr and returns 1.
int fail(const std::string &cmd, const std::string &message);
/// Parses a positive integer flag value; false with a message on error.
bool parsePositive(const std::string &flag, const std::string &text,
                   long long max, long long &out, std::string &error);
} // namespace hyc::driver

#endif
