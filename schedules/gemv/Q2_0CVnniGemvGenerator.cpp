//===- Q2_0CVnniGemvGenerator.cpp - Q2_0C GEMV on AVX-512 VNNI ------------===//
//
// Halide generator `gemv_q2_0c_vnni`: y = W x with W in Q2_0C (blocks of 512
// 2-bit codes c with one fp16 scale d, weight (2c - 3) d), float32 x and y,
// for x86 with AVX-512 VNNI (`vpdpbusd`: 64 unsigned x signed byte products
// summed in groups of 4 into 16 int32 lanes, accumulating).
//
// Why: the float kernel (gemv_q2_0c) spends a widen, a convert and an FMA
// per weight and is compute-bound at ~25% of the memory bandwidth on a
// 2-core Zen 4. Here one shift, one mask and `digits` vpdpbusd handle 64
// weights.
//
// Math (I8DotActivations.h: x_i ~ sx_b q_i, q written as D = `digits` int8
// digits t_d): with S_b[n] = sum_i c_i q_i and Q_b = sum_i q_i over block b,
//   y[n] = sum_b d_b sx_b (2 S_b[n] - 3 Q_b).
// Unlike the NEON generator, nothing is reduced across lanes per block: each
// of the 16 int32 lanes keeps its own share of S_b (and the activations side
// its share of Q_b, `qlane`), the lanes are combined in float per block with
// the block's scale, and the 16 float lanes of a row are summed once at the
// end. A horizontal sum of a 512-bit vector costs more than the block's dot
// products, so doing it per block would make the kernel compute-bound again.
//
// Layout: code c of byte j, sub-position s of a block is (byte_j >> 2s) & 3,
// so one 64-byte load gives 64 codes per s after a shift and a mask. The
// activations are stored deinterleaved to match: xs(j, s, d, b) holds digit d
// of q[512 b + 4 j + s], contiguous in j. vpdpbusd lane l sums bytes
// 4l..4l+3 of a 64-byte chunk; `ip`'s `lane` names that grouping so the
// schedule maps it 1:1.

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
constexpr int kDotGroup = 4;   // bytes summed into one lane by vpdpbusd
constexpr int kDotLanes = 16;  // int32 lanes of one 512-bit vpdpbusd
constexpr int kDotBytes = kDotGroup * kDotLanes;

class Q2_0CVnniGemv : public Generator<Q2_0CVnniGemv> {
public:
  // ---- Knobs ------------------------------------------------------------
  // int8 digits per activation (I8DotActivations.h). Not a schedule knob:
  // it sets the precision. 3 (24-bit activations) agrees with float32 to
  // rounding; 2 (16-bit) is ~15% faster under load but moved the full-size
  // model's logits by 2e-3 (std 2.3), over the e2e bound of 1e-3.
  GeneratorParam<int> digits{"digits", 3};
  // Rows of y per parallel task.
  GeneratorParam<int> rows_per_task{"rows_per_task", 16};
  // Rows reduced together, sharing the activation loads.
  GeneratorParam<int> unroll{"unroll", 2};
  GeneratorParam<bool> parallel{"parallel", true};
  // Shape estimates for autoschedulers (hyc tune's Adams2019 baseline).
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

    // qlane(lane, b): the share of Q_b that lands in `lane`: the q of the
    // bytes 4 lane + r (r < 4) of both 64-byte chunks, at every s.
    rq = RDom(0, kDotGroup, 0, kCodeBytes / kDotBytes, 0, 4, "rq");
    qlane(lane, b) = 0;
    qlane(lane, b) += act.q(b * kBlockWeights +
                            (rq.y * kDotBytes + lane * kDotGroup + rq.x) * 4 + rq.z);

    Expr row = clamp(n, 0, w.dim(1).extent() - 1);
    scale(b, n) = hyk::blockScale(w, b * kBlockBytes, row);
    Expr byte = w(b * kBlockBytes + 2 + j, row);
    // 64 c: the code moved to the top two bits. Kept above 127 so that
    // Halide cannot narrow it to int8 (vpdpbusd multiplies unsigned by
    // signed bytes); the factor 64 is folded into the block scale.
    code(j, s, b, n) = (byte << cast<uint8_t>(6 - 2 * s)) & cast<uint8_t>(0xC0);

