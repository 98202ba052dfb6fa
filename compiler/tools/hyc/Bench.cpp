//===- Bench.cpp - `hyc bench`: prefill, decode, TTFT, RSS and roofline ---===//
//
//   hyc bench DIR [--threads 1,2] [--runs 5] [--pp 512] [--tg 128] [--depth 0]
//             [--ttft 256,1024|none] [--context N] [--json FILE]
//             [--bandwidth-mib 1024] [--no-bandwidth] [--seed S]
//
// Measures a hyc-compiled model directory through the runtime's public C API
// (hy/hy.h), the way an application would call it:
//   pp<N>   prompt processing: hy_prefill of N tokens on an empty context
//   tg<N>   token generation: N single-token hy_decode calls from position 0
//           (logits of every step computed, as in a generation loop)
//   --depth D: pp and tg run on a context already holding D tokens (an
//           untimed hy_prefill before each run; llama-bench's -d), so they
//           measure a long conversation's later turns: attention over D+
//           cached positions
//   ttft<N> time to first token: hy_prefill of N tokens + argmax of the logits
// Each thread count runs in its own process of hyc-bench-runner
// (BenchRunner.cpp: the runtime and nothing of the compiler), so its peak RSS
// (wait4) belongs to that configuration alone, as in an application. The prompt tokens are
// synthetic: pseudo-random ids, uniform in [0, n_vocab), from splitmix64
// seeded with --seed (the same ids for every run and configuration); tg feeds
// the next synthetic id rather than the argmax, so the work per step does not
// depend on the (random) weights. llama.cpp's llama-bench does the same.
//
// The machine's sustained read bandwidth is measured before and after the
// model runs (a STREAM-like sum over a buffer far larger than the caches, 1
// thread and every --threads count, several passes each time, in its own
// process), and decode is reported against the roofline: the best pass of
// both probes / bytes read per token (formula in bytesPerToken() and
// bench/README.md). Two probes because a VM's bandwidth swings between
// minutes: one probe that caught a slow minute would inflate the fraction.
//===----------------------------------------------------------------------===//
#include "Driver.h"

#include "hy/hy.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <spawn.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>


using namespace hyc::driver;

