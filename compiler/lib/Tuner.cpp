//===- Tuner.cpp - hyc tune: schedule search by measurement on the target --===//
//
// Flow (one session, all within the budget):
//   1. pairs: the model's distinct (kernel family, n, k) matmuls and
//      attention / pointwise ops, found by the compiler's own import + kernel
//      selection (findTunePairs).
//   2. baselines per pair: the generator's default schedule and Halide's
//      Adams2019 autoschedule of the same generator.
//   3. search per pair, the remaining time split by each pair's share of the
//      decode step's default kernel time: random points of the declared space
//      (TunerSpaces.cpp), then local refinement (the unmeasured neighbours of
//      the best point, one knob one step at a time), restarting at random
//      points when the neighbourhood is exhausted.
//   4. the database (best per pair, baselines, summary) written atomically.
// A candidate = the generator run with its GeneratorParams and the ISA's
// Halide target (-no_runtime), linked with schedules/tuner/TuneHarness.c and
// the target's kernel archive by the target's C driver, run natively or under
// the runner. The harness checks the candidate against the default kernel
// and times both, interleaved; candidates are ranked by that paired ratio,
// which survives load changes on a shared machine better than raw times.
// Every measurement is appended to <output>.journal as it happens; a later
// run with the same target and thread count skips what the journal holds.
// For a generator with a fixed-shape form (SearchSpace::fixedShape) the
// Adams2019 baseline and every candidate are generated for the pair's own
// N and K (fixed_n / fixed_k); the database schedule then names both, so the
// compiled kernel is the measured one. The default baseline stays the
// prebuilt any-shape kernel, the one `hyc compile` uses without the database.
//
//===----------------------------------------------------------------------===//
#include "hyc/Tuner.h"

#include "hyc/Compiler.h"
#include "hyc/Dialect/LowBit/LowBit.h"
#include "hyc/ModelImport.h"
#include "hyc/Package.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#ifndef HYC_HALIDE_ADAMS2019
#error "HYC_HALIDE_ADAMS2019 must name libautoschedule_adams2019.so"
#endif
#ifndef HYC_TUNE_HARNESS
#error "HYC_TUNE_HARNESS must name schedules/tuner/TuneHarness.c"
#endif
#ifndef HYC_OP_HARNESS
#error "HYC_OP_HARNESS must name schedules/tuner/OpHarness.c"
#endif
#ifndef HYC_HARNESS_COMMON
#error "HYC_HARNESS_COMMON must name schedules/tuner/HarnessCommon.h"
#endif
#ifndef HYC_KERNELS_INCLUDE_DIR
#error "HYC_KERNELS_INCLUDE_DIR must name schedules/include"
#endif

extern char **environ;

using namespace hyc;
using Clock = std::chrono::steady_clock;

// ---- Finding the pairs ------------------------------------------------------

bool hyc::findTunePairs(const std::string &modelPath, const TargetInfo &target,
                        KvCache kvCache, std::vector<TunePair> &pairs, std::string &error) {
  std::unique_ptr<ImportedModel> model = importGGUF(modelPath, error);
  if (!model)
    return false;
  mlir::MLIRContext ctx;
  registerCompilerDialects(ctx);
  MemoryPlan plan;
  // The context length changes no matmul shape; keep the module small, but
  // long enough for the prefill-chunk function (its GEMMs are pairs too).
  mlir::OwningOpRef<mlir::ModuleOp> module =
      buildDecodeModule(ctx, *model, "tune", 64, kvCache, plan);
  std::vector<KernelVariant> variants;
  std::vector<KernelUse> uses;
  if (!selectKernels(*module, target, "", variants, uses, error))
    return false;
  // GEMVs: the decode step's (one activation row); the prefill chunk's
  // per-row GEMVs (formats without a GEMM) are left to those. GEMMs: the
  // prefill chunk's, m rows per call.
  // One pair per database key (kernel, n, k); every GEMM call of a module
  // has the same m (the chunk).
  // Attention and pointwise ops: the decode step's and the prefill chunk's
  // (one pair per database key: kernel, n, k, kv heads), attention and rope
  // measured at kTunePosition.
  std::map<std::tuple<std::string, int64_t, int64_t, int64_t>, TunePair> found;
  for (const KernelUse &u : uses) {
    TunePair pair{u.kernel, u.n, u.k, u.m, 0, u.kvHeads, 0};
    if (pair.isOp() && (llvm::StringRef(u.kernel).starts_with("attention_") ||
                        u.kernel == "rope"))
      pair.pos = kTunePosition;
    if (pair.isOp() || llvm::StringRef(u.kernel).starts_with("gemm_") || u.m == 1)
      ++found.try_emplace({u.kernel, u.n, u.k, u.kvHeads}, pair).first->second.count;
  }
  pairs.clear();
  for (const auto &[key, pair] : found)
    pairs.push_back(pair);
  return true;
}

namespace {

// ---- Interruption and child processes ----------------------------------------

volatile std::sig_atomic_t gInterrupted = 0;
void onSigint(int) { gInterrupted = 1; }

double secondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

struct ProcResult {
  int exitCode = -1;
  bool killed = false; ///< stopped by us: deadline or Ctrl-C
  std::string output;  ///< stdout + stderr
};

/// Runs argv[0] (searched on PATH) with stdout+stderr to `log`, in its own
/// process group; kills the group at `deadline` or on Ctrl-C.
ProcResult runProcess(const std::vector<std::string> &argv, const std::string &log,
                      Clock::time_point deadline) {
  ProcResult r;
  std::vector<char *> cargv;
  for (const std::string &a : argv)
    cargv.push_back(const_cast<char *>(a.c_str()));
  cargv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  pid_t pid = 0;
  Clock::time_point begin = Clock::now();
  int rc = posix_spawnp(&pid, cargv[0], &fa, &attr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    r.output = "cannot run '" + argv[0] + "': " + std::strerror(rc);
    return r;
  }
  int status = 0;
  for (;;) {
    pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid)
      break;
    if (w < 0 && errno != EINTR)
      break;
    if (gInterrupted || Clock::now() >= deadline) {
      kill(-pid, SIGKILL);
      // Reap it, but never wait long: a process stuck in the kernel (heavy
      // swapping) must not hold the session past its budget.
      for (int i = 0; i < 200 && waitpid(pid, &status, WNOHANG) == 0; ++i)
        usleep(10000);
      r.killed = true;
      break;
    }
    usleep(10000);
  }
  if (!r.killed)
    r.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (std::getenv("HYC_TUNE_TRACE"))
    std::fprintf(stderr, "[trace] %.2f s exit %d: %s ...\n", secondsSince(begin), r.exitCode,
                 argv.size() > 1 ? (argv[0] + " " + argv[1]).c_str() : argv[0].c_str());
  if (auto text = llvm::MemoryBuffer::getFile(log))
    r.output = (*text)->getBuffer().trim().str();
  return r;
}

std::string lastLines(const std::string &text, size_t n = 6) {
  size_t pos = text.size();
  for (size_t i = 0; i < n && pos != std::string::npos && pos > 0; ++i)
    pos = text.rfind('\n', pos - 1);
  return pos == std::string::npos || pos == 0 ? text : text.substr(pos + 1);
}

// ---- Measurements ----------------------------------------------------------------

