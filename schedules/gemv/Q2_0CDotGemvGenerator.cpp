//===- Q2_0CDotGemvGenerator.cpp - Q2_0C GEMV on int8 dot products --------===//
//
// Halide generator `gemv_q2_0c_i8dot`: y = W x with W in Q2_0C (blocks of
// 512 2-bit codes c with one fp16 scale d, weight (2c - 3) d; see
// Q2_0CGemvGenerator.cpp for the byte layout), float32 x and y, for ISAs with
// 4-way int8 dot products (AArch64 `sdot`). The float generator gemv_q2_0c
// spends a widen + convert + FMA per weight; here one `sdot` multiplies 16
// codes by 16 activation digits at once.
//
// Math (I8DotActivations.h: x_i ~ sx_b q_i with q written as D = `digits`
// int8 digits t_d, Q_b = sum q_i over block b):
//   S_b[n] = sum_i c_i q_i = sum_d 256^(D-1-d) sum_i c_i t_d,i
//   y[n]   = sum_b d_b sx_b (2 S_b[n] - 3 Q_b)
// Each digit's dot product is exact in int32 (|.| <= 3*128*512); they are
// combined, and 2 S - 3 Q formed, in float (rounding ~1e-7 relative to
// sum |w x|, since |2c - 3| >= 1).
//
// Code c of byte j, sub-position s of a block is (byte_j >> 2s) & 3, so the
// 16 codes of bytes j..j+15 at one s are a shift and a mask of one 16-byte
// load. The activations are stored deinterleaved to match: xs(j, s, d, b)
// holds digit d of q[512 b + 4 j + s], contiguous in j. `sdot` adds each
// group of 4 adjacent byte products into one of 4 int32 lanes; the algorithm
// names that grouping (ip's `lane`) so the schedule can map it 1:1.

#include "I8DotActivations.h"

#include "GemvCommon.h"
#include "Halide.h"

#include <algorithm>

namespace {

using namespace Halide;
using hyk::I8DotActivations;

constexpr int kBlockWeights = 512;
constexpr int kBlockBytes = 130;
constexpr int kCodeBytes = 128;
constexpr int kDotGroup = 4; // bytes summed into one lane by sdot
constexpr int kDotLanes = 4; // int32 lanes of one sdot (16 bytes)
constexpr int kDotBytes = kDotGroup * kDotLanes;

class Q2_0CDotGemv : public Generator<Q2_0CDotGemv> {
public:
  // ---- Knobs ------------------------------------------------------------
  // int8 digits per activation (I8DotActivations.h): 3 = as precise as the
  // float32 x, 2 = 16-bit activations for 2/3 of the dot products.
  GeneratorParam<int> digits{"digits", 3};
  // Rows of y per parallel task.
  GeneratorParam<int> rows_per_task{"rows_per_task", 32};
  // Rows reduced together: each has one accumulator per digit, all sharing
  // the activation loads.
  GeneratorParam<int> unroll{"unroll", 4};
  // Unroll the 8 16-byte chunks of a block's codes (with unroll 4 and 3
  // digits LLVM then spills accumulators; unroll 2 does not).
  GeneratorParam<bool> unroll_block{"unroll_block", false};
  GeneratorParam<bool> parallel{"parallel", true};
  // Problem size for Halide's autoschedulers (hyc tune's Adams2019
  // baseline; GemvCommon.h). Not schedule knobs: ignored by schedule().
  GeneratorParam<int> estimate_n{"estimate_n", 2048};
  GeneratorParam<int> estimate_k{"estimate_k", 2048};

  // ---- Interface (same as gemv_q2_0c) ---------------------------------
  Input<Buffer<uint8_t, 2>> w{"w"};
  Input<Buffer<float, 1>> x{"x"};
  Output<Buffer<float, 1>> y{"y"};