namespace {
const char *kCmd = "bench";

const char *kBenchUsage =
    "usage: hyc bench DIR [options]\n"
    "  DIR                 a directory written by hyc compile (libhy_NAME.so, NAME.weights)\n"
    "  --threads LIST      thread counts, comma-separated (default 1,2)\n"
    "  --runs N            timed runs per measurement (default 5; median, min, max)\n"
    "  --pp N              prompt-processing test: prefill N tokens (default 512; 0: skip)\n"
    "  --tg N              token-generation test: N decode steps from position 0\n"
    "                      (default 128; 0: skip)\n"
    "  --depth D           run pp and tg on a context already holding D tokens (an untimed\n"
    "                      prefill before each run, as llama-bench -d; default 0)\n"
    "  --ttft LIST         time-to-first-token prompt lengths (default 256,1024; none: skip)\n"
    "  --context N         require the library's context to be N positions\n"
    "                      (hyc compile --context N); default: whatever it was compiled with\n"
    "  --json FILE         write the results as JSON to FILE ('-': stdout)\n"
    "  --bandwidth-mib N   read-bandwidth buffer in MiB (default 1024)\n"
    "  --no-bandwidth      skip the bandwidth measurement (no roofline figures)\n"
    "  --no-mmap           read the weights into huge-page memory instead of mapping the\n"
    "                      file (hy_model_options_t.no_mmap; hyc run --no-mmap)\n"
    "  --seed S            seed of the synthetic token ids (default 1234)\n";

//===----------------------------------------------------------------------===//
// Small helpers
//===----------------------------------------------------------------------===//

double now() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool parseList(const std::string &flag, const std::string &text, long long max,
               std::vector<long long> &out, std::string &error) {
  out.clear();
  size_t start = 0;
  while (true) {
    size_t comma = text.find(',', start);
    std::string part = text.substr(start, comma == std::string::npos
                                              ? std::string::npos
                                              : comma - start);
    long long v = 0;
    if (!parsePositive(flag, part, max, v, error)) {
      error = flag + " expects comma-separated integers in [1, " +
              std::to_string(max) + "], got '" + text + "'";
      return false;
    }
    out.push_back(v);
    if (comma == std::string::npos)
      break;
    start = comma + 1;
  }
  return true;
}

bool parseNonNegative(const std::string &flag, const std::string &text,
                      long long max, long long &out, std::string &error) {
  if (text == "0") {
    out = 0;
    return true;
  }
  if (!parsePositive(flag, text, max, out, error)) {
    error = flag + " expects an integer in [0, " + std::to_string(max) +
            "], got '" + text + "'";
    return false;
  }
  return true;
}

struct Stats {
  double median = 0, min = 0, max = 0;
};
Stats stats(std::vector<double> v) {
  Stats s;
  if (v.empty())
    return s;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  s.median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  s.min = v.front();
  s.max = v.back();
  return s;
}

std::string readText(const std::string &path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string trim(std::string s) {
  size_t b = s.find_first_not_of(" \t\n"), e = s.find_last_not_of(" \t\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::vector<double> loadAverage() {
  double a = 0, b = 0, c = 0;
  FILE *f = std::fopen("/proc/loadavg", "r");
  if (f) {
    if (std::fscanf(f, "%lf %lf %lf", &a, &b, &c) != 3)
      a = b = c = 0;
    std::fclose(f);
  }
  return {a, b, c};
}

std::string utcNow() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

//===----------------------------------------------------------------------===//
// The machine
//===----------------------------------------------------------------------===//

llvm::json::Object describeMachine() {
  llvm::json::Object m;
  std::string cpuinfo = readText("/proc/cpuinfo");
  std::string model, flags, mhz;
  std::set<std::pair<std::string, std::string>> cores;
  std::string physId;
  std::istringstream ls(cpuinfo);
  std::string line;
  while (std::getline(ls, line)) {
    size_t colon = line.find(':');
    if (colon == std::string::npos)
      continue;
    std::string key = trim(line.substr(0, colon)), val = trim(line.substr(colon + 1));
    if (key == "model name" && model.empty())
      model = val;
    else if ((key == "flags" || key == "Features") && flags.empty())
      flags = val;
    else if (key == "cpu MHz" && mhz.empty())
      mhz = val;
    else if (key == "physical id")
      physId = val;
    else if (key == "core id")
      cores.insert({physId, val});
  }
  m["cpu_model"] = model.empty() ? "unknown" : model;
  m["logical_cpus"] = static_cast<int64_t>(sysconf(_SC_NPROCESSORS_ONLN));
  if (!cores.empty())
    m["physical_cores"] = static_cast<int64_t>(cores.size());
  if (!mhz.empty())
    m["cpu_mhz"] = std::atof(mhz.c_str());
  // The flags that decide which kernels a target can use.
  static const char *kRelevant[] = {
      "sse4_1", "sse4_2", "avx", "avx2", "fma", "f16c", "bmi2", "avx512f",
      "avx512bw", "avx512vl", "avx512dq", "avx512_vnni", "avx_vnni",
      "avx512_bf16", "avx512_vbmi", "amx_int8", "amx_tile", "asimd",
      "asimddp", "i8mm", "sve", "sve2", "sme", "sme2"};
  std::set<std::string> have;
  std::istringstream fs(flags);
  for (std::string f; fs >> f;)
    have.insert(f);
  llvm::json::Array rel;
  for (const char *f : kRelevant)
    if (have.count(f))
      rel.push_back(f);
  m["flags"] = std::move(rel);
  llvm::json::Array caches;
  for (int i = 0; i < 8; ++i) {
    std::string base = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(i) + "/";
    std::string level = trim(readText(base + "level"));
    if (level.empty())
      break;
    caches.push_back(llvm::json::Object{{"level", std::atoll(level.c_str())},
                                        {"type", trim(readText(base + "type"))},
                                        {"size", trim(readText(base + "size"))}});
  }
  m["caches_per_cpu0"] = std::move(caches);
  struct utsname u;
  if (uname(&u) == 0)
    m["kernel"] = std::string(u.sysname) + " " + u.release + " " + u.machine;
  std::string meminfo = readText("/proc/meminfo");
  auto memKey = [&](const char *key) -> int64_t {
    size_t p = meminfo.find(std::string(key) + ":");
    return p == std::string::npos ? 0 : std::atoll(meminfo.c_str() + p + std::strlen(key) + 1) * 1024;
  };
  m["memory_total_bytes"] = memKey("MemTotal");
  m["memory_available_bytes"] = memKey("MemAvailable");
  return m;
}

//===----------------------------------------------------------------------===//
// Bytes read per decode step
//===----------------------------------------------------------------------===//

/// Bytes per weight of the storage format a kernel name mentions
/// ("gemv_q2_0c" -> Q2_0C: 130-byte blocks of 512); 0 if none.
double bytesPerWeight(const std::string &kernel) {
  struct F {
    const char *name;
    double bpw;
  };
  // Longer names first where one contains another (bf16/f16).
  static const F kFormats[] = {{"q2_0c", 130.0 / 512}, {"tq2_0", 66.0 / 256},
                               {"q2_k", 84.0 / 256},   {"q8_0", 34.0 / 32},
                               {"q4_k", 144.0 / 256},  {"q6_k", 210.0 / 256},
                               {"bf16", 2},            {"f16", 2},
                               {"f32", 4}};
  for (const F &f : kFormats)
    if (kernel.find(f.name) != std::string::npos)
      return f.bpw;
  return 0;
}

/// The format whose bytes per weight is within 1% of `bpw`, or "".
std::string formatOfBpw(double bpw) {
  static const std::pair<const char *, double> kFormats[] = {
      {"q8_0", 34.0 / 32}, {"f16/bf16", 2}, {"f32", 4}, {"q2_k", 84.0 / 256},
      {"q2_0c", 130.0 / 512}, {"q4_k", 144.0 / 256}, {"q6_k", 210.0 / 256}};
  for (auto &[name, b] : kFormats)
    if (std::fabs(bpw - b) <= 0.01 * b)
      return name;
  return "";
}

struct TokenBytes {
  double linear = 0, lmHead = 0, norms = 0, kvPerPosition = 0;
  double kvMean = 0; ///< KV bytes read per step, averaged over the tg steps
  double total = 0;
  std::string linearFormat, headFormat, method;
};

/// Bytes one decode step streams from memory:
///   linear  = n_layer * (q + k + v + o + gate + up + down parameters)
///             * bytes per weight of their format (from the kernels that
///             manifest.json lists, e.g. gemv_q2_0c: 130 bytes per 512)
///   norms   = ((2 n_layer + 1) n_embd + 2 n_layer head_dim) * 4 (f32)
///   lm_head = weights_bytes - linear - norms: the rest of the blob is the
///             tied embedding matrix (n_vocab x n_embd), which the lm_head
///             reads whole once per step (the embedding lookup's one row is
///             part of it); its format is told by its bytes per weight
///   kv      = (pos + 1) * kv_bytes / n_ctx   (every cached K and V row of
///             every layer up to pos), averaged over the tg positions
///             depth..depth+tg-1
/// This holds while the blob is exactly the model's tensors (64-byte aligned),
/// as hyc lays it out today; a blob with repacked copies would overstate it.
TokenBytes bytesPerToken(const hy_model_desc_t &d, const llvm::json::Array *kernels,
                         long long tgSteps, long long depth) {
  TokenBytes b;
  double E = d.n_embd, L = d.n_layer, H = d.n_head, KV = d.n_head_kv,
         D = d.head_dim, F = d.n_ff, V = d.n_vocab;
  double linearParams = L * (E * H * D + 2 * E * KV * D + H * D * E + 3 * E * F);
  b.norms = ((2 * L + 1) * E + 2 * L * D) * 4;
  double linearBpw = 0;
  std::string anyName;
  double anyBpw = 0;
  if (kernels) {
    for (const llvm::json::Value &k : *kernels) {
      const llvm::json::Object *o = k.getAsObject();
      if (!o)
        continue;
      std::string name = o->getString("kernel").value_or("").str();
      // Only the matmuls read weights (attention and the pointwise ops list
      // "weights": "").
      if (o->getString("weights").value_or("").empty())
        continue;
      double bpw = bytesPerWeight(name);
      if (bpw == 0)
        continue;
      if (anyBpw == 0) {
        anyBpw = bpw;
        anyName = name;
      }
      // The (n_vocab, n_embd) kernel is the lm_head (unless a linear layer has
      // that shape too, as in tiny test models: then any kernel tells).
      if (o->getInteger("n").value_or(0) == d.n_vocab &&
          o->getInteger("k").value_or(0) == d.n_embd)
        continue;
      if (linearBpw == 0) {
        linearBpw = bpw;
        b.linearFormat = name;
      } else if (linearBpw != bpw) {
        b.linearFormat += " (mixed with " + name + ": the first is used)";
      }
    }
  }
  if (linearBpw == 0 && anyBpw > 0) {
    linearBpw = anyBpw;
    b.linearFormat = anyName;
  }
  if (linearBpw == 0) {
    linearBpw = 130.0 / 512;
    b.linearFormat = "q2_0c (assumed: manifest.json lists no kernel)";
  }
  b.linear = linearParams * linearBpw;
  b.lmHead = std::max(0.0, static_cast<double>(d.weights_bytes) - b.linear - b.norms);
  double headBpw = V * E > 0 ? b.lmHead / (V * E) : 0;
  std::string f = formatOfBpw(headBpw);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%.4f bytes/weight%s%s", headBpw, f.empty() ? "" : ": ",
                f.c_str());
  b.headFormat = buf;
  b.method = "linear from the model shape and the kernels' format; lm_head = the rest of "
             "the weights blob (tied embedding)";
  b.kvPerPosition = d.n_ctx > 0 ? static_cast<double>(d.kv_bytes) / d.n_ctx : 0;
  double meanPositions = static_cast<double>(depth) + (tgSteps > 0 ? (tgSteps + 1) / 2.0 : 1.0);
  b.kvMean = b.kvPerPosition * meanPositions;
  b.total = b.linear + b.lmHead + b.norms + b.kvMean;
  return b;
}

//===----------------------------------------------------------------------===//
// Children
//===----------------------------------------------------------------------===//

struct Options {
  std::string dir, jsonPath;
  std::vector<long long> threads = {1, 2}, ttft = {256, 1024};
  long long runs = 5, pp = 512, tg = 128, depth = 0, context = 0, bandwidthMiB = 1024;
  long long seed = 1234;
  bool bandwidth = true, noMmap = false;
  std::vector<std::string> argv;
};

/// Runs hyc-bench-runner with `args` in a new process whose stdout is a
/// pipe; returns its output, exit status and rusage. stderr stays shared
/// (progress lines).
struct ChildResult {
  std::string output;
  int status = -1;
  struct rusage usage {};
};

/// hyc-bench-runner: $HYC_BENCH_RUNNER, else beside this hyc executable.
std::string runnerPath() {
  if (const char *env = std::getenv("HYC_BENCH_RUNNER"); env && *env)
    return env;
  static int anchor;
  std::string exe = llvm::sys::fs::getMainExecutable("hyc", &anchor);
  return (llvm::sys::path::parent_path(exe) + "/hyc-bench-runner").str();
}

bool runRunner(const std::vector<std::string> &args, ChildResult &r, std::string &error) {
  std::string runner = runnerPath();
  if (access(runner.c_str(), X_OK) != 0) {
    error = "cannot run the measuring program '" + runner + "': " + std::strerror(errno) +
            " (it is built with hyc: target hyc-bench-runner; or set HYC_BENCH_RUNNER)";
    return false;
  }
  int fds[2];
  if (pipe(fds) != 0) {
    error = std::string("pipe: ") + std::strerror(errno);
    return false;
  }
  std::vector<std::string> all = {runner};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char *> argv;
  for (std::string &a : all)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  posix_spawn_file_actions_addclose(&actions, fds[1]);
  std::fflush(stdout);
  std::fflush(stderr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, runner.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    error = "cannot start '" + runner + "': " + std::strerror(rc);
    return false;
  }
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0)
      r.output.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  while (wait4(pid, &r.status, 0, &r.usage) < 0) {
    if (errno != EINTR) {
      error = std::string("wait4: ") + std::strerror(errno);
      return false;
    }
  }
  return true;
}

std::string joinList(const std::vector<long long> &v) {
  if (v.empty())
    return "none";
  std::string s;
  for (long long x : v)
    s += (s.empty() ? "" : ",") + std::to_string(x);
  return s;
}

/// The child's lines, by key.
std::multimap<std::string, std::vector<std::string>> parseLines(const std::string &text) {
  std::multimap<std::string, std::vector<std::string>> m;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string key;
    if (!(ls >> key))
      continue;
    std::vector<std::string> rest;
    if (key == "error") {
      std::string msg;
      std::getline(ls, msg);
      rest.push_back(trim(msg));
    } else {
      for (std::string w; ls >> w;)
        rest.push_back(w);
    }
    m.emplace(key, rest);
  }
  return m;
}