/// What a measurement is of: the default schedule, Adams2019, or a point.
/// Confirm: the best candidate of a pair measured once more at the end of
/// its search (the minimum over many noisy measurements is biased low).
enum class Kind { Default, Adams, Candidate, Confirm };

struct Measurement {
  bool ok = false;
  double candUs = 0, defaultUs = 0; ///< medians of the same run
  std::string error;
  double ratio() const { return candUs / defaultUs; }
};

/// The family's weight format (what the harness and hyk_gemv_run_* need).
std::string familyFormat(const std::string &family) {
  llvm::StringRef f(family);
  return f.consume_front("gemv_") || f.consume_front("gemm_") ? f.str() : "";
}

/// The timing harness's format for a family's generator: the family's
/// format, with a "q" for a generator over pre-quantized activations
/// (gemv_q2_0c_a8 -> q2_0c_a8q for gemv_q2_0c_a8q_vnni: the harness quantizes
/// x once, outside the timed calls, and runs the _a8q kernels).
std::string harnessFormat(const std::string &family, const std::string &generator) {
  std::string format = familyFormat(family);
  if (llvm::StringRef(generator).contains("_a8q_"))
    format += "q";
  // A GEMM (gemm_q2_0c_a8 -> gemm_q2_0c_a8q): M rows per call.
  if (llvm::StringRef(family).starts_with("gemm_"))
    format = "gemm_" + format;
  return format;
}

/// The family's block format: gemv_q2_0c_a8 -> q2_0c (the int8-activation
/// families read the same weight blocks as their float forms).
std::string blockFormat(const std::string &family) {
  return llvm::StringRef(familyFormat(family)).split("_a8").first.str();
}

/// Bytes of this host's last-level (L3) cache as sysfs reports it for CPU 0
/// ("491520K"), 0 when unknown. Read as streams: sysfs files claim 4096
/// bytes, and MemoryBuffer::getFile returned them zero-padded to that size,
/// so "3\n" never equalled "3" and the pool fell to its 64 MiB floor (until
/// 2026-12-07; on the Intel VM's 260 MB L3 every timing was an L3 timing).
int64_t hostL3Bytes() {
  for (int i = 0; i < 8; ++i) {
    std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(i) + "/";
    auto level = llvm::MemoryBuffer::getFileAsStream(dir + "level");
    auto size = llvm::MemoryBuffer::getFileAsStream(dir + "size");
    if (!level || !size || (*level)->getBuffer().trim() != "3")
      continue;
    llvm::StringRef text = (*size)->getBuffer().trim();
    int64_t unit = 1;
    if (text.consume_back("K"))
      unit = 1024;
    else if (text.consume_back("M"))
      unit = 1024 * 1024;
    long long v = 0;
    if (!text.getAsInteger(10, v) && v > 0)
      return v * unit;
  }
  return 0;
}

/// The weight pool each native timing run cycles through: twice this host's
/// L3 (so every call streams its weights from memory, as decode does), at
/// least 64 MiB, at most 4 GiB. This host's L3 may be 32 MiB or 480 MiB.
int64_t weightPoolBytes() {
  return std::clamp<int64_t>(2 * hostL3Bytes(), 64ll << 20, 4ll << 30);
}

struct PairState {
  TunePair pair;
  const SearchSpace *space = nullptr;
  std::string generator;
  std::optional<Measurement> defaultRun, adamsRun;
  std::map<std::string, Measurement> measured; ///< by schedule text
  std::map<std::string, TunePoint> points;     ///< schedule text -> point
  std::string best;                            ///< "" = the default
  double bestRatio = 1.0;
  Measurement bestRun;
  int candidates = 0, rejected = 0;
  double seconds = 0; ///< wall time of this pair's candidates (this run)
  int runs = 0;
  bool exhausted = false;
  bool confirmed = false; ///< best re-measured at the end of the search
  double weight = 0;
  // Times reported in the database: each relative to the default measured
  // in the same run (interleaved), times the default's baseline median, so
  // load changes between runs on a shared machine cancel out.
  double defaultUs() const { return defaultRun && defaultRun->ok ? defaultRun->candUs : 0; }
  double tunedUs() const { return best.empty() ? defaultUs() : bestRatio * defaultUs(); }
  std::optional<double> adamsUs() const {
    if (adamsRun && adamsRun->ok && defaultUs() > 0)
      return adamsRun->ratio() * defaultUs();
    return std::nullopt;
  }
  int randomLeft = 0;
};

/// A point's name in the journal and as PairState::best: its schedule text,
/// "" only for the prebuilt default. At a fixed shape the default knob values
/// make a kernel of their own (a candidate), named by every knob.
std::string pointText(const SearchSpace &space, const TunePoint &point) {
  std::string text = scheduleText(space, point);
  if (!text.empty() || !space.fixedShape)
    return text;
  std::map<std::string, std::string> params; // name order, as scheduleText's
  for (size_t i = 0; i < space.knobs.size(); ++i)
    params[space.knobs[i].name] = space.knobs[i].boolean ? (point[i] ? "true" : "false")
                                                         : std::to_string(point[i]);
  for (const auto &[name, value] : params)
    text += (text.empty() ? "" : ",") + name + "=" + value;
  return text;
}

/// The GeneratorParams that fix a generator's shape to the pair's (for
/// SearchSpace::fixedShape; the pipeline then rejects any other shape).
std::vector<std::pair<std::string, int64_t>> fixedShapeParams(const PairState &p) {
  return {{"fixed_k", p.pair.k}, {"fixed_n", p.pair.n}};
}

class Tuner {
public:
  Tuner(const TuneOptions &o) : opt(o), rng(o.seed) {}
  int run(std::string &error);

private:
  const TuneOptions &opt;
  std::mt19937_64 rng;
  Clock::time_point start, deadline;
  std::string work, halideTarget, generatorPath, journalPath;
  std::string toolId; ///< fingerprint of generator + kernel archive + Halide target
  std::map<std::string, std::string> harnessObjects; // format -> object
  std::vector<PairState> pairs;
  std::map<std::string, llvm::json::Object> journal; // key -> record
  std::ofstream journalOut;
  int measuredThisRun = 0, reusedFromJournal = 0;
  double candidateSeconds = 0;
  int candidateRuns = 0;
  bool tty = false, statusShown = false;
  double nextLogStatus = 0; ///< elapsed seconds before which a log gets no status line
  std::string status;

  bool native() const { return opt.runner.empty(); }
  int64_t poolBytes = weightPoolBytes();
  /// Per pool file: the byte at which its next timing run starts (the
  /// harness's pool_next), so the runs walk the pool in turn.
  std::map<std::string, int64_t> poolNext;
  int reps(const PairState &p) const;
  std::string journalKey(const PairState &p, Kind kind, const std::string &text) const;
  void loadJournal();
  std::string pairKeyPrefix(const PairState &p) const;
  void resumePair(PairState &p);
  void record(const PairState &p, Kind kind, const std::string &text, const Measurement &m);
  bool harnessObject(const PairState &p, std::string &object, std::string &error);
  std::optional<Measurement> measure(PairState &p, Kind kind, const TunePoint *point,
                                     std::string &fatal, Clock::time_point until);
  void consider(PairState &p, const std::string &text, const Measurement &m);
  bool nextPoint(PairState &p, TunePoint &out);
  void event(const std::string &line);
  void showStatus(const std::string &what);
  double estimateCandidateSeconds() const {
    return candidateRuns ? candidateSeconds / candidateRuns : 4.0;
  }
  /// A pair's own mean once it has one (the lm_head's candidates cost
  /// several times a projection's).
  double estimateCandidateSeconds(const PairState &p) const {
    return p.runs ? p.seconds / p.runs : estimateCandidateSeconds();
  }
  bool writeDatabase(bool interrupted, std::string &error);
  void printSummary();
  void printSums(const llvm::json::Object &s, const char *what);
  llvm::json::Object summaryJson() const;
  llvm::json::Object sums(bool prefill) const;
};

