//===- BenchRunner.cpp - hyc-bench-runner: the measuring side of hyc bench ===//
//
// `hyc bench` runs every measurement in a fresh process of this small program,
// linked with the hy runtime and nothing of the compiler, so a configuration's
// peak RSS (the parent's wait4) is the model's and the runtime's alone, as in
// an application, and not the compiler's pages a forked hyc would carry.
// Internal protocol (hyc bench builds the command lines; results are
// "key values..." lines on stdout, progress on stderr, "error MESSAGE" and a
// non-zero exit on failure):
//   hyc-bench-runner bandwidth MIB THREADS,...
//       "bw T gbps..." per thread count (1 and every listed count)
//   hyc-bench-runner probe DIR
//       "desc FIELDS..." (hy_model_desc_t), "info has_prefill has_parallel"
//   hyc-bench-runner model DIR THREADS RUNS PP TG TTFT,...|none SEED MMAP [DEPTH]
//       (DEPTH: pp and tg runs start after an untimed prefill of that many
//       tokens; default 0)
//       "rss_start", "info", "rss_open", "pp S"/"tg S"/"ttft N S" per run,
//       "repeated 1" per repeated run, "rss_hwm"  (MMAP: 1 map, 0 --no-mmap)
//===----------------------------------------------------------------------===//
#include "hy/hy.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <csignal>
#include <sys/mman.h>

#if defined(__x86_64__)
#include <emmintrin.h>
#endif