std::string childFailure(const ChildResult &r) {
  auto lines = parseLines(r.output);
  auto it = lines.find("error");
  if (it != lines.end() && !it->second.empty())
    return it->second[0];
  if (WIFSIGNALED(r.status))
    return "killed by signal " + std::to_string(WTERMSIG(r.status));
  if (WIFEXITED(r.status) && WEXITSTATUS(r.status) != 0)
    return "exited with status " + std::to_string(WEXITSTATUS(r.status));
  return "";
}

llvm::json::Object statsJson(const std::vector<double> &v) {
  Stats s = stats(v);
  llvm::json::Array samples;
  for (double x : v)
    samples.push_back(x);
  return llvm::json::Object{{"median", s.median}, {"min", s.min}, {"max", s.max},
                            {"samples", std::move(samples)}};
}

std::string threadsLabel(long long t) {
  return std::to_string(t) + (t == 1 ? " thread" : " threads");
}
} // namespace

int hyc::driver::benchMain(const std::vector<std::string> &args) {
  Options o;
  o.argv = args;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string &a = args[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kBenchUsage, stdout);
      return 0;
    }
    std::string v, error;
    auto value = [&]() {
      if (i + 1 >= args.size())
        return false;
      v = args[++i];
      return true;
    };
    static const std::set<std::string> kValued = {
        "--threads", "--runs", "--pp", "--tg", "--depth", "--ttft", "--context",
        "--json", "--bandwidth-mib", "--seed"};
    if (kValued.count(a)) {
      if (!value())
        return fail(kCmd, "option " + a + " needs a value");
      bool ok = true;
      if (a == "--threads")
        ok = parseList(a, v, 256, o.threads, error);
      else if (a == "--runs")
        ok = parsePositive(a, v, 1000, o.runs, error);
      else if (a == "--pp")
        ok = parseNonNegative(a, v, 1 << 20, o.pp, error);
      else if (a == "--tg")
        ok = parseNonNegative(a, v, 1 << 20, o.tg, error);
      else if (a == "--depth")
        ok = parseNonNegative(a, v, 1 << 20, o.depth, error);
      else if (a == "--ttft") {
        if (v == "none")
          o.ttft.clear();
        else
          ok = parseList(a, v, 1 << 20, o.ttft, error);
      } else if (a == "--context")
        ok = parsePositive(a, v, 1 << 20, o.context, error);
      else if (a == "--json")
        o.jsonPath = v;
      else if (a == "--bandwidth-mib")
        ok = parsePositive(a, v, 1 << 16, o.bandwidthMiB, error);
      else if (a == "--seed")
        ok = parseNonNegative(a, v, INT64_MAX, o.seed, error);
      if (!ok)
        return fail(kCmd, error);
    } else if (a == "--no-bandwidth") {
      o.bandwidth = false;
    } else if (a == "--no-mmap") {
      o.noMmap = true;
    } else if (!a.empty() && a[0] == '-') {
      return fail(kCmd, "unknown option '" + a + "' (see 'hyc bench --help')");
    } else if (o.dir.empty()) {
      o.dir = a;
    } else {
      return fail(kCmd, "unexpected argument '" + a + "' (one model directory expected)");
    }
  }
  if (o.dir.empty())
    return fail(kCmd, "no model directory given (usage: hyc bench DIR [options])");
  if (o.pp == 0 && o.tg == 0 && o.ttft.empty())
    return fail(kCmd, "nothing to measure: --pp 0, --tg 0 and --ttft none");
  {
    std::set<long long> seen;
    for (long long t : o.threads)
      if (!seen.insert(t).second)
        return fail(kCmd, "--threads lists " + std::to_string(t) + " twice");
  }

  // Check the model and read its description in a runner process too, so
  // this process never maps the library.
  hy_model_desc_t desc;
  hy_model_info_t info;
  std::memset(&desc, 0, sizeof desc);
  std::memset(&info, 0, sizeof info);
  {
    ChildResult r;
    std::string error;
    if (!runRunner({"probe", o.dir}, r, error))
      return fail(kCmd, error);
    std::string why = childFailure(r);
    if (!why.empty())
      return fail(kCmd, why);
    bool haveDesc = false;
    for (auto &[key, vals] : parseLines(r.output)) {
      if (key == "desc" && vals.size() == sizeof desc / sizeof(int64_t)) {
        int64_t *fields = reinterpret_cast<int64_t *>(&desc);
        for (size_t i = 0; i < vals.size(); ++i)
          fields[i] = std::atoll(vals[i].c_str());
        haveDesc = true;
      } else if (key == "info" && vals.size() == 2) {
        info.has_prefill = std::atoi(vals[0].c_str());
        info.has_parallel = std::atoi(vals[1].c_str());
      }
    }
    if (!haveDesc)
      return fail(kCmd, "could not read the model's description");
  }
  if (o.context && desc.n_ctx != o.context)
    return fail(kCmd, "the library holds " + std::to_string(desc.n_ctx) +
                          " positions, --context asks for " + std::to_string(o.context) +
                          " (recompile with hyc compile --context " +
                          std::to_string(o.context) + ")");
  {
    // pp and tg start after --depth cached tokens; a TTFT prompt starts empty.
    long long longest = 0;
    std::string which;
    auto need = [&](long long n, const std::string &what) {
      if (n > longest) {
        longest = n;
        which = what;
      }
    };
    const std::string plusDepth = o.depth ? " with --depth " + std::to_string(o.depth) : "";
    if (o.pp)
      need(o.depth + o.pp, "--pp" + plusDepth);
    if (o.tg)
      need(o.depth + o.tg, "--tg" + plusDepth);
    for (long long n : o.ttft)
      need(n, "--ttft");
    if (longest > desc.n_ctx)
      return fail(kCmd, which + " needs " + std::to_string(longest) +
                            " positions but the library holds " + std::to_string(desc.n_ctx) +
                            " (recompile with hyc compile --context N)");
  }
  if (!o.jsonPath.empty() && o.jsonPath != "-") {
    bool existed = access(o.jsonPath.c_str(), F_OK) == 0;
    std::FILE *f = std::fopen(o.jsonPath.c_str(), "a");
    if (!f)
      return fail(kCmd, "cannot write '" + o.jsonPath + "': " + std::strerror(errno));
    std::fclose(f);
    if (!existed)
      std::remove(o.jsonPath.c_str());
  }

  // The library's manifest (target, kernels: the formats bytesPerToken needs).
  llvm::json::Value manifest = nullptr;
  {
    auto buf = llvm::MemoryBuffer::getFile(o.dir + "/manifest.json");
    if (!buf)
      return fail(kCmd, "cannot read '" + o.dir + "/manifest.json'");
    auto parsed = llvm::json::parse((*buf)->getBuffer());
    if (!parsed) {
      std::string msg = llvm::toString(parsed.takeError());
      return fail(kCmd, o.dir + "/manifest.json: " + msg);
    }
    manifest = std::move(*parsed);
  }
  const llvm::json::Object *man = manifest.getAsObject();
  if (!man)
    return fail(kCmd, o.dir + "/manifest.json is not a JSON object");
  TokenBytes tb = bytesPerToken(desc, man->getArray("kernels"), o.tg, o.depth);

  std::string started = utcNow();
  llvm::json::Object machine = describeMachine();
  machine["loadavg_start"] = llvm::json::Array{loadAverage()[0], loadAverage()[1], loadAverage()[2]};
  std::fprintf(stderr,
               "hyc bench: %s (%lld layers, vocab %lld, context %lld), threads", o.dir.c_str(),
               static_cast<long long>(desc.n_layer), static_cast<long long>(desc.n_vocab),
               static_cast<long long>(desc.n_ctx));
  for (long long t : o.threads)
    std::fprintf(stderr, " %lld", t);
  std::fprintf(stderr, ", %lld runs each", o.runs);
  if (o.depth)
    std::fprintf(stderr, ", pp and tg after %lld tokens of context", o.depth);
  std::fprintf(stderr, "\n");

  // Bandwidth before and after the model runs, each time in its own process
  // (its buffer is nobody's RSS).
  std::map<long long, std::vector<double>> bwBefore, bwAfter;
  auto probeBandwidth = [&](const char *when,
                            std::map<long long, std::vector<double>> &into) -> bool {
    ChildResult r;
    std::string error;
    if (!runRunner({"bandwidth", std::to_string(o.bandwidthMiB), joinList(o.threads)}, r,
                   error)) {
      fail(kCmd, error);
      return false;
    }
    std::string why = childFailure(r);
    if (!why.empty()) {
      fail(kCmd, std::string("bandwidth measurement ") + when + ": " + why);
      return false;
    }
    for (auto &[key, vals] : parseLines(r.output))
      if (key == "bw" && !vals.empty())
        for (size_t i = 1; i < vals.size(); ++i)
          into[std::atoll(vals[0].c_str())].push_back(std::atof(vals[i].c_str()));
    return true;
  };
  if (o.bandwidth && !probeBandwidth("before the model runs", bwBefore))
    return 1;

  struct ConfigResult {
    long long threads;
    std::vector<double> pp, tg;
    std::map<long long, std::vector<double>> ttft;
    int64_t peakRss = 0, rssStart = 0, rssOpen = 0, hwm = 0;
    int hasPrefill = 0, hasParallel = 0, poolThreads = 0, repeated = 0;
    std::vector<double> loadBefore, loadAfter;
    double wall = 0;
  };
  std::vector<ConfigResult> results;
  for (long long t : o.threads) {
    ConfigResult c;
    c.threads = t;
    c.loadBefore = loadAverage();
    double t0 = now();
    ChildResult r;
    std::string error;
    if (!runRunner({"model", o.dir, std::to_string(t), std::to_string(o.runs),
                    std::to_string(o.pp), std::to_string(o.tg), joinList(o.ttft),
                    std::to_string(o.seed), o.noMmap ? "0" : "1", std::to_string(o.depth)},
                   r, error))
      return fail(kCmd, error);
    c.wall = now() - t0;
    c.loadAfter = loadAverage();
    std::string why = childFailure(r);
    if (!why.empty())
      return fail(kCmd, "[" + threadsLabel(t) + "] " + why);
    for (auto &[key, vals] : parseLines(r.output)) {
      if (key == "pp" && vals.size() == 1)
        c.pp.push_back(static_cast<double>(o.pp) / std::atof(vals[0].c_str()));
      else if (key == "tg" && vals.size() == 1)
        c.tg.push_back(static_cast<double>(o.tg) / std::atof(vals[0].c_str()));
      else if (key == "ttft" && vals.size() == 2)
        c.ttft[std::atoll(vals[0].c_str())].push_back(std::atof(vals[1].c_str()));
      else if (key == "rss_start" && vals.size() == 1)
        c.rssStart = std::atoll(vals[0].c_str());
      else if (key == "rss_open" && vals.size() == 1)
        c.rssOpen = std::atoll(vals[0].c_str());
      else if (key == "repeated")
        ++c.repeated;
      else if (key == "rss_hwm" && vals.size() == 1)
        c.hwm = std::atoll(vals[0].c_str());
      else if (key == "info" && vals.size() == 3) {
        c.hasPrefill = std::atoi(vals[0].c_str());
        c.hasParallel = std::atoi(vals[1].c_str());
        c.poolThreads = std::atoi(vals[2].c_str());
      }
    }
    c.peakRss = static_cast<int64_t>(r.usage.ru_maxrss) * 1024; // Linux: KiB
    if ((o.pp && c.pp.size() != static_cast<size_t>(o.runs)) ||
        (o.tg && c.tg.size() != static_cast<size_t>(o.runs)))
      return fail(kCmd, "[" + threadsLabel(t) + "] the measuring process returned " +
                            "incomplete results");
    results.push_back(std::move(c));
  }
  if (o.bandwidth && !probeBandwidth("after the model runs", bwAfter))
    return 1;
  // Both probes' passes per thread count: the roofline takes the best.
  std::map<long long, std::vector<double>> bandwidth = bwBefore;
  for (auto &[t, samples] : bwAfter)
    bandwidth[t].insert(bandwidth[t].end(), samples.begin(), samples.end());

  // ---- JSON ----
  llvm::json::Object root;
  root["schema"] = "hyc-bench/1";
  root["date_utc"] = started;
  root["hyc_version"] = HYC_VERSION;
  {
    std::string line = "hyc bench";
    for (const std::string &a : o.argv)
      line += " " + a;
    root["command"] = line;
  }
  machine["loadavg_end"] = llvm::json::Array{loadAverage()[0], loadAverage()[1], loadAverage()[2]};
  root["machine"] = std::move(machine);
  {
    llvm::json::Object lib;
    lib["dir"] = o.dir;
    for (const char *k : {"name", "arch", "source"})
      if (auto s = man->getString(k))
        lib[k] = s->str();
    if (const llvm::json::Value *tgt = man->get("target"))
      lib["target"] = *tgt;
    if (const llvm::json::Value *k = man->get("kernels"))
      lib["kernels"] = *k;
    lib["n_layer"] = desc.n_layer;
    lib["n_embd"] = desc.n_embd;
    lib["n_vocab"] = desc.n_vocab;
    lib["n_ctx"] = desc.n_ctx;
    lib["weights_bytes"] = desc.weights_bytes;
    lib["kv_bytes"] = desc.kv_bytes;
    lib["arena_bytes"] = desc.arena_bytes;
    lib["has_prefill"] = info.has_prefill != 0;
    lib["has_parallel"] = info.has_parallel != 0;
    root["library"] = std::move(lib);
  }
  {
    llvm::json::Array threads, ttft;
    for (long long t : o.threads)
      threads.push_back(t);
    for (long long n : o.ttft)
      ttft.push_back(n);
    root["settings"] = llvm::json::Object{
        {"threads", std::move(threads)},
        {"runs", o.runs},
        {"no_mmap", o.noMmap},
        {"pp", o.pp},
        {"tg", o.tg},
        {"depth", o.depth},
        {"ttft", std::move(ttft)},
        {"seed", o.seed},
        {"tokens", "synthetic: uniform pseudo-random ids in [0, n_vocab) from splitmix64(seed); "
                   "the same ids for every run"},
        {"pp_method", "hy_prefill of pp tokens on a context holding `depth` tokens (an "
                      "untimed prefill; none for depth 0), logits of the last only"},
        {"tg_method", "tg hy_decode calls from position `depth` (after an untimed prefill of "
                      "depth tokens), logits every step, the next synthetic id fed (not the "
                      "argmax)"},
        {"ttft_method", "hy_prefill of N tokens on an empty context + argmax of the logits"},
        {"warmup", "untimed: an 8-token prefill and one decode step per process"},
        {"rss_method", "each thread count in its own process of hyc-bench-runner (the runtime, "
                       "none of the compiler); peak = wait4 ru_maxrss of that process; "
                       "peak_model = peak - VmRSS at the process's start"}};
  }
  double bestBw = 0;
  {
    llvm::json::Array bws;
    for (auto &[t, samples] : bandwidth) {
      Stats s = stats(samples);
      bestBw = std::max(bestBw, s.max);
      llvm::json::Object b = statsJson(samples);
      b["threads"] = t;
      b["best_gbps"] = s.max;
      b["best_before_gbps"] = stats(bwBefore[t]).max;
      b["best_after_gbps"] = stats(bwAfter[t]).max;
      b["buffer_bytes"] = static_cast<int64_t>(o.bandwidthMiB) << 20;
      bws.push_back(std::move(b));
    }
    root["bandwidth"] = llvm::json::Object{
        {"unit", "GB/s (1e9 bytes/s)"},
        {"method", "sum of 64-bit lanes over the buffer (each thread its own slice), 10 passes "
                   "after one warm-up pass, before and again after the model runs; samples "
                   "holds both probes' passes, best_gbps the best of them"},
        {"results", std::move(bws)}};
  }
  root["bytes_per_token"] = llvm::json::Object{
      {"linear", tb.linear},
      {"linear_format", tb.linearFormat},
      {"lm_head", tb.lmHead},
      {"lm_head_format", tb.headFormat},
      {"norms", tb.norms},
      {"kv_per_position", tb.kvPerPosition},
      {"kv_mean_over_tg", tb.kvMean},
      {"total", tb.total},
      {"method", tb.method},
      {"formula", "n_layer*(q+k+v+o+gate+up+down params)*bytes/weight + f32 norms + "
                  "lm_head (weights_bytes - linear - norms: the tied embedding, read whole) + "
                  "kv_bytes/n_ctx*(depth+(tg+1)/2)"}};

  llvm::json::Array configs;
  for (const ConfigResult &c : results) {
    llvm::json::Object j;
    j["threads"] = c.threads;
    j["threads_via"] = c.hasParallel ? "runtime thread pool (hy_<name>_set_parallel)"
                                     : "HL_NUM_THREADS (Halide's own pool)";
    j["prefill_entry"] = c.hasPrefill ? "library prefill" : "decode step per token";
    if (o.pp)
      j["pp"] = llvm::json::Object{{"tokens", o.pp}, {"tokens_per_s", statsJson(c.pp)}};
    if (o.tg) {
      llvm::json::Object tgj{{"tokens", o.tg}, {"tokens_per_s", statsJson(c.tg)}};
      auto bw = bandwidth.find(c.threads);
      if (bw != bandwidth.end() && tb.total > 0) {
        double gbps = stats(bw->second).max;
        double roof = gbps * 1e9 / tb.total;
        tgj["roofline"] = llvm::json::Object{
            {"bandwidth_gbps", gbps},
            {"bytes_per_token", tb.total},
            {"tokens_per_s", roof},
            {"fraction", stats(c.tg).median / roof},
            {"fraction_of_best_bandwidth", stats(c.tg).median / (bestBw * 1e9 / tb.total)}};
      }
      j["tg"] = std::move(tgj);
    }
    llvm::json::Array tt;
    for (auto &[n, secs] : c.ttft)
      tt.push_back(llvm::json::Object{{"prompt_tokens", n}, {"seconds", statsJson(secs)}});
    j["ttft"] = std::move(tt);
    j["rss"] = llvm::json::Object{{"peak_bytes", c.peakRss},
                                  {"at_start_bytes", c.rssStart},
                                  {"after_open_bytes", c.rssOpen},
                                  {"peak_model_bytes", c.peakRss - c.rssStart}};
    j["loadavg_before"] = llvm::json::Array{c.loadBefore[0], c.loadBefore[1], c.loadBefore[2]};
    j["loadavg_after"] = llvm::json::Array{c.loadAfter[0], c.loadAfter[1], c.loadAfter[2]};
    j["wall_seconds"] = c.wall;
    j["runs_repeated_after_a_stop"] = c.repeated;
    configs.push_back(std::move(j));
  }
  root["results"] = std::move(configs);

  // ---- human summary (stdout, or stderr when the JSON goes to stdout) ----
  FILE *so = o.jsonPath == "-" ? stderr : stdout;
  std::fprintf(so, "hyc bench %s: %s, %lld runs (median [min-max])\n", o.dir.c_str(),
              man->getString("name").value_or("?").str().c_str(), o.runs);
  for (auto &[t, samples] : bandwidth)
    std::fprintf(so, "  read bandwidth %-10s %8.1f GB/s (best of %zu; before %.1f, after %.1f)\n",
                threadsLabel(t).c_str(), stats(samples).max, samples.size(),
                stats(bwBefore[t]).max, stats(bwAfter[t]).max);
  std::fprintf(so, "  bytes per decode step: %.1f MB (linear %.1f + lm_head %.1f + norms %.2f + "
              "KV %.2f)\n",
              tb.total / 1e6, tb.linear / 1e6, tb.lmHead / 1e6, tb.norms / 1e6, tb.kvMean / 1e6);
  // llama-bench's labels: "tg128", or "tg128 @ d1024" after --depth 1024.
  auto label = [&](const char *test, long long n) {
    std::string l = test + std::to_string(n);
    if (o.depth)
      l += " @ d" + std::to_string(o.depth);
    return l;
  };
  const int width = o.depth ? 16 : 8;
  for (const ConfigResult &c : results) {
    std::fprintf(so, "  %s:\n", threadsLabel(c.threads).c_str());
    if (o.pp) {
      Stats s = stats(c.pp);
      std::fprintf(so, "    %-*s %9.2f tokens/s [%.2f-%.2f]\n", width, label("pp", o.pp).c_str(),
                   s.median, s.min, s.max);
    }
    if (o.tg) {
      Stats s = stats(c.tg);
      std::fprintf(so, "    %-*s %9.2f tokens/s [%.2f-%.2f]", width, label("tg", o.tg).c_str(),
                   s.median, s.min, s.max);
      auto bw = bandwidth.find(c.threads);
      if (bw != bandwidth.end() && tb.total > 0) {
        double roof = stats(bw->second).max * 1e9 / tb.total;
        std::fprintf(so, "  = %.0f%% of the roofline %.1f tokens/s", 100 * s.median / roof, roof);
      }
      std::fprintf(so, "\n");
    }
    for (auto &[n, secs] : c.ttft) {
      Stats s = stats(secs);
      std::fprintf(so, "    ttft%-4lld %9.3f s [%.3f-%.3f]\n", n, s.median, s.min, s.max);
    }
    std::fprintf(so, "    peak RSS  %7.1f MB (%.1f MB above the process's %.1f MB at start)\n",
                c.peakRss / 1e6, (c.peakRss - c.rssStart) / 1e6, c.rssStart / 1e6);
  }
  std::fflush(so);

  if (!o.jsonPath.empty()) {
    std::string text;
    llvm::raw_string_ostream os(text);
    os << llvm::formatv("{0:2}", llvm::json::Value(std::move(root)));
    os.flush();
    text += "\n";
    if (o.jsonPath == "-") {
      std::fwrite(text.data(), 1, text.size(), stdout);
    } else {
      std::FILE *f = std::fopen(o.jsonPath.c_str(), "w");
      if (!f || std::fwrite(text.data(), 1, text.size(), f) != text.size() || std::fclose(f) != 0)
        return fail(kCmd, "cannot write '" + o.jsonPath + "'");
      std::fprintf(stderr, "hyc bench: wrote %s\n", o.jsonPath.c_str());
    }
  }
  return 0;
}