int Tuner::reps(const PairState &p) const {
  if (!native())
    return 5; // under an emulator only correctness means anything
  double us = p.defaultRun && p.defaultRun->ok ? p.defaultRun->defaultUs : 1000;
  // ~0.3 s of timed calls per variant, at least 5 and at most 51 medians.
  return static_cast<int>(std::clamp(300000.0 / std::max(us, 1.0), 5.0, 51.0));
}

std::string Tuner::journalKey(const PairState &p, Kind kind, const std::string &text) const {
  std::string adams = "@adams2019";
  if (opt.adamsBeamSize > 0)
    adams += "-beam" + std::to_string(opt.adamsBeamSize);
  std::string what = kind == Kind::Default   ? "@default"
                     : kind == Kind::Adams   ? adams
                     : kind == Kind::Confirm ? "@confirm:" + text
                                             : (text.empty() ? "@default-point" : text);
  return pairKeyPrefix(p) + what;
}

std::string Tuner::pairKeyPrefix(const PairState &p) const {
  return opt.target.name + "|" + std::to_string(opt.threads) + "|" + toolId + "|" +
         p.generator + "|" + std::to_string(p.pair.n) + "x" + std::to_string(p.pair.k) +
         (p.pair.m > 1 ? "x" + std::to_string(p.pair.m) : "") +
         (p.pair.kvHeads ? "kv" + std::to_string(p.pair.kvHeads) : "") +
         (p.pair.pos ? "@" + std::to_string(p.pair.pos) : "") +
         (p.pair.isOp() ? "/" + p.pair.family : "") + "|" +
         (p.space->fixedShape ? "fixed|" : "");
}

void Tuner::resumePair(PairState &p) {
  // Every earlier candidate of this pair counts as tried: the search goes on
  // from the best of them instead of proposing them again.
  std::string prefix = pairKeyPrefix(p);
  for (const auto &[key, rec] : journal) {
    if (key.rfind(prefix, 0) != 0 || key[prefix.size()] == '@')
      continue;
    std::string text = key.substr(prefix.size());
    std::map<std::string, std::string> kv;
    llvm::SmallVector<llvm::StringRef> parts;
    llvm::StringRef(text).split(parts, ',');
    for (llvm::StringRef part : parts) {
      auto [name, value] = part.split('=');
      kv[name.str()] = value.str();
    }
    TunePoint pt;
    for (const TuneKnob &k : p.space->knobs) {
      auto it = kv.find(k.name);
      if (it == kv.end())
        break;
      int64_t v = 0;
      if (k.boolean)
        v = it->second == "true";
      else if (llvm::StringRef(it->second).getAsInteger(10, v))
        break;
      pt.push_back(v);
    }
    if (pt.size() != p.space->knobs.size() || kv.size() != pt.size() ||
        pointText(*p.space, pt) != text)
      continue; // from another version of the space
    Measurement m;
    m.ok = rec.getBoolean("ok").value_or(false);
    m.candUs = rec.getNumber("cand_us").value_or(0);
    m.defaultUs = rec.getNumber("default_us").value_or(0);
    m.error = rec.getString("error").value_or("").str();
    p.points[text] = pt;
    p.measured[text] = m;
    ++reusedFromJournal;
    consider(p, text, m);
  }
}

void Tuner::loadJournal() {
  auto buffer = llvm::MemoryBuffer::getFile(journalPath);
  if (!buffer)
    return;
  llvm::SmallVector<llvm::StringRef> lines;
  (*buffer)->getBuffer().split(lines, '\n', -1, false);
  for (llvm::StringRef line : lines) {
    llvm::Expected<llvm::json::Value> v = llvm::json::parse(line);
    if (!v) {
      llvm::consumeError(v.takeError()); // a line cut short by a kill
      continue;
    }
    if (llvm::json::Object *o = v->getAsObject())
      if (std::optional<llvm::StringRef> key = o->getString("key"))
        journal[key->str()] = std::move(*o);
  }
}

void Tuner::record(const PairState &p, Kind kind, const std::string &text,
                   const Measurement &m) {
  llvm::json::Object o{{"key", journalKey(p, kind, text)},
                       {"target", opt.target.name},
                       {"threads", opt.threads},
                       {"kernel", p.pair.family},
                       {"generator", p.generator},
                       {"n", p.pair.n},
                       {"k", p.pair.k},
                       {"schedule", kind == Kind::Default   ? "@default"
                                    : kind == Kind::Adams   ? "@adams2019"
                                    : kind == Kind::Confirm ? "@confirm:" + text
                                                            : text},
                       {"ok", m.ok}};
  if (m.ok) {
    o["cand_us"] = m.candUs;
    o["default_us"] = m.defaultUs;
  } else {
    o["error"] = m.error;
  }
  std::string line;
  llvm::raw_string_ostream os(line);
  os << llvm::json::Value(std::move(o));
  journalOut << line << "\n";
  journalOut.flush();
}

bool Tuner::harnessObject(const PairState &p, std::string &object, std::string &error) {
  // The matmuls' harness per format; the ops' per kernel family.
  const bool op = p.pair.isOp();
  const std::string format = op ? p.pair.family : harnessFormat(p.pair.family, p.generator);
  auto it = harnessObjects.find(format);
  if (it != harnessObjects.end()) {
    object = it->second;
    return true;
  }
  std::string upper = format;
  for (char &c : upper)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  object = work + "/harness_" + format + ".o";
  // The runtime's thread pool, compiled once per session: the harness runs
  // the kernels' parallel loops on it, as a compiled model does (task order
  // and hand-off differ from Halide's own pool, which rows_per_task and
  // parallel are tuned against).
  for (const char *source : {HYC_RUNTIME_POOL_SOURCE, HYC_RUNTIME_STATUS_SOURCE}) {
    std::string out = work + "/runtime_" + llvm::sys::path::stem(source).str() + ".o";
    if (llvm::sys::fs::exists(out))
      continue;
    std::vector<std::string> cc = {opt.target.linker, "-c", "-O2", "-std=c11",
                                   "-I" HYC_RUNTIME_INCLUDE_DIR, "-I" HYC_RUNTIME_SOURCE_DIR,
                                   source, "-o", out};
    ProcResult r = runProcess(cc, out + ".log", deadline);
    if (r.exitCode != 0) {
      error = r.killed ? "stopped" : "compiling the runtime's thread pool failed: " + r.output;
      return false;
    }
  }
  std::vector<std::string> argv = {opt.target.linker,
                                   "-c",
                                   "-O2",
                                   "-std=c11",
                                   "-DHYK_TUNE_RUNTIME_POOL",
                                   "-I" HYC_RUNTIME_INCLUDE_DIR,
                                   "-I" HYC_RUNTIME_SOURCE_DIR,
                                   "-I" HYC_KERNELS_INCLUDE_DIR,
                                   "-o",
                                   object};
  if (!op) {
    argv.push_back("-DHYK_TUNE_FORMAT_" + upper);
    argv.push_back("-DHYK_TUNE_DEFAULT=hyk_" +
                   (llvm::StringRef(format).starts_with("gemm_") ? format : "gemv_" + format) +
                   "_" + opt.target.kernelIsa);
    // The pre-quantized families' rounding kernel (used by those only).
    argv.push_back("-DHYK_TUNE_QUANTIZE=hyk_quantize_" + opt.target.kernelIsa);
    argv.push_back(HYC_TUNE_HARNESS);
  } else if (llvm::StringRef(p.generator).starts_with("attention_")) {
    // attention_{decode,prefill}_{f32,f16,q8_0}: the generator's name, then
    // the cache type (kernelGenerator), which the harness takes as a macro;
    // the default is hyk_attention_<isa>[_f16|_q8_0].
    const std::string cache = format.substr(p.generator.size() + 1);
    const char *bits = cache == "f32" ? "32" : cache == "f16" ? "16" : "8";
    argv.push_back("-DHYK_TUNE_OP_ATTENTION");
    argv.push_back(std::string("-DHYK_TUNE_CACHE_BITS=") + bits);
    argv.push_back("-DHYK_TUNE_DEFAULT=hyk_attention_" + opt.target.kernelIsa +
                   (cache == "f32" ? "" : "_" + cache));
    argv.push_back(HYC_OP_HARNESS);
  } else {
    argv.push_back("-DHYK_TUNE_OP_" + upper);
    argv.push_back("-DHYK_TUNE_DEFAULT=hyk_" + format + "_" + opt.target.kernelIsa);
    argv.push_back(HYC_OP_HARNESS);
  }
  ProcResult r = runProcess(argv, object + ".log", deadline);
  if (r.exitCode != 0) {
    error = r.killed ? "stopped" : "compiling the timing harness failed: " + r.output;
    return false;
  }
  harnessObjects[format] = object;
  return true;
}

