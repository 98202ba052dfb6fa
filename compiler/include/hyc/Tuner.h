//===- Tuner.h - hyc tune: search kernel schedules by measurement ---------===//
//
// `hyc tune` finds the distinct (kernel family, n, k) matmuls of a model the
// way `hyc compile` sees them, searches each kernel generator's declared
// schedule space on the target (natively or through a runner command) and
// writes a tuning database (schedules/TuningDatabase.md).
//
//===----------------------------------------------------------------------===//
#ifndef HYC_TUNER_H
#define HYC_TUNER_H

#include "hyc/Compiler.h"
#include "targets/common/Targets.h"

#include <cstdint>
#include <string>
#include <vector>

namespace hyc {

/// One schedule knob of a generator: a GeneratorParam and the values worth
/// trying, in order (neighbours in this list are "one step" apart for the
/// local search).
struct TuneKnob {
  std::string name;
  std::vector<int64_t> values; ///< booleans as 0/1
  int64_t defaultValue = 0;    ///< the generator's own default
  bool boolean = false;
};

/// The declared search space of one generator on one kernel ISA.
struct SearchSpace {
  std::string generator; ///< Halide generator name (kernelGenerator(family, isa))
  std::string isa;       ///< TargetInfo::kernelIsa
  std::vector<TuneKnob> knobs;
  /// The generator takes `fixed_n` / `fixed_k` GeneratorParams that make the
  /// shape a compile-time constant (a pipeline that accepts only that shape).
  /// hyc tune then generates its Adams2019 baseline and its candidates for
  /// the pair's shape, and writes both params into the database's schedule,
  /// so `hyc compile` regenerates exactly the kernel that was measured.
  bool fixedShape = false;
};

/// The search space of `generator` for kernel ISA `isa`, or null.
const SearchSpace *findSearchSpace(const std::string &generator,
                                   const std::string &isa);
/// Every declared space (for `hyc tune --list-spaces` and the tests).
const std::vector<SearchSpace> &allSearchSpaces();

/// A point of a space: one value per knob, in the space's knob order.
using TunePoint = std::vector<int64_t>;
/// "name=value,..." in name order (the form the tuning database's schedules
/// take in the compiler); "" for the all-default point.
std::string scheduleText(const SearchSpace &space, const TunePoint &point);

/// A distinct kernel use of the model, as the compiler selects its kernel:
/// a matmul (gemv_* / gemm_*), or an attention or pointwise op (N and K as
/// lowbit-select-kernels keys them).
struct TunePair {
  std::string family; ///< kernel family, e.g. gemv_q2_0c (the DB's "kernel")
  int64_t n = 0, k = 0;
  int64_t m = 1;      ///< activation rows per call: 1, or the prefill chunk
  int64_t count = 0;  ///< ops of one decode step (m > 1: of one prefill chunk) using it
  int64_t kvHeads = 0; ///< attention: the KV heads (part of the database key)
  int64_t pos = 0;     ///< attention and rope: the position they are measured at
  /// Not a matmul: timed by schedules/tuner/OpHarness.c.
  bool isOp() const {
    return family.rfind("gemv_", 0) != 0 && family.rfind("gemm_", 0) != 0;
  }
};

/// The position at which attention and rope kernels are measured: the cache
/// then holds 1024 rows (+ the chunk), the middle of a 2048-token context.
constexpr int64_t kTunePosition = 1024;

/// Imports `modelPath`, builds the decode module (with its prefill-chunk
/// function) and runs the compiler's kernel selection (selectKernels),
/// collecting every distinct (family, n, k, kv heads) with its use count and
/// rows per call: the matmuls, and the attention and pointwise ops.
bool findTunePairs(const std::string &modelPath, const TargetInfo &target, KvCache kvCache,
                   std::vector<TunePair> &pairs, std::string &error);

struct TuneOptions {
  std::string model;
  TargetInfo target;
  double budgetSeconds = 600;
  std::vector<std::string> runner; ///< command prefix; empty: run natively
  int threads = 0;                 ///< 0: the machine's cores
  std::string output;
  uint64_t seed = 1;
  bool noAdams = false;            ///< skip the Adams2019 baseline
  int adamsBeamSize = 0;           ///< 0: Adams2019's own default (32)
  KvCache kvCache = KvCache::F16;  ///< the KV cache the attention kernels read
};

/// Runs the whole tuning session; returns the process exit code (0 done,
/// 130 interrupted after writing the best so far, 1 error with `error`).
int runTuner(const TuneOptions &options, std::string &error);

} // namespace hyc

#endif // HYC_TUNER_H
