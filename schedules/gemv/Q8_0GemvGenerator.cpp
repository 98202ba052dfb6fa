//===- Q8_0GemvGenerator.cpp - Halide GEMV over Q8_0 weights --------------===//
//
// Halide generator `gemv_q8_0`: y = W x with W in ggml's Q8_0 format (blocks
// of 32 weights, { fp16 d; int8 qs[32]; } = 34 bytes), float32 activations and
// results. hyc uses it for the tied lm_head (the Q8_0 embedding table, 120818
// rows of 2048 for HY-1.8B), the largest single matrix read per token.
//
// Algorithm: y[n] = sum_b d_b * sum_j qs_b[j] * x[32 b + j].
// Schedule: the reduction over the 32 weights of a block is rfactored into 32
// lane-wise accumulators carried across all blocks of a row, so the inner loop
// is convert + multiply by the (broadcast) scale + FMA per weight, with one
// horizontal sum per row; rows are tiled across Halide's thread pool.

#include "GemvCommon.h"
#include "Halide.h"

#include <algorithm>

namespace {

using namespace Halide;

constexpr int kBlockWeights = 32;
constexpr int kBlockBytes = 34;

class Q8_0Gemv : public Generator<Q8_0Gemv> {
public:
  // Rows of y per parallel task.
  GeneratorParam<int> rows_per_task{"rows_per_task", 64};
  // Rows reduced together (independent accumulator sets sharing x loads).
  // 1 by measurement: on the 120818 x 2048 lm_head (2 threads, weights from
  // DRAM) unroll 1 streams at ~20 GB/s, while 2, 4 and 8 fall to 3-4 GB/s
  // (bench/RESULTS.md, 2026-11-23).
  GeneratorParam<int> unroll{"unroll", 1};
  GeneratorParam<bool> parallel{"parallel", true};
  // Problem size for Halide's autoschedulers (hyc tune's Adams2019
  // baseline; GemvCommon.h). Not schedule knobs: ignored by schedule().
  GeneratorParam<int> estimate_n{"estimate_n", 2048};
  GeneratorParam<int> estimate_k{"estimate_k", 2048};

  // dim 0: bytes of one row (K/32 * 34), dim 1: N rows.
  Input<Buffer<uint8_t, 2>> w{"w"};
  Input<Buffer<float, 1>> x{"x"};
  Output<Buffer<float, 1>> y{"y"};

  void generate() {
    Expr nblocks = w.dim(0).extent() / kBlockBytes;
    // Rows past N (from groups of `unroll` rows) re-read the last row.
    Expr row = clamp(n, 0, w.dim(1).extent() - 1);
    scale(b, n) = hyk::blockScale(w, b * kBlockBytes, row);
    code(j, b, n) =
        cast<float>(reinterpret<int8_t>(w(b * kBlockBytes + 2 + j, row)));

    r = RDom(0, kBlockWeights, 0, nblocks, "r");
    total(n) = 0.0f;
    total(n) += scale(r.y, n) * code(r.x, r.y, n) * x(r.y * kBlockWeights + r.x);
    y(n) = total(n);

    hyk::constrainGemvBuffers(w, x, y, nblocks, kBlockWeights);
    hyk::setGemvEstimates(w, x, y, estimate_n, estimate_k, kBlockWeights,
                          kBlockBytes);
  }

  void schedule() {
    if (using_autoscheduler())
      return; // the autoscheduler (hyc tune's Adams2019 baseline) decides all
    // Tuned for: 2-core Zen 4 class x86, the HY lm_head (120818 x 2048):
    // memory-bound streaming of 262 MB per token; the row tile keeps the
    // per-task working set small and gives thousands of tasks.
    const int ur = std::max(1, (int)unroll);
    const int rpt = hyk::rowsPerTask(rows_per_task, ur);
    y.split(n, nt, ni, rpt, TailStrategy::GuardWithIf)
        .split(ni, nio, nii, ur, TailStrategy::GuardWithIf);
    if (parallel)
      y.parallel(nt);
    total.compute_at(y, nio).bound_extent(n, ur).unroll(n);
    Var lane("lane");
    Func part = total.update().rfactor(r.x, lane);
    part.compute_at(y, nio).bound_extent(n, ur).vectorize(lane).unroll(n);
    part.update().reorder(lane, n, r.y).vectorize(lane).unroll(n);
    // One horizontal sum of the 32 lane accumulators per row.
    RVar fl(total.update().get_schedule().rvars()[0].var);
    total.update().reorder(fl, n).atomic().vectorize(fl).unroll(n);
  }

private:
  Var j{"j"}, b{"b"}, n{"n"}, nt{"nt"}, ni{"ni"}, nio{"nio"}, nii{"nii"};
  Func scale{"scale"}, code{"code"}, total{"total"};
  RDom r;
};

} // namespace

HALIDE_REGISTER_GENERATOR(Q8_0Gemv, gemv_q8_0)