/// Builds and runs one variant; nullopt when stopped (deadline or Ctrl-C) or
/// when `fatal` is set (the tool chain itself is broken).
std::optional<Measurement> Tuner::measure(PairState &p, Kind kind, const TunePoint *point,
                                          std::string &fatal, Clock::time_point until) {
  std::string text = point ? pointText(*p.space, *point) : "";
  std::string key = journalKey(p, kind, text);
  if (auto it = journal.find(key); it != journal.end()) {
    Measurement m;
    m.ok = it->second.getBoolean("ok").value_or(false);
    m.candUs = it->second.getNumber("cand_us").value_or(0);
    m.defaultUs = it->second.getNumber("default_us").value_or(0);
    m.error = it->second.getString("error").value_or("").str();
    ++reusedFromJournal;
    return m;
  }
  std::string harness;
  if (!harnessObject(p, harness, fatal))
    return std::nullopt;
  Clock::time_point t0 = Clock::now();
  std::string base = work + "/cand";
  std::vector<std::string> gen = {generatorPath, "-g", p.generator, "-f", "hyk_tune_candidate",
                                  "-e", "object", "-o", work, "-n", "cand",
                                  "target=" + halideTarget + "-no_runtime"};
  for (const std::string &param : kernelGeneratorParams(p.pair.family))
    gen.push_back(param);
  if (kind == Kind::Adams) {
    gen.insert(gen.begin() + 1, {"-p", HYC_HALIDE_ADAMS2019});
    gen.push_back("autoscheduler=Adams2019");
    gen.push_back("autoscheduler.parallelism=" + std::to_string(opt.threads));
    if (opt.adamsBeamSize > 0)
      gen.push_back("autoscheduler.beam_size=" + std::to_string(opt.adamsBeamSize));
    gen.push_back("estimate_n=" + std::to_string(p.pair.n));
    gen.push_back("estimate_k=" + std::to_string(p.pair.k));
    // Rows per call: the GEMMs' and attention's (the pointwise generators
    // take them in estimate_n).
    const bool attention = p.pair.kvHeads > 0;
    if (p.pair.m > 1 && (!p.pair.isOp() || attention))
      gen.push_back("estimate_m=" + std::to_string(p.pair.m));
    if (attention) {
      gen.push_back("estimate_kv_heads=" + std::to_string(p.pair.kvHeads));
      gen.push_back("estimate_pos=" + std::to_string(p.pair.pos));
    }
  } else if (!text.empty()) {
    llvm::SmallVector<llvm::StringRef> params;
    llvm::StringRef(text).split(params, ',');
    for (llvm::StringRef s : params)
      gen.push_back(s.str());
  }
  if (kind != Kind::Default && p.space->fixedShape)
    for (const auto &[name, value] : fixedShapeParams(p))
      gen.push_back(name + "=" + std::to_string(value));
  llvm::sys::fs::remove(base + ".o");
  Measurement m;
  ProcResult r = runProcess(gen, base + ".gen.log", until);
  if (r.killed)
    return std::nullopt;
  if (r.exitCode != 0 || !llvm::sys::fs::exists(base + ".o")) {
    // Halide's own message ("Error: ...", "Unhandled exception: ...") rather
    // than the warnings before it.
    size_t at = r.output.find("rror");
    std::string why = at == std::string::npos
                          ? lastLines(r.output)
                          : r.output.substr(r.output.rfind('\n', at) == std::string::npos
                                                ? 0
                                                : r.output.rfind('\n', at) + 1);
    if (why.size() > 600)
      why = why.substr(0, 600) + "...";
    m.error = "generator failed (exit " + std::to_string(r.exitCode) + "): " + why;
  } else {
    std::vector<std::string> link = {opt.target.linker, harness, work + "/runtime_pool.o",
                                     work + "/runtime_status.o", base + ".o",
                                     opt.target.kernelArchive, "-lm", "-lpthread", "-ldl",
                                     "-o", base + ".exe"};
    // Under a runner (an emulator, or a device reached by ssh/adb) a static
    // executable needs nothing from the other side's file system.
    if (!native())
      link.insert(link.begin() + 1, "-static");
    r = runProcess(link, base + ".link.log", until);
    if (r.killed)
      return std::nullopt;
    if (r.exitCode != 0) {
      fatal = "linking a candidate with the timing harness failed: " + r.output;
      return std::nullopt;
    }
    std::vector<std::string> cmd = opt.runner;
    // Natively, every run of a format cycles through one shared pool of
    // weightPoolBytes() (the first run writes it; see TuneHarness.c), so each
    // call streams its weights from memory; one pool per block format. Each
    // run starts where the previous run of its pool stopped (poolNext).
    std::string pool = "-";
    if (native() && !p.pair.isOp())
      pool = work + "/pool_" + blockFormat(p.pair.family) + ".bin";
    for (const std::string &a :
         {base + ".exe", std::to_string(p.pair.n), std::to_string(p.pair.k),
          std::to_string(kind == Kind::Confirm ? std::min(2 * reps(p), 101) : reps(p)),
          std::string(native() ? "2" : "1"),
          std::to_string(opt.threads), std::to_string(opt.seed), pool,
          std::to_string(native() ? poolBytes : 0), std::to_string(p.pair.m)})
      cmd.push_back(a);
    if (pool != "-")
      cmd.push_back(std::to_string(poolNext[pool]));
    if (p.pair.isOp()) { // OpHarness.c: the KV heads and the position too
      cmd.push_back(std::to_string(p.pair.kvHeads));
      cmd.push_back(std::to_string(p.pair.pos));
    }
    r = runProcess(cmd, base + ".run.log", until);
    if (r.killed)
      return std::nullopt;
    llvm::StringRef out(r.output);
    size_t at = out.find("hyk-tune ok ");
    if (r.exitCode == 0 && at != llvm::StringRef::npos) {
      llvm::SmallVector<llvm::StringRef> fields;
      out.substr(at).split(fields, ' ');
      for (llvm::StringRef f : fields) {
        auto [name, value] = f.split('=');
        double v = 0;
        if (name == "cand_us" && !value.trim().getAsDouble(v))
          m.candUs = v;
        if (name == "default_us" && !value.trim().getAsDouble(v))
          m.defaultUs = v;
        long long next = 0;
        if (name == "pool_next" && pool != "-" && !value.trim().getAsInteger(10, next))
          poolNext[pool] = next;
      }
      m.ok = m.candUs > 0 && m.defaultUs > 0;
      if (!m.ok)
        m.error = "unreadable harness output: " + lastLines(r.output);
    } else {
      m.error = "harness exit " + std::to_string(r.exitCode) + ": " + lastLines(r.output);
    }
  }
  if (kind == Kind::Candidate) {
    candidateSeconds += secondsSince(t0);
    ++candidateRuns;
    p.seconds += secondsSince(t0);
    ++p.runs;
  }
  ++measuredThisRun;
  record(p, kind, text, m);
  return m;
}