namespace {

double now() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Options {
  std::string dir;
  std::vector<long long> threads, ttft;
  long long runs = 0, pp = 0, tg = 0, depth = 0, bandwidthMiB = 0, seed = 0;
  bool noMmap = false;
};

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

/// splitmix64: the synthetic token ids.
uint64_t splitmix64(uint64_t &state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/// How a thread reads its slice in the bandwidth test: in `streams` runs
/// read in lockstep (one 64-byte line of each in turn), with a software
/// prefetch `prefetch` bytes ahead in each run (0: none). One run is the
/// simplest loop; several runs with a prefetch keep more reads in flight
/// per core (on a 2-core Intel Xeon VM: 22.3 GB/s with one run, 26-32 GB/s
/// with 4-8 runs and a prefetch), and the roofline is meant to be the
/// most a reader can get.
struct ReadPattern {
  int streams;
  int prefetch;
};
constexpr ReadPattern kReadPatterns[] = {{1, 0}, {4, 1024}, {8, 1024}};

/// Sums `bytes` (a multiple of 64 * pattern.streams) from p; returned so the
/// loads stay.
uint64_t sumBytes(const uint8_t *p, size_t bytes, ReadPattern pattern) {
  const size_t run = bytes / static_cast<size_t>(pattern.streams);
#if defined(__x86_64__)
  // SSE2 is enough: two 16-byte loads per cycle are far above what DRAM
  // delivers to a core; four accumulators hide the add latency.
  __m128i a0 = _mm_setzero_si128(), a1 = a0, a2 = a0, a3 = a0;
  for (size_t i = 0; i < run; i += 64)
    for (int s = 0; s < pattern.streams; ++s) {
      const uint8_t *line = p + s * run + i;
      if (pattern.prefetch)
        _mm_prefetch(reinterpret_cast<const char *>(line) + pattern.prefetch, _MM_HINT_T0);
      const __m128i *q = reinterpret_cast<const __m128i *>(line);
      a0 = _mm_add_epi64(a0, _mm_load_si128(q));
      a1 = _mm_add_epi64(a1, _mm_load_si128(q + 1));
      a2 = _mm_add_epi64(a2, _mm_load_si128(q + 2));
      a3 = _mm_add_epi64(a3, _mm_load_si128(q + 3));
    }
  __m128i sum = _mm_add_epi64(_mm_add_epi64(a0, a1), _mm_add_epi64(a2, a3));
  uint64_t out[2];
  _mm_storeu_si128(reinterpret_cast<__m128i *>(out), sum);
  return out[0] + out[1];
#else
  uint64_t a[8] = {0};
  for (size_t i = 0; i < run; i += 64)
    for (int s = 0; s < pattern.streams; ++s) {
      const uint8_t *line = p + s * run + i;
      if (pattern.prefetch)
        __builtin_prefetch(line + pattern.prefetch);
      const uint64_t *q = reinterpret_cast<const uint64_t *>(line);
      for (int j = 0; j < 8; ++j)
        a[j] += q[j];
    }
  return a[0] + a[1] + a[2] + a[3] + a[4] + a[5] + a[6] + a[7];
#endif
}

/// Best and median GB/s (1e9 bytes/s) of `reps` passes of `threads` threads
/// each summing its own slice of the buffer.
struct Bandwidth {
  int threads = 0;
  std::vector<double> gbps;
};

Bandwidth measureBandwidth(uint8_t *buf, size_t bytes, int threads, int reps,
                           ReadPattern pattern) {
  Bandwidth r;
  r.threads = threads;
  const size_t unit = 64 * static_cast<size_t>(pattern.streams);
  size_t slice = bytes / threads / unit * unit;
  std::atomic<uint64_t> sink{0};
  for (int rep = 0; rep < reps; ++rep) {
    std::vector<std::thread> pool;
    double t0 = now();
    for (int t = 1; t < threads; ++t)
      pool.emplace_back([&, t] { sink += sumBytes(buf + t * slice, slice, pattern); });
    sink += sumBytes(buf, slice, pattern);
    for (std::thread &th : pool)
      th.join();
    double dt = now() - t0;
    r.gbps.push_back(static_cast<double>(slice) * threads / dt / 1e9);
  }
  if (sink.load() == 42) // keeps the sums observable
    std::fprintf(stderr, " ");
  return r;
}

double medianOf(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/// The probe's buffer: 2 MiB-aligned anonymous memory advised for transparent
/// huge pages, as the runtime's --no-mmap weights are (model.c), so that the
/// probe reads at least as fast as a decode over huge-page weights can (on
/// the 2-core Intel Xeon VM huge pages read the same or ~1-2% faster than 4
/// KiB pages; bench/RESULTS.md, 2026-12-08). nullptr when out of memory.
uint8_t *allocProbeBuffer(size_t bytes, void **mapping, size_t *mappingBytes) {
  const size_t huge = size_t{2} << 20;
  *mappingBytes = bytes + huge;
  void *base = mmap(nullptr, *mappingBytes, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED)
    return nullptr;
  *mapping = base;
  auto *p = reinterpret_cast<uint8_t *>(
      (reinterpret_cast<uintptr_t>(base) + huge - 1) & ~static_cast<uintptr_t>(huge - 1));
#ifdef MADV_HUGEPAGE
  (void)madvise(p, bytes, MADV_HUGEPAGE); // advice only: 4 KiB pages if refused
#endif
  return p;
}

int bandwidthChild(FILE *out, const Options &o) {
  size_t bytes = static_cast<size_t>(o.bandwidthMiB) << 20;
  void *mapping = nullptr;
  size_t mappingBytes = 0;
  uint8_t *buf = allocProbeBuffer(bytes, &mapping, &mappingBytes);
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
    // Every read pattern, 10 passes each; the pattern with the highest
    // median is the thread count's result.
    Bandwidth best;
    double bestMedian = -1;
    for (const ReadPattern &pattern : kReadPatterns) {
      std::fprintf(stderr,
                   "hyc bench: read bandwidth, %lld thread%s, %lld MiB x 10 passes, %d run%s "
                   "per thread%s ...",
                   t, t == 1 ? "" : "s", o.bandwidthMiB, pattern.streams,
                   pattern.streams == 1 ? "" : "s", pattern.prefetch ? " + prefetch" : "");
      std::fflush(stderr);
      measureBandwidth(buf, bytes, static_cast<int>(t), 1, pattern); // warm-up pass
      Bandwidth bw = measureBandwidth(buf, bytes, static_cast<int>(t), 10, pattern);
      double median = medianOf(bw.gbps);
      std::fprintf(stderr, " best %.1f GB/s (median %.1f)\n",
                   *std::max_element(bw.gbps.begin(), bw.gbps.end()), median);
      if (median > bestMedian) {
        bestMedian = median;
        best = bw;
      }
    }
    Bandwidth bw = best;
    std::fprintf(out, "bw %lld", t);
    for (double g : bw.gbps)
      std::fprintf(out, " %.6f", g);
    std::fprintf(out, "\n");
  }
  munmap(mapping, mappingBytes);
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

  // ids[0, depth) fill the context before pp and tg; they then read ids from
  // ids[depth] on (TTFT prompts from ids[0]).
  long long longest = o.depth + std::max(o.pp, o.tg);
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
  // A context holding the first `depth` ids (untimed), or an empty one.
  auto resetToDepth = [&]() {
    hy_context_reset(ctx);
    return o.depth == 0 ||
           hy_prefill(ctx, ids.data(), static_cast<size_t>(o.depth), nullptr, 0) == HY_OK;
  };
  const int32_t *after = ids.data() + o.depth;
  for (long long r = 1, redo = 0; o.pp > 0 && r <= o.runs; ++r) {
    if (!resetToDepth())
      return failOut(hy_last_error());
    int c0 = gContinued.load();
    double t0 = now();
    if (hy_prefill(ctx, after, static_cast<size_t>(o.pp), nullptr, 0) != HY_OK)
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
    if (!resetToDepth())
      return failOut(hy_last_error());
    int c0 = gContinued.load();
    double t0 = now();
    for (long long i = 0; i < o.tg; ++i)
      if (hy_decode(ctx, after[i], logits.data(), logits.size()) != HY_OK)
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


/// A decimal integer in [lo, hi], the whole of `text`.
bool parseInt(const char *text, long long lo, long long hi, long long &out) {
  char *end = nullptr;
  errno = 0;
  long long v = std::strtoll(text, &end, 10);
  if (errno || end == text || *end || v < lo || v > hi)
    return false;
  out = v;
  return true;
}

bool parseIntList(const std::string &text, long long lo, long long hi,
                  std::vector<long long> &out) {
  out.clear();
  if (text == "none")
    return true;
  size_t start = 0;
  for (;;) {
    size_t comma = text.find(',', start);
    std::string part = text.substr(start, comma == std::string::npos ? comma : comma - start);
    long long v;
    if (!parseInt(part.c_str(), lo, hi, v))
      return false;
    out.push_back(v);
    if (comma == std::string::npos)
      return true;
    start = comma + 1;
  }
}

int usage(const char *why) {
  std::printf("error hyc-bench-runner: %s (it is run by hyc bench; see BenchRunner.cpp for "
              "its arguments)\n",
              why);
  return 2;
}
} // namespace

int main(int argc, char **argv) {
  if (argc < 2)
    return usage("no mode given");
  std::string mode = argv[1];
  Options o;
  if (mode == "bandwidth") {
    if (argc != 4 || !parseInt(argv[2], 1, 1 << 16, o.bandwidthMiB) ||
        !parseIntList(argv[3], 1, 1024, o.threads) || o.threads.empty())
      return usage("bandwidth expects MIB THREADS,...");
    return bandwidthChild(stdout, o);
  }
  if (mode == "probe") {
    if (argc != 3)
      return usage("probe expects DIR");
    o.dir = argv[2];
    return probeChild(stdout, o);
  }
  if (mode == "model") {
    long long threads = 0, mmapOn = 0;
    if ((argc != 10 && argc != 11) || !parseInt(argv[3], 1, 1024, threads) ||
        !parseInt(argv[4], 1, 1000, o.runs) || !parseInt(argv[5], 0, 1 << 20, o.pp) ||
        !parseInt(argv[6], 0, 1 << 20, o.tg) || !parseIntList(argv[7], 1, 1 << 20, o.ttft) ||
        !parseInt(argv[8], 0, LLONG_MAX, o.seed) || !parseInt(argv[9], 0, 1, mmapOn) ||
        (argc == 11 && !parseInt(argv[10], 0, 1 << 20, o.depth)))
      return usage("model expects DIR THREADS RUNS PP TG TTFT,...|none SEED MMAP [DEPTH]");
    o.dir = argv[2];
    o.noMmap = mmapOn == 0;
    return modelChild(stdout, o, threads);
  }
  return usage(("unknown mode '" + mode + "' (expected bandwidth, probe or model)").c_str());
}
