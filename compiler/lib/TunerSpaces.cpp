//===- TunerSpaces.cpp - the schedule search space of each kernel generator ===//
//
// One entry per (Halide generator, kernel ISA): the GeneratorParams `hyc tune`
// varies and the values it tries. Defaults must equal the generators' own
// (schedules/{gemv,gemm,attention,pointwise}/*Generator*.cpp). A new generator gets a few lines here:
//   {"gemv_q2_0c_vnni", "avx512", {{"rows_per_task", {...}, 32}, ...}},
// Knobs that change results (e.g. the i8dot generators' `digits`, which
// trades activation precision) are deliberately not searched: the tuner only
// trades speed, never accuracy.
//
//===----------------------------------------------------------------------===//
#include "hyc/Tuner.h"

#include <map>

using namespace hyc;

namespace {
TuneKnob knob(const char *name, std::vector<int64_t> values, int64_t def) {
  return {name, std::move(values), def, false};
}
TuneKnob flag(const char *name, bool def) { return {name, {0, 1}, def ? 1 : 0, true}; }

// rows_per_task: the parallel grain. Small tiles balance 2..N threads on the
// small projections (512 rows = 16 tasks at 32) and keep each task's rows
// in flight together; large ones cut per-task overhead and give the hardware
// prefetcher longer runs. Powers of two from 4 to 512 cover both ends for
// N = 512 .. 120818.
const std::vector<int64_t> kRowsPerTask = {4, 8, 16, 32, 64, 128, 256, 512};
// The int8-activation decode GEMVs also try tasks past 512 rows: with
// `streams` runs per task, a 512-row task restarts its S sequential streams
// every ~16-60 us, and the hardware prefetchers have to find each one again
// (2-core Intel Xeon VM, q8_0 library, weights in huge pages: lm_head at 2048
// rows and the Q2_0C GEMVs at 1024-2048 decoded 1.018x the 256/512-row
// tuning, median of 60 paired rounds of hyc-ab-decode, p25 0.994, p75 1.034,
// against 1.004 for the library with itself; bench/RESULTS.md, 2026-12-08).
// Small and machine-dependent: the search decides.
const std::vector<int64_t> kLongRowsPerTask = {4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096};
const std::vector<int64_t> kA8qRowsPerTask = {32, 64, 128, 256, 512, 1024, 2048};

std::vector<SearchSpace> buildSpaces() {
  std::vector<SearchSpace> s;
  // Float Q2_0C GEMV (Q2_0CGemvGenerator.cpp). vector_width 0 is the
  // natural width (8 lanes AVX2, 16 AVX-512); a multiple of it makes LLVM
  // use several registers per operation (more independent chains, more
  // register pressure). unroll: rows sharing each x load (the default 1 won
  // on DRAM-streamed decode, 4 with hot caches: depends on the shape).
  // parallel=false: a single thread can win on the smallest shapes, where
  // waking the pool costs more than half the work.
  for (const char *isa : {"avx2", "avx512"}) {
    std::vector<int64_t> widths = {0, 8, 16, 32};
    if (std::string(isa) == "avx2")
      widths = {0, 4, 8, 16}; // 32 floats = 4 ymm per op: spills with unroll
    s.push_back({"gemv_q2_0c", isa,
                 {knob("rows_per_task", kRowsPerTask, 32), knob("vector_width", widths, 0),
                  knob("unroll", {1, 2, 3, 4}, 1), flag("parallel", true)}});
    // Float Q8_0 GEMV (the lm_head, 120818 x 2048 for HY): memory-bound;
    // the grain and rows-per-x-load are what matter (unroll 2+ measured
    // badly on DRAM, kept for cache-resident shapes).
    s.push_back({"gemv_q8_0", isa,
                 {knob("rows_per_task", kRowsPerTask, 64), knob("unroll", {1, 2, 4}, 1),
                  flag("parallel", true)}});
  }
  // Q2_0C on AVX-512 VNNI (Q2_0CVnniGemvGenerator.cpp): the grain (large
  // tasks let the hardware prefetchers run long), the rows sharing the
  // activation digits (more rows = more interleaved DRAM streams) and the
  // software prefetch distance in blocks (0 = none; too far evicts what is
  // about to be used). Fixed shape: Adams2019 cannot schedule these with a
  // symbolic K (it unrolls the loops over blocks); for the manual schedule
  // the constant shape measured 0.94..1.01x the any-shape default's time on
  // the decode shapes (noise), so it costs the candidates nothing. decode:
  // as for gemv_q2_0c_a8q_vnni below, but default 0 (shift; not measured
  // end to end with float activations), and the mask keeps 4 accumulators
  // per digit (12 per row at 3 digits).
  s.push_back({"gemv_q2_0c_vnni", "avx512",
               {knob("rows_per_task", kRowsPerTask, 256), knob("unroll", {1, 2, 3, 4}, 1),
                flag("parallel", true), knob("prefetch", {0, 2, 4, 8, 16, 32}, 0),
                knob("decode", {0, 1}, 0)},
               /*fixedShape=*/true});
  // The int8-activation form (family gemv_q2_0c_a8) over activations the
  // compiled code quantized beforehand (Q2_0CVnniA8qGenerator.cpp, the same
  // schedule as gemv_q2_0c_a8_vnni's): a third of the dot products of the
  // float form, so decode is bound by the weight stream rather than by
  // vpdpbusd. The grain matters most (larger tasks: longer sequential runs
  // for the hardware prefetchers; 32 rows still split the 2048-row
  // projections into 64 tasks). The prefetch distance counts blocks of the
  // weight stream: since 2026-12-07 (Q2_0CVnni.h, NonFaulting) a prefetch
  // past a row's end reaches into the next rows instead of being dropped, so
  // long distances (32, 64: 4-8 KB ahead) are candidates. The default is
  // none: prefetches confined to a row only slowed the hardware prefetchers'
  // contiguous run over the task (2048x6144: 0.74x with 8); the unconfined
  // ones measured shape-dependent on the AVX2 Zen 3 (2 threads, from DRAM:
  // 2048x6144 1.1-1.4x with 64, 3072x2048 0.85-0.95x; bench/RESULTS.md), so
  // they are left to hyc tune per shape.
  // decode: how the 2-bit codes become vpdpbusd operands (Q2_0CVnni.h):
  // 1 (default) masks planes 1..3 in place into one accumulator per plane,
  // 0 shifts every plane to the top bits into one accumulator per block.
  // Mask measured 1.03-1.08x shift single-threaded from DRAM (fewer
  // instructions, four short vpdpbusd chains instead of one of 8), but needs
  // 4 accumulators per output, which spills with large GEMM tiles.
  // streams: a task read as 1-8 runs of rows in lockstep (a register tile
  // is one row of each run; unroll and prefetch then do not apply).
  s.push_back({"gemv_q2_0c_a8q_vnni", "avx512",
               {knob("rows_per_task", kA8qRowsPerTask, 256),
                knob("unroll", {1, 2, 3, 4}, 1), flag("parallel", true),
                knob("prefetch", {0, 1, 2, 4, 8, 16, 32, 64}, 0), knob("decode", {0, 1}, 1),
                knob("streams", {1, 2, 4, 8}, 1)},
               /*fixedShape=*/true});
  // The same on AVX2 (vpmaddubsw + vpmaddwd, Q2_0CVnni.h kDotMaddubs):
  // `decode` does not apply (codes are always shifted and masked to 0..3).
  // unroll: rows sharing each activation load, 2 int16 accumulators each of
  // 16 ymm registers.
  s.push_back({"gemv_q2_0c_a8q_vnni", "avx2",
               {knob("rows_per_task", kA8qRowsPerTask, 256),
                knob("unroll", {1, 2, 3, 4}, 1), flag("parallel", true),
                knob("prefetch", {0, 1, 2, 4, 8, 16, 32, 64}, 0)},
               /*fixedShape=*/true});
  // The prefill GEMM over pre-quantized int8 activations (family
  // gemm_q2_0c_a8, Q2_0CVnniA8qGenerator.cpp; M = the prefill chunk):
  // register tiles of `rows` weight rows x `tokens` activation rows (each
  // decoded weight vector feeds `tokens` dot products; rows x tokens
  // accumulators), the parallel grain, and a software prefetch distance in
  // blocks. Weights are reused M times from cache, so unlike the GEMVs this
  // is compute-bound.
  s.push_back({"gemm_q2_0c_a8q_vnni", "avx512",
               {knob("rows", {1, 2, 3, 4}, 2), knob("tokens", {1, 2, 4}, 2),
                knob("rows_per_task", {8, 16, 32, 64, 128}, 32), flag("parallel", true),
                knob("prefetch", {0, 1, 2, 4}, 0), knob("decode", {0, 1}, 1)},
               /*fixedShape=*/true});
  // On AVX2 the default tile is 4 x 2 (the generator's rows = 0); the codes
  // of each task's rows are decoded once for all its token tiles.
  s.push_back({"gemm_q2_0c_a8q_vnni", "avx2",
               {knob("rows", {1, 2, 3, 4}, 4), knob("tokens", {1, 2, 3, 4}, 2),
                knob("rows_per_task", {8, 16, 32, 64, 128}, 32), flag("parallel", true),
                knob("prefetch", {0, 1, 2, 4}, 0)},
               /*fixedShape=*/true});
  // The Q8_0 lm_head with int8 activations (Q8_0VnniGemvGenerator.cpp): one
  // 8-lane vpdpbusd per 34-byte block, memory-bound; each row is a single
  // contiguous 2176-byte run at K = 2048, so the grain and the software
  // prefetch distance (in blocks, reaching into the next rows: 64 = one row
  // ahead, the AVX2 default) are what can matter; streams reads a task as
  // 1-8 runs of rows in lockstep (more sequential streams in flight per
  // core, no software prefetch then).
  for (const char *isa : {"avx2", "avx512"})
    s.push_back({"gemv_q8_0_a8_vnni", isa,
                 {knob("rows_per_task", kLongRowsPerTask, 64), knob("unroll", {1, 2, 4}, 1),
                  flag("parallel", true),
                  knob("prefetch", {0, 8, 16, 32, 64, 96},
                       std::string(isa) == "avx2" ? 64 : 0),
                  knob("streams", {1, 2, 4, 8}, 1)}});
  // NEON int8 dot-product GEMVs (Q*DotGemvGenerator.cpp). unroll: rows whose
  // sdot chains share the activation digits (4 rows x 3 digits = 12
  // accumulators of 32 vector registers); unroll_block unrolls a block's 8
  // 16-byte code chunks (spills with unroll 4, fine with 2).
  s.push_back({"gemv_q2_0c_i8dot", "neon",
               {knob("rows_per_task", kRowsPerTask, 32), knob("unroll", {1, 2, 3, 4}, 4),
                flag("unroll_block", false), flag("parallel", true)}});
  s.push_back({"gemv_q8_0_i8dot", "neon",
               {knob("rows_per_task", kRowsPerTask, 64), knob("unroll", {1, 2, 4}, 4),
                flag("parallel", true)}});
  // Attention (AttentionGenerator.cpp, every ISA; one space per form, the
  // cache type a family parameter). kv_split: cache positions per partial
  // sum of the V pass (decode: heads x blocks parallel tasks; fewer, larger
  // blocks cut merge work, more keep both cores busy at short contexts);
  // positions: cache positions scored per step with a group of four query
  // heads (0 = the ISA's default: 4 on AVX-512, else 1); parallel=false: one
  // thread (the fork-join costs more than a short cache's work);
  // vector_sums: the softmax's maximum and sum as vector reductions;
  // row_order (decode): walk the cache a row (all KV heads) at a time, in
  // tasks of score_chunk positions (scores) and kv_split positions (V pass);
  // v_vectors (prefill): D vectors per register tile of the V pass;
  // position_lanes (prefill): scores with the cache positions as the vector
  // lanes over a transposed float32 K (1), D as the lanes (0), or the ISA's
  // default (-1: on for AVX2).
  for (const char *isa : {"avx2", "avx512", "neon"}) {
    s.push_back({"attention_decode", isa,
                 {knob("kv_split", {32, 64, 128, 256, 512, 1024, 2048}, 256),
                  knob("positions", {0, 1, 2, 4, 8}, 0), flag("parallel", true),
                  flag("vector_sums", true), flag("row_order", true),
                  knob("score_chunk", {16, 32, 64, 128, 256}, 64)}});
    s.push_back({"attention_prefill", isa,
                 {knob("kv_split", {64, 256, 1024, 1 << 20}, 1 << 20),
                  knob("positions", {0, 1, 2, 4, 8}, 0), flag("parallel", true),
                  flag("vector_sums", true), knob("v_vectors", {1, 2, 4}, 2),
                  knob("position_lanes", {-1, 0, 1}, -1)}});
    // The ops between the matmuls (PointwiseGenerators.cpp): vectors = native
    // vectors per loop step (the unroll of the vectorized loops).
    for (const char *op : {"rms_norm", "rope", "swiglu"})
      s.push_back({op, isa, {knob("vectors", {1, 2, 4, 8}, 2)}});
  }
  // The int8 rounding of the activations, plain and fused into the norm
  // (x86, where the int8 kernels are): the same knob.
  for (const char *isa : {"avx2", "avx512"})
    for (const char *op : {"quantize", "rms_norm_quantize"})
      s.push_back({op, isa, {knob("vectors", {1, 2, 4, 8}, 2)}});
  // ggml's Q2_K and TQ2_0 (K2GemvGenerator.cpp, float activations; every
  // ISA): the parallel grain, and one thread for the smallest shapes.
  for (const char *isa : {"avx2", "avx512", "neon"})
    for (const char *generator : {"gemv_q2_k", "gemv_tq2_0"})
      s.push_back({generator, isa, {knob("rows_per_task", kRowsPerTask, 16), flag("parallel", true)}});
  return s;
}
} // namespace

const std::vector<SearchSpace> &hyc::allSearchSpaces() {
  static const std::vector<SearchSpace> spaces = buildSpaces();
  return spaces;
}

const SearchSpace *hyc::findSearchSpace(const std::string &generator,
                                        const std::string &isa) {
  for (const SearchSpace &s : allSearchSpaces())
    if (s.generator == generator && s.isa == isa)
      return &s;
  return nullptr;
}

std::string hyc::scheduleText(const SearchSpace &space, const TunePoint &point) {
  bool allDefault = true;
  std::map<std::string, std::string> params; // name order, as the compiler's
  for (size_t i = 0; i < space.knobs.size(); ++i) {
    const TuneKnob &k = space.knobs[i];
    allDefault &= point[i] == k.defaultValue;
    params[k.name] = k.boolean ? (point[i] ? "true" : "false") : std::to_string(point[i]);
  }
  if (allDefault)
    return "";
  std::string text;
  for (const auto &[name, value] : params)
    text += (text.empty() ? "" : ",") + name + "=" + value;
  return text;
}
