// Runs the autocompress binary (AC_CLI) with `args` through the shell; its stdout (and stderr
// when `with_stderr`), and the exit code in *rc.
#pragma once

#include <stdio.h>
#include <sys/wait.h>

#include <array>
#include <string>

namespace autocompress {

inline std::string run_cli(const std::string& args, int* rc = nullptr, bool with_stderr = false) {
  std::string out;
  const std::string cmd =
      std::string(AC_CLI) + " " + args + (with_stderr ? " 2>&1" : " 2>/dev/null");
  FILE* p = popen(cmd.c_str(), "r");
  std::array<char, 4096> buf;
  while (size_t n = fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  const int status = pclose(p);
  if (rc) *rc = WEXITSTATUS(status);
  return out;
}

}  // namespace autocompress
