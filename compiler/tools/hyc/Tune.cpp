//===- Tune.cpp - `hyc tune`: search kernel schedules, write a tuning DB ---===//
#include "Driver.h"

#include "hyc/Tuner.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <unistd.h>

using namespace hyc;

namespace {
/// Adams2019's beam for budgets under 30 minutes (its own default is 32).
constexpr int kShortBudgetAdamsBeam = 4;
const char *kTuneUsage =
    "usage: hyc tune --model MODEL.gguf --target T -o tuning.json [--budget MINUTES]\n"
    "                [--runner CMD] [--threads N] [--seed S] [--no-adams]\n"
    "                [--adams-beam-size N] [--activations int8|f32] [--kv-cache T]\n"
    "       hyc tune --list-spaces\n"
    "  Finds the model's distinct (kernel, shape) pairs (the matmuls, attention, rms_norm,\n"
    "  rope, swiglu and the int8 quantize kernels), measures each kernel's default\n"
    "  schedule and Halide's Adams2019 autoschedule, searches the kernel generator's\n"
    "  declared schedule space within the budget (default 10 minutes, fractions allowed)\n"
    "  and writes the tuning database for `hyc compile --tuning-db`. Every measurement\n"
    "  goes to tuning.json.journal; a second run skips what it holds. Ctrl-C writes\n"
    "  the best so far and exits with status 130.\n"
    "  --runner CMD   run candidates through CMD (split at spaces; e.g. qemu-aarch64 or an\n"
    "                 ssh/adb wrapper); needed for targets this machine cannot run\n"
    "  --threads N    kernel threads while timing (default: this machine's cores)\n"
    "  --no-adams     skip the Adams2019 baseline (it gets at most 40% of the budget)\n"
    "  --adams-beam-size N  Adams2019's beam size (default: 4 for budgets under 30 minutes,\n"
    "                 else its own 32, which took 86-209 s and up to 6 GB per HY decode\n"
    "                 kernel on 2 cores; 1 is ~60x faster than 32)\n"
    "  --activations A  tune the kernels hyc compile --activations A uses (default: the\n"
    "                 target's, as for hyc compile)\n"
    "  --kv-cache T   tune the attention kernels over a T KV cache (f32, f16 or q8_0;\n"
    "                 default f16, as for hyc compile)\n";

std::vector<std::string> splitSpaces(const std::string &s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == ' ' || c == '\t') {
      if (!cur.empty())
        out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty())
    out.push_back(cur);
  return out;
}

int listSpaces() {
  std::printf("{\"spaces\": [");
  bool firstSpace = true;
  for (const SearchSpace &s : allSearchSpaces()) {
    std::printf("%s\n  {\"generator\": \"%s\", \"isa\": \"%s\", \"knobs\": [",
                firstSpace ? "" : ",", s.generator.c_str(), s.isa.c_str());
    bool firstKnob = true;
    for (const TuneKnob &k : s.knobs) {
      std::printf("%s\n    {\"name\": \"%s\", \"boolean\": %s, \"default\": %lld, \"values\": [",
                  firstKnob ? "" : ",", k.name.c_str(), k.boolean ? "true" : "false",
                  static_cast<long long>(k.defaultValue));
      for (size_t i = 0; i < k.values.size(); ++i)
        std::printf("%s%lld", i ? ", " : "", static_cast<long long>(k.values[i]));
      std::printf("]}");
      firstKnob = false;
    }
    std::printf("]}");
    firstSpace = false;
  }
  std::printf("\n]}\n");
  return 0;
}
} // namespace

