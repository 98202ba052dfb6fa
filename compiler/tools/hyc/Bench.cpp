//===- Bench.cpp - `hyc bench`: prefill, decode, TTFT, RSS and roofline ---===//
//
//   hyc bench DIR [--threads 1,2] [--runs 5] [--pp 512] [--tg 128]
//             [--ttft 256,1024|none] [--context N] [--json FILE]
//             [--bandwidth-mib 1024] [--no-bandwidth] [--seed S]
//
// Measures a hyc-compiled model directory through the runtime's public C API
// (hy/hy.h), the way an application would call it:
//   pp<N>   prompt processing: hy_prefill of N tokens on an empty context
//   tg<N>   token generation: N single-token hy_decode calls from position 0
//           (logits of every step computed, as in a generation loop)
//   ttft<N> time to first token: hy_prefill of N tokens + argmax of the logits
// Each thread count runs in its own forked child, so the child's peak RSS
// (wait4) belongs to that configuration alone. The prompt tokens are
// synthetic: pseudo-random ids, uniform in [0, n_vocab), from splitmix64
// seeded with --seed (the same ids for every run and configuration); tg feeds
// the next synthetic id rather than the argmax, so the work per step does not
// depend on the (random) weights. llama.cpp's llama-bench does the same.
//
// The machine's sustained read bandwidth is measured first (a STREAM-like sum
// over a buffer far larger than the caches, 1 thread and every --threads
// count, best of several passes, also in a forked child), and decode is
// reported against the roofline bandwidth / bytes read per token (formula in
// bytesPerToken() and bench/README.md).
//===----------------------------------------------------------------------===//
#include "Driver.h"

#include "hy/hy.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <atomic>
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
#include <thread>
#include <vector>

#include <csignal>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <emmintrin.h>
#endif

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