void Tuner::consider(PairState &p, const std::string &text, const Measurement &m) {
  ++p.candidates;
  if (!m.ok) {
    ++p.rejected;
    // Loud: a wrong or broken candidate is a bug in a generator or the space.
    event(llvm::formatv("REJECTED {0} {1}x{2} [{3}]: {4}", p.generator, p.pair.n, p.pair.k,
                        text.empty() ? "default" : text, m.error)
              .str());
    return;
  }
  if (m.ratio() < p.bestRatio) {
    p.bestRatio = m.ratio();
    p.best = text;
    p.bestRun = m;
    event(llvm::formatv("  new best {0} {1}x{2}: {3:F1} us ({4:F3}x default) [{5}]",
                        p.pair.family, p.pair.n, p.pair.k, m.candUs, m.ratio(),
                        text.empty() ? "default" : text)
              .str());
  }
}

/// The next unmeasured point of the pair's space: at a fixed shape the
/// default knobs first; random while randomLeft, else an unmeasured neighbour
/// of the best, else a random restart.
bool Tuner::nextPoint(PairState &p, TunePoint &out) {
  const SearchSpace &s = *p.space;
  auto isNew = [&](const TunePoint &pt) {
    return !p.measured.count(pointText(s, pt)) &&
           !(pointText(s, pt).empty() && p.defaultRun);
  };
  TunePoint defaults;
  for (const TuneKnob &k : s.knobs)
    defaults.push_back(k.defaultValue);
  if (s.fixedShape && isNew(defaults)) {
    out = defaults;
    return true;
  }
  auto random = [&](TunePoint &pt) {
    for (int attempt = 0; attempt < 200; ++attempt) {
      pt.clear();
      for (const TuneKnob &k : s.knobs)
        pt.push_back(k.values[rng() % k.values.size()]);
      if (isNew(pt))
        return true;
    }
    return false;
  };
  if (p.randomLeft > 0) {
    --p.randomLeft;
    if (random(out))
      return true;
  }
  TunePoint best;
  if (p.best.empty())
    for (const TuneKnob &k : s.knobs)
      best.push_back(k.defaultValue);
  else
    best = p.points[p.best];
  std::vector<TunePoint> neighbours;
  for (size_t i = 0; i < s.knobs.size(); ++i) {
    const std::vector<int64_t> &vals = s.knobs[i].values;
    auto it = std::find(vals.begin(), vals.end(), best[i]);
    if (it == vals.end())
      continue;
    size_t idx = it - vals.begin();
    for (int d : {-1, 1}) {
      if ((d < 0 && idx == 0) || idx + d >= vals.size())
        continue;
      TunePoint n = best;
      n[i] = vals[idx + d];
      if (isNew(n))
        neighbours.push_back(n);
    }
  }
  if (!neighbours.empty()) {
    out = neighbours[rng() % neighbours.size()];
    return true;
  }
  return random(out); // converged here: restart elsewhere
}

void Tuner::event(const std::string &line) {
  if (tty && statusShown)
    std::fprintf(stderr, "\r\033[K");
  std::fprintf(stderr, "%s\n", line.c_str());
  statusShown = false;
  if (tty && !status.empty())
    showStatus(status);
}