    // Lane-wise partial dot products of block b with digit `part`.
    rd = RDom(0, kDotGroup, 0, kCodeBytes / kDotBytes, 0, 4, "rd");
    Expr jj = rd.y * kDotBytes + lane * kDotGroup + rd.x;
    ip(lane, part, b, n) = 0;
    ip(lane, part, b, n) += cast<int32_t>(code(jj, rd.z, b, n)) *
                            cast<int32_t>(xs(jj, rd.z, part, b));

    // Per lane, in float: sum_b d_b sx_b (2 S_b,lane - 3 Q_b,lane).
    rb = RDom(0, nblocks, "rb");
    Expr sb = I8DotActivations::combine(nd, [&](int d) { return ip(lane, d, rb, n); });
    lanesum(lane, n) = 0.0f;
    lanesum(lane, n) += (scale(rb, n) * act.step(rb)) *
                        ((2.0f / 64.0f) * sb - 3.0f * cast<float>(qlane(lane, rb)));

    rl = RDom(0, kDotLanes, "rl");
    total(n) = 0.0f;
    total(n) += lanesum(rl, n);
    y(n) = total(n);

    hyk::constrainGemvBuffers(w, x, y, nblocks, kBlockWeights);
  }

  void schedule() {
    if (using_autoscheduler()) {
      const int ne = estimate_n, ke = estimate_k;
      w.set_estimates({{0, ke / kBlockWeights * kBlockBytes}, {0, ne}});
      x.set_estimates({{0, ke}});
      y.set_estimates({{0, ne}});
      return;
    }
    // Tuned for: AMD EPYC (Zen 4), 2 cores, decode shapes of HY-1.8B (K 2048
    // and 6144). Zen 4 runs 512-bit ops as two 256-bit halves, so the budget
    // is ~2 vector ops per cycle; per 64 code bytes and row: 1 load, 3 shifts,
    // 4 masks, 4 x digits vpdpbusd, and per block a few float ops. With
    // unroll rows sharing each activation vector that is
    // digits x unroll int accumulators + unroll float ones in 32 registers.
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
    qlane.compute_root().bound(lane, 0, kDotLanes).vectorize(lane);
    qlane.update().reorder(rq.x, lane, rq.y, rq.z, b).vectorize(lane);

    y.split(n, nt, ni, rpt, TailStrategy::GuardWithIf)
        .split(ni, nio, nii, ur, TailStrategy::GuardWithIf);
    if (parallel)
      y.parallel(nt);

    total.compute_at(y, nio).bound_extent(n, ur).unroll(n);
    total.update().reorder(rl, n).atomic().vectorize(rl).unroll(n);

    lanesum.compute_at(y, nio)
        .bound(lane, 0, kDotLanes)
        .bound_extent(n, ur)
        .vectorize(lane)
        .unroll(n);
    lanesum.update().reorder(lane, n, rb).vectorize(lane).unroll(n);

    ip.compute_at(lanesum, rb)
        .bound(lane, 0, kDotLanes)
        .bound(part, 0, nd)
        .reorder_storage(lane, part, n, b)
        .reorder(lane, part, n, b)
        .vectorize(lane)
        .unroll(part)
        .unroll(n);
    // Innermost: one vpdpbusd (4 bytes x 16 lanes); then the digits, the 4
    // sub-positions of one code load, the rows and both 64-byte chunks.
    ip.update()
        .reorder(rd.x, lane, part, rd.z, n, rd.y, b)
        .atomic()
        .vectorize(rd.x)
        .vectorize(lane)
        .unroll(part)
        .unroll(rd.z)
        .unroll(n)
        .unroll(rd.y);
  }

private:
  Var i{"i"}, j{"j"}, s{"s"}, part{"part"}, b{"b"}, n{"n"}, lane{"lane"},
      nt{"nt"}, ni{"ni"}, nio{"nio"}, nii{"nii"};
  I8DotActivations act;
  Func xs{"xs"}, qlane{"qlane"}, scale{"scale"}, code{"code"}, ip{"ip"},
      lanesum{"lanesum"}, total{"total"};
  RDom rq, rd, rb, rl;
};

} // namespace

HALIDE_REGISTER_GENERATOR(Q2_0CVnniGemv, gemv_q2_0c_vnni)