int hyc::driver::tuneMain(const std::vector<std::string> &args) {
  const std::string cmd = "tune";
  TuneOptions opt;
  std::string target, budget, runner, activations;
  bool haveBudget = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string &a = args[i];
    std::string v, error;
    auto value = [&]() {
      if (i + 1 >= args.size())
        return false;
      v = args[++i];
      return true;
    };
    if (a == "--help" || a == "-h") {
      std::fputs(kTuneUsage, stdout);
      return 0;
    }
    if (a == "--list-spaces")
      return listSpaces();
    if (a == "--no-adams") {
      opt.noAdams = true;
      continue;
    }
    if (a == "--model" || a == "--target" || a == "-o" || a == "--budget" || a == "--runner" ||
        a == "--threads" || a == "--seed" || a == "--adams-beam-size" ||
        a == "--activations" || a == "--kv-cache") {
      if (!value())
        return fail(cmd, "option " + a + " needs a value");
      long long n = 0;
      if (a == "--model")
        opt.model = v;
      else if (a == "--target")
        target = v;
      else if (a == "-o")
        opt.output = v;
      else if (a == "--runner")
        runner = v;
      else if (a == "--activations")
        activations = v;
      else if (a == "--kv-cache") {
        if (!parseKvCache(v, opt.kvCache, error))
          return fail(cmd, error);
      }
      else if (a == "--budget") {
        char *end = nullptr;
        errno = 0;
        double m = std::strtod(v.c_str(), &end);
        if (v.empty() || *end != '\0' || errno != 0 || !(m > 0) || m > 7 * 24 * 60)
          return fail(cmd, "--budget expects minutes > 0 (fractions allowed), got '" + v + "'");
        opt.budgetSeconds = m * 60;
        haveBudget = true;
      } else if (a == "--adams-beam-size") {
        if (!parsePositive(a, v, 1024, n, error))
          return fail(cmd, error);
        opt.adamsBeamSize = static_cast<int>(n);
      } else if (a == "--threads") {
        if (!parsePositive(a, v, 1024, n, error))
          return fail(cmd, error);
        opt.threads = static_cast<int>(n);
      } else {
        if (!parsePositive(a, v, 1ll << 62, n, error))
          return fail(cmd, error);
        opt.seed = static_cast<uint64_t>(n);
      }
    } else {
      return fail(cmd, "unknown argument '" + a + "' (see 'hyc tune --help')");
    }
  }
  (void)haveBudget;
  // Adams2019's own beam (32) needs minutes per decode kernel here, more than
  // a short budget's 40% baseline share holds for all of them: a short run
  // uses a narrower beam (recorded in the database as adams2019_beam_size).
  if (opt.adamsBeamSize == 0 && opt.budgetSeconds < 30 * 60)
    opt.adamsBeamSize = kShortBudgetAdamsBeam;
  if (opt.model.empty())
    return fail(cmd, "no model given (--model MODEL.gguf)");
  if (opt.output.empty())
    return fail(cmd, "no output given (-o tuning.json)");
  if (target.empty())
    target = "host";
  std::string error;
  if (!resolveTarget(target, opt.target, error) ||
      !setActivations(activations, opt.target, error))
    return fail(cmd, error);
  if (opt.target.os == "macos")
    return fail(cmd, "target " + opt.target.name + " cannot be tuned from here: its "
                     "candidates would be Mach-O programs, and hyc links only Linux ones. "
                     "Tune for " + opt.target.tuningName +
                     " on the same chip under Linux (the same kernels); hyc compile --target " +
                     opt.target.name + " --tuning-db uses those entries");
  if (opt.target.kernelIsa == "sme2")
    return fail(cmd, "tuning is not supported for target " + opt.target.name +
                         " yet: its Q2_0C kernels are hand-written SME2 code "
                         "(schedules/sme2), not Halide generators with a search space; "
                         "compile for it without --tuning-db");
  opt.runner = splitSpaces(runner);
  if (!runner.empty() && opt.runner.empty())
    return fail(cmd, "--runner is empty");
  if (opt.runner.empty() && opt.target.triple.rfind("x86_64", 0) != 0)
    return fail(cmd, "target " + opt.target.name + " does not run on this machine: give "
                     "--runner CMD (e.g. --runner .tools/qemu/usr/bin/qemu-aarch64)");
  if (!llvm::sys::fs::exists(opt.model))
    return fail(cmd, "cannot read model '" + opt.model + "': no such file");
  // Fail now, not after the budget, if the output cannot be written (and
  // create nothing while finding out).
  {
    std::string dir = llvm::sys::path::parent_path(opt.output).str();
    if (dir.empty())
      dir = ".";
    std::string journal = opt.output + ".journal";
    std::string why;
    if (llvm::sys::fs::is_directory(opt.output))
      why = "it is a directory";
    else if (!llvm::sys::fs::is_directory(dir))
      why = "no directory '" + dir + "' (hyc tune does not create it)";
    else if (::access(dir.c_str(), W_OK) != 0)
      why = "directory '" + dir + "' is not writable";
    else if (llvm::sys::fs::exists(opt.output) && ::access(opt.output.c_str(), W_OK) != 0)
      why = "the file is not writable";
    else if (llvm::sys::fs::exists(journal) && ::access(journal.c_str(), W_OK) != 0)
      why = "its journal '" + journal + "' is not writable";
    if (!why.empty())
      return fail(cmd, "cannot write the output '" + opt.output + "': " + why);
  }
  int rc = runTuner(opt, error);
  if (rc == 1)
    return fail(cmd, error);
  return rc;
}
