//===- Q2_0CGemvGenerator.cpp - Halide GEMV over Q2_0C weights -----------===//
//
// Halide generator `gemv_q2_0c`: y = W x with W stored in the Q2_0C 2-bit
// format, float32 activations and results.
//
// Q2_0C layout (per row of K weights, K a multiple of 512):
//   K/512 consecutive 130-byte blocks { fp16 d; uint8 qs[128]; }.
//   Weight i (0..511) of a block: c = (qs[i/4] >> (2*(i%4))) & 3,
//   value (2c-3)*d.
//
// The algorithm (generate) is written in terms of the format math only; every
// performance decision lives in schedule(), driven by the GeneratorParams.
//
// Math used:  y[n] = sum_b d_b * (2 * S_b[n] - 3 * X_b)
//   with S_b[n] = sum_{i in block b} c_i * x_i   (codes 0..3)
//   and  X_b    = sum_{i in block b} x_i         (independent of the row)
// so the inner loop is a single convert + FMA per weight; X_b is computed once
// per call. The weight at byte j, sub-position s (bits 2s..2s+1) of block b
// multiplies x[512 b + 4 j + s]. x is deinterleaved once per call into
// xt(j, s, b) so the inner loop reads it with unit stride when vectorizing over
// the bytes j. The code is not shifted down: (byte & (3 << 2s)) is c * 4^s,
// and xt carries the matching 4^-s, so c * x is obtained without a shift per
// weight and with exactly the same rounding (scaling by powers of two is
// exact; codes stay exact small integers in float).

#include "GemvCommon.h"
#include "Halide.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace {

using namespace Halide;

constexpr int kBlockWeights = 512; // weights per Q2_0C block
constexpr int kBlockBytes = 130;   // 2 bytes fp16 scale + 128 bytes of codes
constexpr int kCodeBytes = 128;
constexpr int kCodesPerByte = 4;

class Q2_0CGemv : public Generator<Q2_0CGemv> {
public:
  // ---- Schedule knobs -------------------------------------------------
  // Rows of y handled by one parallel task.
  GeneratorParam<int> rows_per_task{"rows_per_task", 32};
  // Float lanes per vector; 0 = natural width of the target
  // (16 with AVX-512, 8 with AVX2, 4 otherwise).
  GeneratorParam<int> vector_width{"vector_width", 0};
  // Rows reduced together in the innermost loops (independent
  // accumulator chains, sharing the x loads). 1 by measurement: a full-size
  // decode step (2 threads, every projection streaming from DRAM) ran at
  // 16.2 tokens/s with 1 against 15.3 with 2 and 12.6 with 4
  // (bench/RESULTS.md, 2026-11-23); the per-kernel notes below were taken
  // with hot caches and favoured 4.
  GeneratorParam<int> unroll{"unroll", 1};
  // Run the row tiles on Halide's thread pool.
  GeneratorParam<bool> parallel{"parallel", true};
  // Problem size for Halide's autoschedulers (hyc tune's Adams2019
  // baseline; GemvCommon.h). Not schedule knobs: ignored by schedule().
  GeneratorParam<int> estimate_n{"estimate_n", 2048};
  GeneratorParam<int> estimate_k{"estimate_k", 2048};

  // ---- Interface ------------------------------------------------------
  // dim 0: bytes of one row (K/512 * 130), dim 1: N rows.
  Input<Buffer<uint8_t, 2>> w{"w"};
  // K activations.
  Input<Buffer<float, 1>> x{"x"};
  // N results.
  Output<Buffer<float, 1>> y{"y"};

  void generate() {
    // Number of blocks per row, derived from the row length in bytes.
    Expr nblocks = w.dim(0).extent() / kBlockBytes;

    // Deinterleaved activations, pre-scaled by 4^-s to match the unshifted
    // codes below: xt(j, s, b) = x[512 b + 4 j + s] / 4^s.
    Expr inv_pow4 =
        select(s == 0, 1.0f, s == 1, 1.0f / 4, s == 2, 1.0f / 16, 1.0f / 64);
    xt(j, s, b) = x(b * kBlockWeights + j * kCodesPerByte + s) * inv_pow4;

    // Per-block activation sums X_b.
    rk = RDom(0, kBlockWeights, "rk");
    xsum(b) = 0.0f;
    xsum(b) += x(b * kBlockWeights + rk);

    // Row index clamped into [0, N): rows past the end (computed by a
    // schedule that works on groups of rows) re-read the last row
    // instead of reading out of bounds. Free for in-range rows.
    Expr row = clamp(n, 0, w.dim(1).extent() - 1);

    // fp16 block scale, little-endian at bytes 0-1 of the block.
    scale(b, n) = hyk::blockScale(w, b * kBlockBytes, row);

    // 2-bit code c of weight 4 j + s of block b of row n, left in place
    // within its byte: c * 4^s, as float (exact).
    Expr byte = cast<int32_t>(w(b * kBlockBytes + 2 + j, row));
    code(j, s, b, n) = cast<float>(byte & (3 << (2 * s)));

    // S_b[n]: dot product of the codes of one block with its activations
    // (the 4^s factors of code and xt cancel exactly).
    rq = RDom(0, kCodeBytes, 0, kCodesPerByte, "rq");
    dot(b, n) = 0.0f;
    dot(b, n) += code(rq.x, rq.y, b, n) * xt(rq.x, rq.y, b);

    // y[n] = sum_b d_b * (2 S_b - 3 X_b)
    rb = RDom(0, nblocks, "rb");
    total(n) = 0.0f;
    total(n) += scale(rb, n) * (2.0f * dot(rb, n) - 3.0f * xsum(rb));

    y(n) = total(n);

    // Buffer contract (checked at call time): dense rows (row n starts at
    // byte n * (K/512) * 130), exactly K activations, one result per row.
    hyk::constrainGemvBuffers(w, x, y, nblocks, kBlockWeights);
    hyk::setGemvEstimates(w, x, y, estimate_n, estimate_k, kBlockWeights,
                          kBlockBytes);
  }

