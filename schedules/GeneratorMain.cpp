//===- GeneratorMain.cpp - main() of hyk_halide_generators -----------------===//
//
// Halide's command-line generator driver (generate_filter_main), with one
// change for x86-64 objects: their software prefetches become prefetcht0.
//
// Halide lowers every `prefetch` directive to a prefetch with no temporal
// locality, which x86 encodes as prefetchnta. On the 2-core Intel Xeon VM
// (Sapphire/Emerald Rapids class) prefetchnta ahead of the decode GEMVs'
// DRAM streams made decode 26.5 tokens/s against 33-35 without any prefetch
// and 35-39 with the same prefetches as prefetcht0 (bench/RESULTS.md,
// 2026-12-07 12:00); a C read loop showed the same (17 vs 30 GB/s at 2
// threads). The weights are read once per token, but read within ~1 KB of
// the prefetch, so L1 is where they should land.
//
// So when the target is x86-64 Linux (ELF; "host" on such a machine) and
// `-e` asks for `object`, this driver asks Halide for `assembly` instead,
// rewrites prefetchnta to prefetcht0 (same operands, same length) and
// assembles the result with the system's C compiler driver (`cc`, or
// $HYK_ASSEMBLER_CC): the object then holds the code Halide would have
// emitted, but for the prefetch hint. Other targets and other outputs go to
// Halide untouched. Every caller (the build's
// add_halide_library, `hyc compile` for tuned kernels, `hyc tune` for its
// candidates) runs this executable, so all x86 kernels agree.
//
//===----------------------------------------------------------------------===//

#include "Halide.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace {

/// The value after flag `name` (e.g. "-o"), or "" when absent.
std::string flagValue(const std::vector<std::string> &args, const char *name) {
  for (size_t i = 1; i + 1 < args.size(); ++i)
    if (args[i] == name)
      return args[i + 1];
  return "";
}

std::vector<std::string> splitCommas(const std::string &s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');)
    out.push_back(item);
  return out;
}

/// Runs argv (argv[0] looked up on PATH); the exit status, or -1 when it
/// could not start or did not exit normally.
int run(const std::vector<std::string> &argv) {
  std::vector<char *> cargv;
  for (const std::string &a : argv)
    cargv.push_back(const_cast<char *>(a.c_str()));
  cargv.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0)
    return -1;
  if (pid == 0) {
    execvp(cargv[0], cargv.data());
    std::fprintf(stderr, "hyk_halide_generators: cannot run '%s': %s\n", cargv[0],
                 std::strerror(errno));
    _exit(127);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
    return -1;
  return WEXITSTATUS(status);
}

/// Replaces every "prefetchnta" in `text` with "prefetcht0".
void rewritePrefetches(std::string &text) {
  static const std::string from = "prefetchnta", to = "prefetcht0";
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at)) {
    text.replace(at, from.size(), to);
    at += to.size();
  }
}

int runHalide(std::vector<std::string> &args) {
  std::vector<char *> argv;
  for (std::string &a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  return Halide::Internal::generate_filter_main(static_cast<int>(args.size()), argv.data());
}

} // namespace

int main(int argc, char **argv) {
  std::vector<std::string> args(argv, argv + argc);
  std::string target;
  for (const std::string &a : args)
    if (a.rfind("target=", 0) == 0)
      target = a.substr(7);
  size_t emitAt = 0;
  for (size_t i = 1; i + 1 < args.size(); ++i)
    if (args[i] == "-e")
      emitAt = i + 1;
  std::vector<std::string> emits = emitAt ? splitCommas(args[emitAt]) : std::vector<std::string>{};
  bool object = false, assembly = false;
  for (const std::string &e : emits) {
    object |= e == "object";
    assembly |= e == "assembly";
  }
  // Rewrite only what the system's assembler can take: x86-64 ELF (the
  // callers pass explicit targets; "host" resolves to this machine). A target
  // string Halide cannot parse goes to Halide, which reports it.
  bool x86Linux = false;
  if (object && Halide::Target::validate_target_string(target)) {
    Halide::Target t(target);
    x86Linux = t.arch == Halide::Target::X86 && t.bits == 64 && t.os == Halide::Target::Linux;
  }
  if (!x86Linux)
    return runHalide(args);

  // Object -> assembly (once), then assemble the rewritten text ourselves.
  std::string list;
  for (const std::string &e : emits)
    if (e != "object" && e != "assembly")
      list += (list.empty() ? "" : ",") + e;
  list += (list.empty() ? "" : ",") + std::string("assembly");
  args[emitAt] = list;
  if (int rc = runHalide(args))
    return rc;

  // Halide names outputs after -n, else after the function name of -f
  // (without any C++ namespace).
  std::string base = flagValue(args, "-n");
  if (base.empty()) {
    base = flagValue(args, "-f");
    size_t colon = base.rfind("::");
    if (colon != std::string::npos)
      base = base.substr(colon + 2);
  }
  std::string dir = flagValue(args, "-o");
  if (dir.empty())
    dir = ".";
  const std::string asmPath = dir + "/" + base + ".s", objPath = dir + "/" + base + ".o";
  std::string text;
  {
    std::ifstream in(asmPath, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "hyk_halide_generators: Halide wrote no assembly at '%s'\n",
                   asmPath.c_str());
      return 1;
    }
    std::stringstream buf;
    buf << in.rdbuf();
    text = buf.str();
  }
  rewritePrefetches(text);
  // The assembly is rewritten in place (so that, when it was asked for
  // too, it is the text the object comes from) and removed afterwards when
  // it was not asked for.
  const std::string tmpObj = objPath + ".tmp";
  {
    std::ofstream out(asmPath, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) {
      std::fprintf(stderr, "hyk_halide_generators: cannot write '%s'\n", asmPath.c_str());
      std::remove(asmPath.c_str());
      return 1;
    }
  }
  const char *cc = std::getenv("HYK_ASSEMBLER_CC");
  std::string driver = cc && *cc ? cc : "cc";
  int rc = run({driver, "-c", "-x", "assembler", asmPath, "-o", tmpObj});
  if (!assembly)
    std::remove(asmPath.c_str());
  if (rc != 0) {
    std::remove(tmpObj.c_str());
    std::fprintf(stderr,
                 "hyk_halide_generators: assembling %s for %s with '%s' failed (exit %d); "
                 "x86-64 kernels need an x86-64 assembler (set HYK_ASSEMBLER_CC to a C "
                 "compiler driver that has one)\n",
                 base.c_str(), target.c_str(), driver.c_str(), rc);
    return 1;
  }
  if (std::rename(tmpObj.c_str(), objPath.c_str()) != 0) {
    std::fprintf(stderr, "hyk_halide_generators: cannot write '%s': %s\n", objPath.c_str(),
                 std::strerror(errno));
    std::remove(tmpObj.c_str());
    return 1;
  }
  return 0;
}