/// "VmRSS" / "VmHWM" of this process in bytes (0 if unreadable).
int64_t procStatusBytes(const char *key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  size_t klen = std::strlen(key);
  while (std::getline(in, line))
    if (line.compare(0, klen, key) == 0 && line.size() > klen && line[klen] == ':')
      return std::atoll(line.c_str() + klen + 1) * 1024;
  return 0;
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

/// splitmix64: the synthetic token ids.
uint64_t splitmix64(uint64_t &state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
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
// Read bandwidth
//===----------------------------------------------------------------------===//

/// Sums `bytes` (a multiple of 64) from p; returned so the loads stay.
uint64_t sumBytes(const uint8_t *p, size_t bytes) {
#if defined(__x86_64__)
  // SSE2 is enough: two 16-byte loads per cycle are far above what DRAM
  // delivers to a core; four accumulators hide the add latency.
  __m128i a0 = _mm_setzero_si128(), a1 = a0, a2 = a0, a3 = a0;
  for (size_t i = 0; i < bytes; i += 64) {
    const __m128i *q = reinterpret_cast<const __m128i *>(p + i);
    a0 = _mm_add_epi64(a0, _mm_load_si128(q));
    a1 = _mm_add_epi64(a1, _mm_load_si128(q + 1));
    a2 = _mm_add_epi64(a2, _mm_load_si128(q + 2));
    a3 = _mm_add_epi64(a3, _mm_load_si128(q + 3));
  }
  __m128i s = _mm_add_epi64(_mm_add_epi64(a0, a1), _mm_add_epi64(a2, a3));
  uint64_t out[2];
  _mm_storeu_si128(reinterpret_cast<__m128i *>(out), s);
  return out[0] + out[1];
#else
  const uint64_t *q = reinterpret_cast<const uint64_t *>(p);
  uint64_t a[8] = {0};
  for (size_t i = 0; i < bytes / 8; i += 8)
    for (int j = 0; j < 8; ++j)
      a[j] += q[i + j];
  return a[0] + a[1] + a[2] + a[3] + a[4] + a[5] + a[6] + a[7];
#endif
}

/// Best and median GB/s (1e9 bytes/s) of `reps` passes of `threads` threads
/// each summing its own slice of the buffer.
struct Bandwidth {
  int threads = 0;
  std::vector<double> gbps;
};

Bandwidth measureBandwidth(uint8_t *buf, size_t bytes, int threads, int reps) {
  Bandwidth r;
  r.threads = threads;
  size_t slice = (bytes / threads) & ~size_t(63);
  std::atomic<uint64_t> sink{0};
  for (int rep = 0; rep < reps; ++rep) {
    std::vector<std::thread> pool;
    double t0 = now();
    for (int t = 1; t < threads; ++t)
      pool.emplace_back([&, t] { sink += sumBytes(buf + t * slice, slice); });
    sink += sumBytes(buf, slice);
    for (std::thread &th : pool)
      th.join();
    double dt = now() - t0;
    r.gbps.push_back(static_cast<double>(slice) * threads / dt / 1e9);
  }
  if (sink.load() == 42) // keeps the sums observable
    std::fprintf(stderr, " ");
  return r;
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
///             every layer up to pos), averaged over the tg positions 0..tg-1
/// This holds while the blob is exactly the model's tensors (64-byte aligned),
/// as hyc lays it out today; a blob with repacked copies would overstate it.
TokenBytes bytesPerToken(const hy_model_desc_t &d, const llvm::json::Array *kernels,
                         long long tgSteps) {
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
  double meanPositions = tgSteps > 0 ? (tgSteps + 1) / 2.0 : 1.0;
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
  long long runs = 5, pp = 512, tg = 128, context = 0, bandwidthMiB = 1024;
  long long seed = 1234;
  bool bandwidth = true, noMmap = false;
  std::vector<std::string> argv;
};

/// Runs `body` in a forked child whose stdout is a pipe; returns the child's
/// output, exit status and rusage. stderr stays shared (progress lines).
struct ChildResult {
  std::string output;
  int status = -1;
  struct rusage usage {};
};

template <typename Fn> bool runChild(Fn body, ChildResult &r, std::string &error) {
  int fds[2];
  if (pipe(fds) != 0) {
    error = std::string("pipe: ") + std::strerror(errno);
    return false;
  }
  std::fflush(stdout);
  std::fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) {
    error = std::string("fork: ") + std::strerror(errno);
    return false;
  }
  if (pid == 0) {
    close(fds[0]);
    FILE *out = fdopen(fds[1], "w");
    int code = body(out);
    std::fflush(out);
    std::fflush(stderr);
    _exit(code); // no static destructors of the parent's libraries
  }
  close(fds[1]);
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

int bandwidthChild(FILE *out, const Options &o) {
  size_t bytes = static_cast<size_t>(o.bandwidthMiB) << 20;
  uint8_t *buf = static_cast<uint8_t *>(std::aligned_alloc(64, bytes));
  if (!buf) {
    std::fprintf(out, "error cannot allocate %lld MiB for the bandwidth test\n", o.bandwidthMiB);
    return 1;
  }
  // Touch every page with varying data (no zero-page or compression tricks).
  for (size_t i = 0; i < bytes; i += 8) {
    uint64_t v = i * 0x9e3779b97f4a7c15ull;
    std::memcpy(buf + i, &v, 8);
  }
  std::set<long long> counts(o.threads.begin(), o.threads.end());
  counts.insert(1);
  for (long long t : counts) {
    std::fprintf(stderr, "hyc bench: read bandwidth, %lld thread%s, %lld MiB x 10 passes ...",
                 t, t == 1 ? "" : "s", o.bandwidthMiB);
    std::fflush(stderr);
    measureBandwidth(buf, bytes, static_cast<int>(t), 1); // warm-up pass
    Bandwidth bw = measureBandwidth(buf, bytes, static_cast<int>(t), 10);
    Stats s = stats(bw.gbps);
    std::fprintf(stderr, " best %.1f GB/s (median %.1f)\n", s.max, s.median);
    std::fprintf(out, "bw %lld", t);
    for (double g : bw.gbps)
      std::fprintf(out, " %.6f", g);
    std::fprintf(out, "\n");
  }
  std::free(buf);
  return 0;
}

/// Opens the model once: its description ("desc", every hy_model_desc_t field)
/// and capabilities ("info has_prefill has_parallel"), or "error MESSAGE".
int probeChild(FILE *out, const Options &o) {
  hy_model_options_t mo;
  hy_model_options_init(&mo);
  mo.n_threads = 1;
  hy_model_t *model = nullptr;
  if (hy_model_open_dir_ex(o.dir.c_str(), &mo, &model) != HY_OK) {
    std::fprintf(out, "error %s\n", hy_last_error());
    return 1;
  }
  const hy_model_desc_t *d = hy_model_desc(model);
  const int64_t *fields = reinterpret_cast<const int64_t *>(d);
  std::fprintf(out, "desc");
  for (size_t i = 0; i < sizeof *d / sizeof(int64_t); ++i)
    std::fprintf(out, " %lld", static_cast<long long>(fields[i]));
  hy_model_info_t info;
  hy_model_info(model, &info);
  std::fprintf(out, "\ninfo %d %d\n", info.has_prefill, info.has_parallel);
  hy_model_release(model);
  return 0;
}

/// SIGCONTs received: a change across a timed run means the process was
/// stopped in between.
std::atomic<int> gContinued{0};
extern "C" void onContinue(int) { gContinued.fetch_add(1); }

/// One configuration (a thread count): writes "key values..." lines.
int modelChild(FILE *out, const Options &o, long long threads) {
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = onContinue;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGCONT, &sa, nullptr);
  auto failOut = [&](const std::string &what) {
    std::fprintf(out, "error %s\n", what.c_str());
    return 1;
  };
  std::fprintf(out, "rss_start %lld\n", static_cast<long long>(procStatusBytes("VmRSS")));
  hy_model_options_t mo;
  hy_model_options_init(&mo);
  mo.n_threads = static_cast<int32_t>(threads);
  mo.no_mmap = o.noMmap;
  // Libraries without hy_<name>_set_parallel keep Halide's own pool, which
  // reads HL_NUM_THREADS when it starts (in this child, after this line).
  setenv("HL_NUM_THREADS", std::to_string(threads).c_str(), 1);
  hy_model_t *model = nullptr;
  if (hy_model_open_dir_ex(o.dir.c_str(), &mo, &model) != HY_OK)
    return failOut(hy_last_error());
  hy_model_info_t info;
  hy_model_info(model, &info);
  std::fprintf(out, "info %d %d %d\n", info.has_prefill, info.has_parallel, info.n_threads);
  hy_context_t *ctx = nullptr;
  if (hy_context_create(model, &ctx) != HY_OK)
    return failOut(hy_last_error());
  std::fprintf(out, "rss_open %lld\n", static_cast<long long>(procStatusBytes("VmRSS")));

  long long longest = std::max(o.pp, o.tg);
  for (long long n : o.ttft)
    longest = std::max(longest, n);
  std::vector<int32_t> ids(static_cast<size_t>(std::max<long long>(longest, 16)));
  uint64_t state = static_cast<uint64_t>(o.seed);
  for (int32_t &id : ids)
    id = static_cast<int32_t>(splitmix64(state) % static_cast<uint64_t>(info.n_vocab));
  std::vector<float> logits(static_cast<size_t>(info.n_vocab));
  std::string tag = "[" + std::to_string(threads) + " thread" + (threads == 1 ? "" : "s") + "]";

  // Warm-up (untimed): one decode step reads every weight once, so the
  // weights' pages are resident and the thread pool is started.
  if (hy_prefill(ctx, ids.data(), std::min<size_t>(ids.size(), 8), nullptr, 0) != HY_OK ||
      hy_decode(ctx, ids[0], logits.data(), logits.size()) != HY_OK)
    return failOut(hy_last_error());

  auto progress = [&](const std::string &test, long long run, double seconds,
                      double tokens) {
    std::fprintf(stderr, "hyc bench: %s %s run %lld/%lld: %.3f s (%.2f tokens/s)\n",
                 tag.c_str(), test.c_str(), run, o.runs, seconds, tokens / seconds);
    std::fflush(stderr);
  };

  auto announce = [&](const std::string &test) {
    std::fprintf(stderr, "hyc bench: %s %s: %lld runs ...\n", tag.c_str(), test.c_str(), o.runs);
    std::fflush(stderr);
  };
  // A run during which the process was stopped (SIGSTOP/SIGTSTP, e.g. by
  // someone pausing background jobs for a quiet machine) measured the pause:
  // SIGCONT marks it, and the run is repeated (up to 3 times per test).
  auto interrupted = [&](int before) {
    if (gContinued.load() == before)
      return false;
    std::fprintf(stderr, "hyc bench: %s the process was stopped during the run: repeating it\n",
                 tag.c_str());
    std::fprintf(out, "repeated 1\n");
    return true;
  };
  if (o.pp > 0)
    announce("pp" + std::to_string(o.pp));
  for (long long r = 1, redo = 0; o.pp > 0 && r <= o.runs; ++r) {
    hy_context_reset(ctx);
    int c0 = gContinued.load();
    double t0 = now();
    if (hy_prefill(ctx, ids.data(), static_cast<size_t>(o.pp), nullptr, 0) != HY_OK)
      return failOut(hy_last_error());
    double dt = now() - t0;
    if (interrupted(c0) && redo++ < 3) {
      --r;
      continue;
    }
    std::fprintf(out, "pp %.9f\n", dt);
    progress("pp" + std::to_string(o.pp), r, dt, static_cast<double>(o.pp));
  }
  if (o.tg > 0)
    announce("tg" + std::to_string(o.tg));
  for (long long r = 1, redo = 0; o.tg > 0 && r <= o.runs; ++r) {
    hy_context_reset(ctx);
    int c0 = gContinued.load();
    double t0 = now();
    for (long long i = 0; i < o.tg; ++i)
      if (hy_decode(ctx, ids[static_cast<size_t>(i)], logits.data(), logits.size()) != HY_OK)
        return failOut(hy_last_error());
    double dt = now() - t0;
    if (interrupted(c0) && redo++ < 3) {
      --r;
      continue;
    }
    std::fprintf(out, "tg %.9f\n", dt);
    progress("tg" + std::to_string(o.tg), r, dt, static_cast<double>(o.tg));
  }
  for (long long n : o.ttft) {
    announce("ttft" + std::to_string(n));
    for (long long r = 1, redo = 0; r <= o.runs; ++r) {
      hy_context_reset(ctx);
      int c0 = gContinued.load();
      double t0 = now();
      if (hy_prefill(ctx, ids.data(), static_cast<size_t>(n), logits.data(), logits.size()) != HY_OK)
        return failOut(hy_last_error());
      int32_t first = hy_argmax(logits.data(), logits.size());
      double dt = now() - t0;
      if (first < 0)
        return failOut("no first token");
      if (interrupted(c0) && redo++ < 3) {
        --r;
        continue;
      }
      std::fprintf(out, "ttft %lld %.9f\n", n, dt);
      std::fprintf(stderr, "hyc bench: %s ttft%lld run %lld/%lld: %.3f s\n", tag.c_str(), n,
                   r, o.runs, dt);
    }
  }
  std::fprintf(out, "rss_hwm %lld\n", static_cast<long long>(procStatusBytes("VmHWM")));
  hy_context_release(ctx);
  hy_model_release(model);
  return 0;
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
        "--threads", "--runs", "--pp", "--tg", "--ttft", "--context",
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

  // Check the model and read its description in a child too: opening a model
  // may start a thread pool, and this process forks afterwards.
  hy_model_desc_t desc;
  hy_model_info_t info;
  std::memset(&desc, 0, sizeof desc);
  std::memset(&info, 0, sizeof info);
  {
    ChildResult r;
    std::string error;
    if (!runChild([&](FILE *out) { return probeChild(out, o); }, r, error))
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
    long long longest = std::max(o.pp, o.tg);
    std::string which = o.pp >= o.tg ? "--pp" : "--tg";
    for (long long n : o.ttft)
      if (n > longest) {
        longest = n;
        which = "--ttft";
      }
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
  TokenBytes tb = bytesPerToken(desc, man->getArray("kernels"), o.tg);

  std::string started = utcNow();
  llvm::json::Object machine = describeMachine();
  machine["loadavg_start"] = llvm::json::Array{loadAverage()[0], loadAverage()[1], loadAverage()[2]};
  std::fprintf(stderr,
               "hyc bench: %s (%lld layers, vocab %lld, context %lld), threads", o.dir.c_str(),
               static_cast<long long>(desc.n_layer), static_cast<long long>(desc.n_vocab),
               static_cast<long long>(desc.n_ctx));
  for (long long t : o.threads)
    std::fprintf(stderr, " %lld", t);
  std::fprintf(stderr, ", %lld runs each\n", o.runs);

  // Bandwidth first, in its own process (its buffer is nobody's RSS).
  std::map<long long, std::vector<double>> bandwidth;
  if (o.bandwidth) {
    ChildResult r;
    std::string error;
    if (!runChild([&](FILE *out) { return bandwidthChild(out, o); }, r, error))
      return fail(kCmd, error);
    std::string why = childFailure(r);
    if (!why.empty())
      return fail(kCmd, "bandwidth measurement: " + why);
    for (auto &[key, vals] : parseLines(r.output))
      if (key == "bw" && !vals.empty())
        for (size_t i = 1; i < vals.size(); ++i)
          bandwidth[std::atoll(vals[0].c_str())].push_back(std::atof(vals[i].c_str()));
  }

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
    if (!runChild([&](FILE *out) { return modelChild(out, o, t); }, r, error))
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
        {"ttft", std::move(ttft)},
        {"seed", o.seed},
        {"tokens", "synthetic: uniform pseudo-random ids in [0, n_vocab) from splitmix64(seed); "
                   "the same ids for every run"},
        {"pp_method", "hy_prefill of pp tokens on an empty context (logits of the last only)"},
        {"tg_method", "tg hy_decode calls from position 0, logits every step, the next "
                      "synthetic id fed (not the argmax)"},
        {"ttft_method", "hy_prefill of N tokens on an empty context + argmax of the logits"},
        {"warmup", "untimed: an 8-token prefill and one decode step per process"},
        {"rss_method", "each thread count in a forked child; peak = wait4 ru_maxrss of the child "
                       "(includes the pages it shares with the hyc process); peak_model = "
                       "peak - VmRSS at the child's start"}};
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
      b["buffer_bytes"] = static_cast<int64_t>(o.bandwidthMiB) << 20;
      bws.push_back(std::move(b));
    }
    root["bandwidth"] = llvm::json::Object{
        {"unit", "GB/s (1e9 bytes/s)"},
        {"method", "sum of 64-bit lanes over the buffer (each thread its own slice), 10 passes "
                   "after one warm-up pass; best pass"},
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
                  "kv_bytes/n_ctx*(tg+1)/2"}};

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
    std::fprintf(so, "  read bandwidth %-10s %8.1f GB/s (best of %zu)\n", threadsLabel(t).c_str(),
                stats(samples).max, samples.size());
  std::fprintf(so, "  bytes per decode step: %.1f MB (linear %.1f + lm_head %.1f + norms %.2f + "
              "KV %.2f)\n",
              tb.total / 1e6, tb.linear / 1e6, tb.lmHead / 1e6, tb.norms / 1e6, tb.kvMean / 1e6);
  for (const ConfigResult &c : results) {
    std::fprintf(so, "  %s:\n", threadsLabel(c.threads).c_str());
    if (o.pp) {
      Stats s = stats(c.pp);
      std::fprintf(so, "    pp%-6lld %9.2f tokens/s [%.2f-%.2f]\n", o.pp, s.median, s.min, s.max);
    }
    if (o.tg) {
      Stats s = stats(c.tg);
      std::fprintf(so, "    tg%-6lld %9.2f tokens/s [%.2f-%.2f]", o.tg, s.median, s.min, s.max);
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