void Tuner::showStatus(const std::string &what) {
  status = what;
  double elapsed = secondsSince(start), budget = opt.budgetSeconds;
  // Not a terminal (a log, CI): one status line per 5 s at most, not one per
  // candidate (each names every pair's best so far).
  if (!tty) {
    if (elapsed < nextLogStatus)
      return;
    nextLogStatus = elapsed + 5.0;
  }
  double frac = std::clamp(elapsed / budget, 0.0, 1.0);
  const int width = 24;
  int filled = static_cast<int>(frac * width);
  std::string bar(filled, '#');
  bar += std::string(width - filled, '-');
  int eta = static_cast<int>(std::max(0.0, budget - elapsed));
  int done = 0;
  for (const PairState &p : pairs)
    done += p.candidates;
  // Best so far of every pair, as time relative to its default.
  std::string bests;
  for (const PairState &p : pairs)
    if (p.defaultRun)
      bests += llvm::formatv("{0}{1}{2}x{3} {4:F2}", bests.empty() ? "" : ", ",
                             p.pair.m > 1 ? "gemm " : "", p.pair.n, p.pair.k, p.bestRatio)
                   .str();
  std::string line = llvm::formatv("[{0}] {1,3}% ETA {2}m{3:02}s | {4} candidates", bar,
                                   static_cast<int>(frac * 100), eta / 60, eta % 60, done)
                         .str();
  if (!bests.empty())
    line += " | best/default " + bests;
  line += " | " + what;
  if (tty) {
    // One terminal row: a wrapped line could not be redrawn in place.
    struct winsize ws = {};
    size_t cols = ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20 ? ws.ws_col : 80;
    if (line.size() > cols - 1)
      line.resize(cols - 1);
    std::fprintf(stderr, "\r\033[K%s", line.c_str());
    statusShown = true;
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
}

llvm::json::Object Tuner::summaryJson() const {
  llvm::json::Object s = sums(false);
  bool anyPrefill = false;
  for (const PairState &p : pairs)
    anyPrefill |= p.pair.m > 1;
  if (anyPrefill)
    s["prefill_chunk"] = sums(true);
  return s;
}

llvm::json::Object Tuner::sums(bool prefill) const {
  // Sums over the decode step's kernels (the GEMVs, attention and pointwise
  // ops), or over one prefill chunk's (m > 1: the GEMMs and the chunk's
  // ops), uses x time. Adams2019 can fail or be cut by the
  // budget for some pairs: its ratio compares the pairs it has.
  double def = 0, adams = 0, tuned = 0, tunedWithAdams = 0;
  int measured = 0, withAdams = 0, mine = 0;
  for (const PairState &p : pairs) {
    if ((p.pair.m > 1) != prefill)
      continue;
    ++mine;
    if (!p.defaultRun || !p.defaultRun->ok)
      continue;
    ++measured;
    double d = p.defaultUs(), t = p.tunedUs();
    def += p.pair.count * d;
    tuned += p.pair.count * t;
    if (std::optional<double> a = p.adamsUs()) {
      ++withAdams;
      adams += p.pair.count * *a;
      tunedWithAdams += p.pair.count * t;
    }
  }
  llvm::json::Object s{{"default_us", def},
                       {"tuned_us", tuned},
                       {"pairs", mine},
                       {"pairs_measured", measured},
                       {"adams2019_pairs", withAdams},
                       {"all_pairs_measured", measured == mine}};
  s["adams2019_us"] = withAdams ? llvm::json::Value(adams) : llvm::json::Value(nullptr);
  if (tuned > 0)
    s["default_over_tuned"] = def / tuned;
  if (tunedWithAdams > 0)
    s["adams2019_over_tuned"] = adams / tunedWithAdams;
  return s;
}

bool Tuner::writeDatabase(bool interrupted, std::string &error) {
  // Keep entries of an existing database for other keys (other targets,
  // other models' shapes); ours replace the rest.
  llvm::json::Array entries;
  std::set<std::tuple<std::string, std::string, int64_t, int64_t, int64_t>> ours;
  for (const PairState &p : pairs)
    ours.insert({p.pair.family, opt.target.name, p.pair.n, p.pair.k, p.pair.kvHeads});
  if (auto buffer = llvm::MemoryBuffer::getFile(opt.output)) {
    llvm::Expected<llvm::json::Value> old = llvm::json::parse((*buffer)->getBuffer());
    if (!old)
      llvm::consumeError(old.takeError());
    else if (llvm::json::Object *o = old->getAsObject())
      if (llvm::json::Array *a = o->getArray("entries"))
        for (llvm::json::Value &v : *a)
          if (llvm::json::Object *e = v.getAsObject()) {
            auto key = std::make_tuple(e->getString("kernel").value_or("").str(),
                                       e->getString("target").value_or("").str(),
                                       e->getInteger("n").value_or(-1),
                                       e->getInteger("k").value_or(-1),
                                       e->getInteger("kv_heads").value_or(0));
            if (!ours.count(key))
              entries.push_back(std::move(v));
          }
  }
  for (const PairState &p : pairs) {
    llvm::json::Object schedule;
    if (!p.best.empty()) {
      const TunePoint &pt = p.points.at(p.best);
      for (size_t i = 0; i < p.space->knobs.size(); ++i) {
        const TuneKnob &k = p.space->knobs[i];
        if (k.boolean)
          schedule[k.name] = pt[i] != 0;
        else
          schedule[k.name] = pt[i];
      }
      if (p.space->fixedShape)
        for (const auto &[name, value] : fixedShapeParams(p))
          schedule[name] = value;
    }
    llvm::json::Object e{{"kernel", p.pair.family}, {"target", opt.target.name},
                         {"n", p.pair.n},           {"k", p.pair.k},
                         {"schedule", std::move(schedule)},
                         {"generator", p.generator}, {"uses", p.pair.count},
                         {"candidates", p.candidates}, {"rejected", p.rejected},
                         {"confirmed", p.confirmed}};
    e["m"] = p.pair.m; // rows per call: > 1 in the prefill chunk (summary.prefill_chunk)
    if (p.pair.kvHeads)
      e["kv_heads"] = p.pair.kvHeads;
    if (p.pair.pos)
      e["measured_at_position"] = p.pair.pos;
    llvm::json::Object baselines;
    if (p.defaultRun && p.defaultRun->ok) {
      baselines["default"] = p.defaultUs();
      e["time_us"] = p.tunedUs();
      e["measured_us"] = p.best.empty() ? p.defaultUs() : p.bestRun.candUs;
      e["vs_default"] = p.best.empty() ? 1.0 : p.bestRatio;
    }
    if (p.adamsRun) {
      if (std::optional<double> a = p.adamsUs()) {
        baselines["adams2019"] = *a;
        e["adams2019_measured_us"] = p.adamsRun->candUs;
      } else {
        e["adams2019_error"] = p.adamsRun->error;
      }
    }
    e["baselines"] = std::move(baselines);
    entries.push_back(std::move(e));
  }
  std::string runner;
  for (const std::string &a : opt.runner)
    runner += (runner.empty() ? "" : " ") + a;
  llvm::json::Object tuner{{"model", llvm::sys::path::filename(opt.model).str()},
                           {"target", opt.target.name},
                           {"threads", opt.threads},
                           {"budget_minutes", opt.budgetSeconds / 60},
                           {"elapsed_s", secondsSince(start)},
                           {"adams2019_beam_size", opt.adamsBeamSize},
                           {"runner", runner.empty() ? llvm::json::Value(nullptr)
                                                     : llvm::json::Value(runner)},
                           {"timing_meaningful", native()},
                           {"weight_pool_bytes", native() ? poolBytes : 0},
                           {"interrupted", interrupted},
                           {"measured", measuredThisRun},
                           {"from_journal", reusedFromJournal}};
  llvm::json::Object root{{"format", "hyc-tuning-db"},
                          {"version", 1},
                          {"tuner", std::move(tuner)},
                          {"summary", summaryJson()},
                          {"entries", std::move(entries)}};
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::formatv("{0:2}", llvm::json::Value(std::move(root))) << "\n";
  std::string tmp = opt.output + ".tmp";
  if (!writeFile(tmp, text, error))
    return false;
  if (std::error_code ec = llvm::sys::fs::rename(tmp, opt.output)) {
    error = "cannot write '" + opt.output + "': " + ec.message();
    llvm::sys::fs::remove(tmp);
    return false;
  }
  return true;
}

void Tuner::printSummary() {
  auto fmt = [](std::optional<double> us) {
    return us ? llvm::formatv("{0,11:F1}", *us).str() : std::string("          -");
  };
  // GB/s = the matrix's bytes / the tuned time: what the kernel streams
  // (natively; under a runner the times mean nothing).
  std::fprintf(stderr, "\n%-18s %7s %6s %4s %11s %11s %11s %9s %9s %7s %5s\n", "kernel", "n",
               "k", "uses", "default_us", "adams_us", "tuned_us", "def/tun", "adm/tun",
               "GB/s", "cands");
  for (const PairState &p : pairs) {
    double tuned = p.tunedUs();
    std::string r1 = "-", r2 = "-", gbs = "-";
    if (tuned > 0)
      r1 = llvm::formatv("{0:F2}x", p.defaultUs() / tuned).str();
    if (tuned > 0 && p.adamsUs())
      r2 = llvm::formatv("{0:F2}x", *p.adamsUs() / tuned).str();
    std::optional<lowbit::WeightFormat> wf =
        lowbit::symbolizeWeightFormat(blockFormat(p.pair.family));
    if (tuned > 0 && native() && wf)
      gbs = llvm::formatv("{0:F1}", static_cast<double>(p.pair.n) * (p.pair.k /
                                        lowbit::requiredBlockSize(*wf)) *
                                        lowbit::blockBytes(*wf) / (tuned * 1e3))
                .str();
    std::fprintf(stderr, "%-18s %7lld %6lld %4lld %s %s %11.1f %9s %9s %7s %5d  %s\n",
                 p.pair.family.c_str(), static_cast<long long>(p.pair.n),
                 static_cast<long long>(p.pair.k), static_cast<long long>(p.pair.count),
                 fmt(p.defaultUs() > 0 ? std::optional<double>(p.defaultUs()) : std::nullopt)
                     .c_str(),
                 fmt(p.adamsUs()).c_str(), tuned, r1.c_str(),
                 r2.c_str(), gbs.c_str(), p.candidates, p.best.empty() ? "default" : p.best.c_str());
  }
  llvm::json::Object s = summaryJson();
  printSums(s, "the decode step's kernels");
  if (const llvm::json::Object *prefill = s.getObject("prefill_chunk"))
    printSums(*prefill, "one prefill chunk's kernels");
  std::fprintf(stderr, "(adams2019 and tuned: their time relative to the default measured "
                       "alongside in the same run, times the default's median)\n");
  if (!native())
    std::fprintf(stderr, "note: measured through the runner '%s': if that is an emulator "
                         "(qemu), these times say nothing about speed on real hardware; "
                         "only the correctness checks mean something.\n",
                 opt.runner[0].c_str());
}

void Tuner::printSums(const llvm::json::Object &s, const char *what) {
  double def = s.getNumber("default_us").value_or(0), tuned = s.getNumber("tuned_us").value_or(0);
  std::optional<double> adams = s.getNumber("adams2019_us"),
                        adamsRatio = s.getNumber("adams2019_over_tuned");
  int64_t nPairs = s.getInteger("pairs").value_or(0),
          nAdams = s.getInteger("adams2019_pairs").value_or(0);
  std::string adamsText =
      adams ? llvm::formatv("{0:F1} us ({1} of {2} kernels)", *adams, nAdams, nPairs).str()
            : std::string("-");
  std::string ratios;
  if (tuned > 0)
    ratios = llvm::formatv("; default/tuned {0:F3}x", def / tuned).str();
  if (adamsRatio)
    ratios += llvm::formatv(", adams2019/tuned {0:F3}x (over the kernels adams2019 has)",
                            *adamsRatio)
                  .str();
  std::fprintf(stderr,
               "sum over %s (uses x time): default %.1f us, "
               "adams2019 %s, tuned %.1f us%s\n",
               what, def, adamsText.c_str(), tuned, ratios.c_str());
}

int Tuner::run(std::string &error) {
  start = Clock::now();
  deadline = start + std::chrono::milliseconds(static_cast<int64_t>(opt.budgetSeconds * 1000));
  tty = isatty(2);
  journalPath = opt.output + ".journal";
  generatorPath = halideGeneratorPath();
  halideTarget = halideTargetForIsa(opt.target.kernelIsa);
  if (halideTarget.empty()) {
    error = "this hyc build has no Halide target for kernel ISA '" + opt.target.kernelIsa +
            "' (target " + opt.target.name + ")";
    return 1;
  }
  if (!llvm::sys::fs::exists(opt.target.kernelArchive)) {
    error = "kernel library '" + opt.target.kernelArchive + "' is missing (target " +
            opt.target.name + " not built?)";
    return 1;
  }
  {
    // Journal entries are only valid for the same generators, default
    // kernels, Halide target and timing harness (its source and the runtime
    // pool it runs the kernels on): a rebuilt generator or a changed pool
    // starts a new journal key.
    uint64_t id = 0xcbf29ce484222325ull, bytes = 0;
    for (char c : halideTarget)
      id = (id ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
    std::string ignored;
    for (const std::string &file :
         {generatorPath, opt.target.kernelArchive, std::string(HYC_TUNE_HARNESS),
          std::string(HYC_OP_HARNESS), std::string(HYC_HARNESS_COMMON),
          std::string(HYC_RUNTIME_POOL_SOURCE), std::string(HYC_RUNTIME_STATUS_SOURCE)}) {
      uint64_t h = 0;
      hashFile(file, h, bytes, ignored);
      id = id * 1000003 ^ h;
    }
    toolId = llvm::formatv("{0:x-8}", id & 0xffffffffull).str();
  }
  if (!llvm::sys::findProgramByName(opt.target.linker)) {
    error = "no '" + opt.target.linker + "' on PATH (the C driver of target " +
            opt.target.name + ")";
    return 1;
  }

  showStatus("finding the model's kernels");
  std::vector<TunePair> found;
  if (!findTunePairs(opt.model, opt.target, opt.kvCache, found, error))
    return 1;
  for (const TunePair &tp : found) {
    PairState p;
    p.pair = tp;
    p.generator = kernelGenerator(tp.family, opt.target.kernelIsa);
    p.space = findSearchSpace(p.generator, opt.target.kernelIsa);
    if (!p.space) {
      static std::set<std::string> noted;
      if (noted.insert(p.generator).second)
        event("note: no search space declared for " + p.generator + " on " +
            opt.target.kernelIsa + "; " + tp.family + " keeps its default schedule");
      continue;
    }
    pairs.push_back(std::move(p));
  }
  if (pairs.empty()) {
    error = "the model has no op with a tunable kernel on " + opt.target.name;
    return 1;
  }
  {
    std::string list;
    for (const PairState &p : pairs)
      list += llvm::formatv(" {0} {1}x{2} (x{3})", p.pair.family, p.pair.n, p.pair.k,
                            p.pair.count)
                  .str();
    event(llvm::formatv("hyc tune: {0} distinct kernels on {1} ({2} threads, budget {3:F1} "
                        "min):{4}",
                        pairs.size(), opt.target.name, opt.threads, opt.budgetSeconds / 60,
                        list)
              .str());
  }
  if (!native()) {
    std::string r;
    for (const std::string &a : opt.runner)
      r += (r.empty() ? "" : " ") + a;
    event("note: candidates run through '" + r + "'; under an emulator the times mean "
          "nothing, only the correctness checks do");
  }

  llvm::SmallString<128> dir;
  if (std::error_code ec = llvm::sys::fs::createUniqueDirectory("hyc-tune", dir)) {
    error = "cannot create a work directory: " + ec.message();
    return 1;
  }
  work = dir.str().str();
  struct Cleanup {
    std::string d;
    ~Cleanup() { llvm::sys::fs::remove_directories(d); }
  } cleanup{work};

  loadJournal();
  journalOut.open(journalPath, std::ios::app);
  if (!journalOut) {
    error = "cannot write the journal '" + journalPath + "'";
    return 1;
  }
  if (!journal.empty())
    event(llvm::formatv("resuming: {0} measurements in {1}", journal.size(), journalPath).str());

  struct sigaction sa = {}, old = {};
  sa.sa_handler = onSigint;
  sa.sa_flags = SA_RESETHAND; // a second Ctrl-C ends hyc at once
  sigaction(SIGINT, &sa, &old);
  struct Restore {
    struct sigaction o;
    ~Restore() { sigaction(SIGINT, &o, nullptr); }
  } restore{old};

  std::string fatal;
  bool stopped = false;
  // ---- baselines ----
  for (PairState &p : pairs) {
    if (stopped)
      break;
    showStatus(llvm::formatv("baseline default {0} {1}x{2}", p.pair.family, p.pair.n, p.pair.k));
    std::optional<Measurement> m = measure(p, Kind::Default, nullptr, fatal, deadline);
    if (!fatal.empty()) {
      error = fatal;
      return 1;
    }
    if (!m) {
      stopped = true;
      break;
    }
    p.defaultRun = *m;
    if (!m->ok) {
      error = "the default schedule of " + p.generator + " " + std::to_string(p.pair.n) +
              "x" + std::to_string(p.pair.k) + " failed the harness: " + m->error;
      return 1;
    }
    event(llvm::formatv("  {0} {1}x{2}: default {3:F1} us", p.pair.family, p.pair.n, p.pair.k,
                        m->candUs)
              .str());
  }
  // Adams2019 after every default: its beam search can take half a minute
  // per shape (the int8 pipelines), so it gets at most 40% of the budget,
  // largest share of the decode step first; pairs it does not reach say so.
  std::vector<PairState *> byWeight;
  for (PairState &p : pairs)
    if (p.defaultRun && p.defaultRun->ok) {
      // Per token: a prefill GEMM call serves m tokens.
      p.weight = p.pair.count * p.defaultRun->candUs / p.pair.m;
      byWeight.push_back(&p);
    }
  std::stable_sort(byWeight.begin(), byWeight.end(),
                   [](const PairState *a, const PairState *b) { return a->weight > b->weight; });
  Clock::time_point adamsEnd =
      start + std::chrono::milliseconds(static_cast<int64_t>(opt.budgetSeconds * 400));
  double lastAdams = 0;
  for (PairState *pp : byWeight) {
    PairState &p = *pp;
    if (stopped || opt.noAdams)
      break;
    if (Clock::now() + std::chrono::milliseconds(int64_t(lastAdams * 1000)) > adamsEnd) {
      Measurement skipped;
      skipped.error = "not run: the Adams2019 baseline gets at most 40% of the budget";
      p.adamsRun = skipped;
      continue;
    }
    showStatus(llvm::formatv("baseline adams2019 {0} {1}x{2}", p.pair.family, p.pair.n, p.pair.k));
    Clock::time_point t0 = Clock::now();
    std::optional<Measurement> m = measure(p, Kind::Adams, nullptr, fatal, adamsEnd);
    lastAdams = secondsSince(t0);
    if (!fatal.empty()) {
      error = fatal;
      return 1;
    }
    if (!m) {
      if (gInterrupted || Clock::now() >= deadline) {
        stopped = true;
        break;
      }
      Measurement skipped;
      skipped.error = "not finished within its share of the budget (40%)";
      p.adamsRun = skipped;
      continue;
    }
    p.adamsRun = *m;
    event(m->ok ? llvm::formatv("  {0} {1}x{2}: adams2019 {3:F1} us", p.pair.family, p.pair.n,
                                p.pair.k, m->candUs)
                      .str()
                : "  adams2019 baseline failed: " + m->error);
  }

  // ---- search ----
  double total = 0;
  for (PairState &p : pairs)
    total += p.weight;
  std::vector<PairState *> order;
  for (PairState &p : pairs)
    if (p.defaultRun && p.defaultRun->ok)
      order.push_back(&p);
  // Largest share of the decode step first.
  std::stable_sort(order.begin(), order.end(),
                   [](const PairState *a, const PairState *b) { return a->weight > b->weight; });
  double weightLeft = total;
  for (size_t i = 0; i < order.size() && !stopped; ++i) {
    PairState &p = *order[i];
    // Time for this pair: its share of what is left (unused time flows on),
    // but at least a few candidates' worth if the budget allows.
    double left = std::chrono::duration<double>(deadline - Clock::now()).count();
    double share = weightLeft > 0 ? p.weight / weightLeft : 1.0;
    double mine = std::max(left * share, std::min(left, 3 * estimateCandidateSeconds()));
    if (i + 1 == order.size())
      mine = left;
    weightLeft -= p.weight;
    Clock::time_point pairEnd = Clock::now() + std::chrono::milliseconds(int64_t(mine * 1000));
    resumePair(p);
    // Random exploration first: ~40% of the candidates the time allows.
    p.randomLeft = std::max(2, static_cast<int>(0.4 * mine / estimateCandidateSeconds()));
    while (!stopped) {
      double est = estimateCandidateSeconds(p);
      // Start a candidate only if about half of it, plus the confirmation
      // run, fits in the pair's time and all of it in the session's (a run
      // past the deadline is killed).
      if (Clock::now() + std::chrono::milliseconds(int64_t(est * 1500)) > pairEnd)
        break;
      if (Clock::now() + std::chrono::milliseconds(int64_t(est * 1000)) > deadline)
        break;
      TunePoint pt;
      if (!nextPoint(p, pt)) {
        p.exhausted = true;
        break;
      }
      std::string text = pointText(*p.space, pt);
      p.points[text] = pt;
      showStatus(llvm::formatv("{0} {1}x{2} best {3:F3}x default | trying {4}", p.pair.family,
                               p.pair.n, p.pair.k, p.bestRatio, text.empty() ? "default" : text));
      std::optional<Measurement> m = measure(p, Kind::Candidate, &pt, fatal, deadline);
      if (!fatal.empty()) {
        error = fatal;
        return 1;
      }
      if (!m) {
        stopped = true;
        break;
      }
      p.measured[text] = *m;
      consider(p, text, *m);
    }
    if (stopped || p.best.empty())
      continue;
    // Confirm the winner: the least of many noisy ratios is biased low. The
    // database keeps the re-measured ratio, or the default if it did not hold.
    showStatus(llvm::formatv("{0} {1}x{2} confirming {3}", p.pair.family, p.pair.n, p.pair.k,
                             p.best));
    TunePoint pt = p.points[p.best];
    std::optional<Measurement> m = measure(p, Kind::Confirm, &pt, fatal, deadline);
    if (!fatal.empty()) {
      error = fatal;
      return 1;
    }
    if (!m) {
      stopped = true;
      break;
    }
    if (m->ok && m->ratio() < 1.0) {
      p.bestRatio = m->ratio();
      p.bestRun = *m;
      p.confirmed = true;
      event(llvm::formatv("  confirmed {0} {1}x{2}: {3:F3}x default [{4}]", p.pair.family,
                          p.pair.n, p.pair.k, m->ratio(), p.best)
                .str());
    } else {
      event(llvm::formatv("  {0} {1}x{2}: [{3}] did not hold up when measured again ({4}); "
                          "keeping the default",
                          p.pair.family, p.pair.n, p.pair.k, p.best,
                          m->ok ? llvm::formatv("{0:F3}x default", m->ratio()).str() : m->error)
                .str());
      p.best.clear();
      p.bestRatio = 1.0;
      p.confirmed = true;
    }
  }
  if (gInterrupted)
    event("interrupted: writing the best schedules found so far");
  else if (stopped)
    event(llvm::formatv("budget reached ({0:F1} s)", secondsSince(start)).str());
  if (tty && statusShown)
    std::fprintf(stderr, "\r\033[K");
  statusShown = false;
  status.clear();
  if (!writeDatabase(gInterrupted != 0, error))
    return 1;
  printSummary();
  std::fprintf(stderr, "hyc tune: wrote %s (%d measured now, %d from the journal, %.1f s)\n",
               opt.output.c_str(), measuredThisRun, reusedFromJournal, secondsSince(start));
  return gInterrupted ? 130 : 0;
}

} // namespace

int hyc::runTuner(const TuneOptions &options, std::string &error) {
  gInterrupted = 0;
  TuneOptions o = options;
  if (o.threads <= 0)
    o.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  Tuner t(o);
  return t.run(error);
}
