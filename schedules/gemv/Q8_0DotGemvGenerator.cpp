//===- Q8_0DotGemvGenerator.cpp - Q8_0 GEMV on int8 dot products ----------===//
//
// Halide generator `gemv_q8_0_i8dot`: y = W x with W in Q8_0 (blocks of 32
// int8 weights with one fp16 scale d; see Q8_0GemvGenerator.cpp), float32 x
// and y, for ISAs with 4-way int8 dot products (AArch64 `sdot`).
//
// Math (I8DotActivations.h, activation blocks of 32 = the weight blocks,
// q written as D = `digits` int8 digits t_d):
//   y[n] = sum_b d_b sx_b sum_d 256^(D-1-d) dot(qs_b, t_d,b)
// The D dot products of a block (2 x 16 bytes each) are exact in int32.
// The 4 lanes of each `sdot` are kept apart across blocks (acc's `lane`):
// one int->float convert and one FMA by d_b sx_b per block and lane, and a
// single horizontal sum per row at the end.

#include "I8DotActivations.h"

#include "GemvCommon.h"
#include "Halide.h"

#include <algorithm>

namespace {

using namespace Halide;
using hyk::I8DotActivations;

constexpr int kBlockWeights = 32;
constexpr int kBlockBytes = 34;
constexpr int kDotGroup = 4;  // bytes summed into one lane by sdot
constexpr int kDotLanes = 4;  // int32 lanes of one sdot (16 bytes)
constexpr int kDotBytes = kDotGroup * kDotLanes;

class Q8_0DotGemv : public Generator<Q8_0DotGemv> {
public:
  // int8 digits per activation (I8DotActivations.h): 3 or 2.
  GeneratorParam<int> digits{"digits", 3};
  // Rows of y per parallel task.
  GeneratorParam<int> rows_per_task{"rows_per_task", 64};
  // Rows reduced together (their accumulators share the activation loads).
  GeneratorParam<int> unroll{"unroll", 4};
  GeneratorParam<bool> parallel{"parallel", true};
  // Problem size for Halide's autoschedulers (hyc tune's Adams2019
  // baseline; GemvCommon.h). Not schedule knobs: ignored by schedule().
  GeneratorParam<int> estimate_n{"estimate_n", 2048};
  GeneratorParam<int> estimate_k{"estimate_k", 2048};

  Input<Buffer<uint8_t, 2>> w{"w"};
  Input<Buffer<float, 1>> x{"x"};
  Output<Buffer<float, 1>> y{"y"};

  void generate() {
    Expr nblocks = w.dim(0).extent() / kBlockBytes;

    Func xf("xf");
    xf(i) = x(i);
    const int nd = digits;
    act.define(xf, kBlockWeights, nd);
    Expr qi = act.q(b * kBlockWeights + j);
    Expr t = I8DotActivations::digit(qi, nd - 1, nd);
    for (int d = nd - 2; d >= 0; --d)
      t = select(part == d, I8DotActivations::digit(qi, d, nd), t);
    xs(j, part, b) = t;

    Expr row = clamp(n, 0, w.dim(1).extent() - 1);
    scale(b, n) = hyk::blockScale(w, b * kBlockBytes, row);
    code(j, b, n) = reinterpret<int8_t>(w(b * kBlockBytes + 2 + j, row));

    // Lane-wise partial dot products of block b.
    rd = RDom(0, kDotGroup, 0, kBlockWeights / kDotBytes, "rd");
    Expr jj = rd.y * kDotBytes + lane * kDotGroup + rd.x;
    ip(lane, part, b, n) = 0;
    ip(lane, part, b, n) += cast<int32_t>(code(jj, b, n)) *
                            cast<int32_t>(xs(jj, part, b));

    rb = RDom(0, nblocks, "rb");
    acc(lane, n) = 0.0f;
    acc(lane, n) += scale(rb, n) * act.step(rb) *
                    I8DotActivations::combine(
                        nd, [&](int d) { return ip(lane, d, rb, n); });

    rl = RDom(0, kDotLanes, "rl");
    total(n) = 0.0f;
    total(n) += acc(rl, n);
    y(n) = total(n);

    hyk::constrainGemvBuffers(w, x, y, nblocks, kBlockWeights);
    hyk::setGemvEstimates(w, x, y, estimate_n, estimate_k, kBlockWeights,
                          kBlockBytes);
  }

  void schedule() {
    if (using_autoscheduler())
      return; // the autoscheduler (hyc tune's Adams2019 baseline) decides all
    // Tuned for: nothing measured on hardware yet (developed under qemu).
    // The lm_head is memory-bound (262 MB per token for HY-1.8B); per
    // 34-byte block and row: 2 x `digits` sdots, `digits` converts, FMAs,
    // 1 scale decode.
    const int nd = digits;
    const int vw = get_target().natural_vector_size<float>();
    const int ur = std::max(1, (int)unroll);
    const int rpt = hyk::rowsPerTask(rows_per_task, ur);

    act.schedule(vw);
    xs.compute_root()
        .bound(j, 0, kBlockWeights)
        .bound(part, 0, nd)
        .reorder(j, part, b)
        .vectorize(j, kDotBytes)
        .unroll(part);

    y.split(n, nt, ni, rpt, TailStrategy::GuardWithIf)
        .split(ni, nio, nii, ur, TailStrategy::GuardWithIf);
    if (parallel)
      y.parallel(nt);

    total.compute_at(y, nio).bound_extent(n, ur).unroll(n);
    total.update().reorder(rl, n).atomic().vectorize(rl).unroll(n);

    acc.compute_at(y, nio)
        .bound(lane, 0, kDotLanes)
        .bound_extent(n, ur)
        .reorder_storage(lane, n)
        .vectorize(lane)
        .unroll(n);
    acc.update().reorder(lane, n, rb).vectorize(lane).unroll(n);

    ip.compute_at(acc, rb)
        .bound(lane, 0, kDotLanes)
        .bound(part, 0, nd)
        .reorder_storage(lane, part, n, b)
        .reorder(lane, part, n, b)
        .vectorize(lane)
        .unroll(part)
        .unroll(n);
    ip.update()
        .reorder(rd.x, lane, part, n, rd.y, b)
        .atomic()
        .vectorize(rd.x)
        .vectorize(lane)
        .unroll(part)
        .unroll(n)
        .unroll(rd.y);
  }

private:
  Var i{"i"}, j{"j"}, part{"part"}, b{"b"}, n{"n"}, lane{"lane"}, nt{"nt"},
      ni{"ni"}, nio{"nio"}, nii{"nii"};
  I8DotActivations act;
  Func xs{"xs"}, scale{"scale"}, code{"code"}, ip{"ip"}, acc{"acc"},
      total{"total"};
  RDom rd, rl, rb;
};

} // namespace

HALIDE_REGISTER_GENERATOR(Q8_0DotGemv, gemv_q8_0_i8dot)