  void schedule() {
    if (using_autoscheduler())
      return; // the autoscheduler (hyc tune's Adams2019 baseline) decides all
    // Tuned for: a 2-core AMD EPYC (Zen 4 class) slice, the HY-1.8B
    // projection shapes (N 512..6144, K 2048..6144), Halide 21 / LLVM.
    //  - Each row is streamed once, front to back (parallel tasks own
    //    disjoint row ranges); the activation side (xt, xsum: ~4 K floats)
    //    is built once per call and stays in L1/L2, so W is the only
    //    stream from memory.
    //  - The decode is compute-bound (per vector of weights: widen bytes,
    //    mask, int->float, FMA); on Zen 4 512-bit ops are double-pumped,
    //    so AVX-512 gains mostly from fewer, wider loads and masks.
    //  - LLVM reassociates the 4 per-sub-position accumulators of one row
    //    into a single FMA chain, so latency is hidden by reducing
    //    `unroll` (4) rows at once instead; 4 x 4 accumulators fit the
    //    register file for both AVX2 (16 ymm) and AVX-512.
    //  - Measured (6144 x 2048, W hot in L2/L3, 1 thread / 2 threads):
    //    AVX-512 ~0.46 / ~0.24 ms, AVX2 ~0.57 / ~0.30 ms. rows_per_task 32
    //    gives >= 16 tasks for every model shape.
    const int vw = vector_width > 0
                       ? (int)vector_width
                       : (get_target().has_feature(Target::AVX512) ? 16
                          : get_target().has_feature(Target::AVX2) ? 8
                                                                   : 4);
    if (vw <= 0 || kCodeBytes % vw != 0) {
      std::fprintf(stderr,
                   "gemv_q2_0c: vector_width must divide 128 (got %d)\n", vw);
      std::abort();
    }
    const int ur = std::max(1, (int)unroll);
    const int rpt = hyk::rowsPerTask(rows_per_task, ur);

    // Activation preprocessing: once per call.
    xt.compute_root().vectorize(j, vw);
    xsum.compute_root();
    xsum.update().atomic().vectorize(rk, vw);

    // Row tiles over the output; the tail tile (and N < rows_per_task)
    // is guarded, so y is never written outside [0, N). Inside a tile,
    // groups of `unroll` rows are reduced together: each row has its own
    // vector accumulators, giving independent FMA chains (LLVM is free to
    // reassociate a single row's accumulators into one chain).
    y.split(n, nt, ni, rpt, TailStrategy::GuardWithIf)
        .split(ni, nio, nii, ur, TailStrategy::GuardWithIf);
    if (parallel) {
      y.parallel(nt);
    }

    total.compute_at(y, nio).bound_extent(n, ur).unroll(n);
    total.update().reorder(n, rb).unroll(n);

    // Per block and row group: vectorize the dot product over the code
    // bytes j (vw lanes) with one accumulator per (row, sub-position s).
    RVar rjo("rjo"), rji("rji");
    Var lane("lane"), sub("sub");
    dot.compute_at(total, rb).unroll(n);
    dot.update().split(rq.x, rjo, rji, vw);
    Func partial = dot.update().rfactor({{rji, lane}, {rq.y, sub}});
    partial.compute_at(total, rb)
        .reorder_storage(lane, sub, n, b)
        .reorder(lane, sub, n, b)
        .vectorize(lane)
        .unroll(sub)
        .unroll(n);
    partial.update()
        .reorder(lane, sub, n, rjo)
        .vectorize(lane)
        .unroll(sub)
        .unroll(n)
        .unroll(rjo);
    // Fold the 4 x vw partial sums of a (block, row): vector adds
    // across sub-positions, then one horizontal reduction across lanes.
    // After the rfactor above, dot's update reduces over the preserved
    // RVars, in order (rji, rq.y).
    RVar fl(dot.update().get_schedule().rvars()[0].var);
    RVar fs(dot.update().get_schedule().rvars()[1].var);
    Func lanes = dot.update().rfactor(fl, lane);
    lanes.compute_at(total, rb)
        .reorder_storage(lane, n, b)
        .reorder(lane, n)
        .vectorize(lane)
        .unroll(n);
    lanes.update().reorder(lane, fs, n).vectorize(lane).unroll(fs).unroll(n);
    dot.update().atomic().vectorize(fl).unroll(n);
  }

private:
  Var j{"j"}, s{"s"}, b{"b"}, n{"n"}, nt{"nt"}, ni{"ni"}, nio{"nio"},
      nii{"nii"};
  Func xt{"xt"}, xsum{"xsum"}, scale{"scale"}, code{"code"}, dot{"dot"},
      total{"total"};
  RDom rk, rq, rb;
};

} // namespace

HALIDE_REGISTER_GENERATOR(Q2_0CGemv, gemv_q2_0c)