  void generate() {
    const int nd = digits;
    Expr nblocks = w.dim(0).extent() / kBlockBytes;

    Func xf("xf");
    xf(i) = x(i);
    act.define(xf, kBlockWeights, nd);
    Expr qi = act.q(b * kBlockWeights + j * 4 + s);
    Expr t = I8DotActivations::digit(qi, nd - 1, nd);
    for (int d = nd - 2; d >= 0; --d)
      t = select(part == d, I8DotActivations::digit(qi, d, nd), t);
    xs(j, s, part, b) = t;

    Expr row = clamp(n, 0, w.dim(1).extent() - 1);
    scale(b, n) = hyk::blockScale(w, b * kBlockBytes, row);
    Expr byte = w(b * kBlockBytes + 2 + j, row);
    code(j, s, b, n) =
        cast<int8_t>((byte >> cast<uint8_t>(2 * s)) & cast<uint8_t>(3));

    // Lane-wise partial dot products of block b with digit `part`: lane
    // takes bytes 16 jo + 4 lane + r4 of every jo, at every sub-position s.
    rd = RDom(0, kDotGroup, 0, kCodeBytes / kDotBytes, 0, 4, "rd");
    Expr jj = rd.y * kDotBytes + lane * kDotGroup + rd.x;
    ip(lane, part, b, n) = 0;
    ip(lane, part, b, n) += cast<int32_t>(code(jj, rd.z, b, n)) *
                            cast<int32_t>(xs(jj, rd.z, part, b));

    // Per digit, the sum over the 4 lanes: sum_i c_i t_d,i.
    rl = RDom(0, kDotLanes, "rl");
    blockdot(part, b, n) = 0;
    blockdot(part, b, n) += ip(rl, part, b, n);

    rb = RDom(0, nblocks, "rb");
    Expr sb = I8DotActivations::combine(
        nd, [&](int d) { return blockdot(d, rb, n); });
    total(n) = 0.0f;
    total(n) += scale(rb, n) * act.step(rb) *
                (2.0f * sb - 3.0f * cast<float>(act.qsum(rb)));
    y(n) = total(n);

    hyk::constrainGemvBuffers(w, x, y, nblocks, kBlockWeights);
    hyk::setGemvEstimates(w, x, y, estimate_n, estimate_k, kBlockWeights,
                          kBlockBytes);
  }

  void schedule() {
    if (using_autoscheduler())
      return; // the autoscheduler (hyc tune's Adams2019 baseline) decides all
    // Tuned for: nothing measured on hardware yet (developed under qemu,
    // which says nothing about speed). Reasoning for a Cortex-A76 /
    // Neoverse-N1 class core: per 16 bytes of codes (64 weights) and row,
    // 3 shifts, 3 masks and 4 x `digits` sdots; with `unroll` = 4 rows and
    // 3 digits that is 12 independent sdot chains (latency 3-4, 2 per
    // cycle), 12 accumulators + 12 activation vectors + the code vectors in
    // the 32 vector registers. The activation side (`digits` x K bytes)
    // is built once per call and stays in L1.
    const int nd = digits;
    const int vw = get_target().natural_vector_size<float>();
    const int ur = std::max(1, (int)unroll);
    const int rpt = hyk::rowsPerTask(rows_per_task, ur);

    act.schedule(vw);
    xs.compute_root()
        .bound(j, 0, kCodeBytes)
        .bound(s, 0, 4)
        .bound(part, 0, nd)
        .reorder(j, s, part, b)
        .vectorize(j, kDotBytes)
        .unroll(part);

    y.split(n, nt, ni, rpt, TailStrategy::GuardWithIf)
        .split(ni, nio, nii, ur, TailStrategy::GuardWithIf);
    if (parallel)
      y.parallel(nt);

    total.compute_at(y, nio).bound_extent(n, ur).unroll(n);
    total.update().reorder(n, rb).unroll(n);

    blockdot.compute_at(total, rb).bound(part, 0, nd).unroll(part).unroll(n);
    blockdot.update()
        .reorder(rl, part, n)
        .atomic()
        .vectorize(rl)
        .unroll(part)
        .unroll(n);

    ip.compute_at(total, rb)
        .bound(lane, 0, kDotLanes)
        .bound(part, 0, nd)
        .reorder_storage(lane, part, n, b)
        .reorder(lane, part, n, b)
        .vectorize(lane)
        .unroll(part)
        .unroll(n);
    // Innermost: one sdot (4 bytes x 4 lanes); then the digits, the 4
    // sub-positions of one code load and the rows of the group, unrolled.
    ip.update()
        .reorder(rd.x, lane, part, rd.z, n, rd.y, b)
        .atomic()
        .vectorize(rd.x)
        .vectorize(lane)
        .unroll(part)
        .unroll(rd.z)
        .unroll(n);
    if (unroll_block)
      ip.update().unroll(rd.y);
  }

private:
  Var i{"i"}, j{"j"}, s{"s"}, part{"part"}, b{"b"}, n{"n"}, lane{"lane"},
      nt{"nt"}, ni{"ni"}, nio{"nio"}, nii{"nii"};
  I8DotActivations act;
  Func xs{"xs"}, scale{"scale"}, code{"code"}, ip{"ip"}, blockdot{"blockdot"},
      total{"total"};
  RDom rd, rl, rb;
};

} // namespace

HALIDE_REGISTER_GENERATOR(Q2_0CDotGemv, gemv_q2_0c_i8dot)
