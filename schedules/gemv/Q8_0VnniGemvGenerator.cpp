//===- Q8_0VnniGemvGenerator.cpp - Q8_0 GEMV on AVX-512 VNNI, int8 x ------===//
//
// Halide generator `gemv_q8_0_a8_vnni`: y = W x for W in ggml's Q8_0 format
// (blocks of 32 weights { fp16 d; int8 qs[32]; } = 34 bytes) with int8
// activations (kernel family gemv_q8_0_a8, `hyc compile --activations int8`):
// the tied lm_head, 120818 x 2048 for HY-1.8B, the largest matrix read per
// token. The float form (gemv_q8_0) converts and multiplies every weight in
// float and streams at ~60% of this machine's read bandwidth.
//
// Activations, once per call, per Q8_0 block b of x (32 consecutive values):
//   s_b = max|x_b| * (1/127),  q_i = round-half-even(x_i * (127 / max|x_b|))
// (0 for an all-zero block), in float32 -- ggml's Q8_0 rounding of x.
//
// Products on vpdpbusd (unsigned x signed bytes, 4 per int32 lane): the
// weights are the unsigned operand as qs + 128 (one XOR with 0x80), so lane
// l of block b holds sum_r (qs + 128) q = sum_r qs q + 128 Q_(b,l) with
// Q_(b,l) = sum of the lane's 4 q values, a per-call constant:
//   y(n) = sum_b d_b s_b sum_l (P_(b,l,n) - 128 Q_(b,l))
// The subtraction is exact in int32; per block one vpdpbusd (8 lanes), one
// subtract, one convert and one FMA with the broadcast d_b s_b remain.
//
// On AVX2 (no vpdpbusd; chosen from the Halide target) the products run on
// vpmaddubsw, whose int16 pair sums would saturate with qs + 128 (up to
// 2 x 255 x 127): the unsigned operand is |qs| instead (at most 128) and
// the signed one q with qs's sign (select against -q, computed once per
// call), so a pair sums to at most 2 x 128 x 127 < 2^15 and no correction
// term is needed; vpmaddwd against ones then widens the pairs into the same
// 8 lanes of 4.
//
//===----------------------------------------------------------------------===//

#include "GemvCommon.h"
#include "Halide.h"

#include <algorithm>
#include <stdexcept>

namespace {

using namespace Halide;

constexpr int kBlockWeights = 32;
constexpr int kBlockBytes = 34;
constexpr int kDotGroup = 4;                          // bytes per vpdpbusd lane
constexpr int kLanes = kBlockWeights / kDotGroup;     // 8 lanes per block

class Q8_0VnniGemv : public Generator<Q8_0VnniGemv> {
public:
  // ---- Knobs ------------------------------------------------------------
  // Rows of y per parallel task (one task streams them contiguously).
  GeneratorParam<int> rows_per_task{"rows_per_task", 64};
  // Rows reduced together, sharing the activation loads.
  GeneratorParam<int> unroll{"unroll", 1};
  GeneratorParam<bool> parallel{"parallel", true};
  // Software prefetch distance in blocks (0: none; -1: the target's
  // default). The prefetches are not clipped to the row, so near a row's
  // end they reach into the next rows, which the task reads next. On AVX2
  // the default is 64 blocks (one 2176-byte row of the lm_head ahead): a
  // core alone keeps too few reads in flight to stream faster than it
  // computes (Zen 3, 120818 x 2048, 2 threads: 20.6-23.9 -> 26.3-30.2 GB/s,
  // bench/RESULTS.md); AVX-512 keeps 0 (not measured there).
  GeneratorParam<int> prefetch{"prefetch", -1};
  // Weight streams per task (1: the task's rows front to back). With S > 1
  // a task's rows_per_task rows are S runs of rows_per_task / S rows, read
  // in lockstep (the unrolled group is one row of each run), so a core has
  // S sequential streams in flight for the hardware prefetchers instead of
  // one: on a core that computes while it streams, one stream keeps too
  // few reads in flight (2-core Intel Xeon VM, a kernel of the same shape
  // in C: 8.5 GB/s per core with one stream, 13.0 with four). unroll is S
  // then, and `prefetch` is issued per row of the group (at the group's
  // row loop: a prefetch at the block loop would cover every row between
  // its S runs).
  GeneratorParam<int> streams{"streams", 1};
  // Problem size for Halide's autoschedulers (hyc tune's Adams2019
  // baseline; GemvCommon.h). Not schedule knobs.
  GeneratorParam<int> estimate_n{"estimate_n", 2048};
  GeneratorParam<int> estimate_k{"estimate_k", 2048};

  // dim 0: bytes of one row (K/32 * 34), dim 1: N rows.
  Input<Buffer<uint8_t, 2>> w{"w"};
  Input<Buffer<float, 1>> x{"x"};
  Output<Buffer<float, 1>> y{"y"};

  void generate() {
    Expr nblocks = w.dim(0).extent() / kBlockBytes;
    maddubs = !hyk::hasByteDot4(get_target());

    // Activation side (O(K), once per call).
    ra = RDom(0, kBlockWeights, "ra");
    amax(b) = 0.0f;
    amax(b) = max(amax(b), abs(x(b * kBlockWeights + ra)));
    inv(b) = select(amax(b) > 0.0f, 127.0f / amax(b), 0.0f);
    step(b) = amax(b) * (1.0f / 127.0f);
    q(i) = cast<int8_t>(round(x(i) * inv(i / kBlockWeights)));
    rq = RDom(0, kDotGroup, "rq");
    qlane(l, b) = 0;
    qlane(l, b) += cast<int32_t>(q(b * kBlockWeights + l * kDotGroup + rq));

    if (streams < 1 || streams > 8)
      throw std::invalid_argument("gemv_q8_0_a8_vnni: streams must be 1 .. 8");
    // Weight side over the row order `n` of the reduction: the rows
    // themselves, or with streams S > 1 their order within each task with
    // S consecutive places one row of each of the task's S runs
    // (hyk::streamRow). Rows past N (from groups of `unroll` rows, or a
    // task's tail) re-read the last.
    const int rptStreams = hyk::rowsPerTask(rows_per_task, streams);
    Expr row = clamp(streams == 1 ? Expr(n) : hyk::streamRow(n, streams, rptStreams), 0,
                     w.dim(1).extent() - 1);
    scale(b, n) = hyk::blockScale(w, b * kBlockBytes, row) * step(b);
    rb = RDom(0, nblocks, "rb");
    lanesum(l, n) = 0.0f;
    if (maddubs) {
      Expr qs = cast<int8_t>(w(b * kBlockBytes + 2 + j, row));
      code(j, b, n) = abs(qs); // uint8, at most 128
      nq(i) = cast<int8_t>(-q(i));
      sq(j, b, n) = select(qs < 0, nq(b * kBlockWeights + j), q(b * kBlockWeights + j));
      rp = RDom(0, 2, "rp");
      pm(jp, b, n) = cast<int16_t>(0);
      Expr product = cast<int16_t>(code(2 * jp + rp, b, n)) * cast<int16_t>(sq(2 * jp + rp, b, n));
      // saturating_add lets Halide emit vpmaddubsw; an autoscheduler needs
      // an associative add (no pair reaches 2^15: the same values).
      pm(jp, b, n) = using_autoscheduler() ? pm(jp, b, n) + product
                                           : saturating_add(pm(jp, b, n), product);
      rd = RDom(0, 2, "rd");
      ip(l, b, n) = 0;
      ip(l, b, n) += cast<int32_t>(pm(2 * l + rd, b, n));
      lanesum(l, n) += cast<float>(ip(l, rb, n)) * scale(rb, n);
    } else {
      code(j, b, n) = w(b * kBlockBytes + 2 + j, row) ^ cast<uint8_t>(0x80);
      rd = RDom(0, kDotGroup, "rd");
      ip(l, b, n) = 0;
      ip(l, b, n) += cast<int32_t>(code(l * kDotGroup + rd, b, n)) *
                     cast<int32_t>(q(b * kBlockWeights + l * kDotGroup + rd));
      lanesum(l, n) += cast<float>(ip(l, rb, n) - 128 * qlane(l, rb)) * scale(rb, n);
    }
    rl = RDom(0, kLanes, "rl");
    total(n) = 0.0f;
    total(n) += lanesum(rl, n);
    if (streams > 1) {
      inOrder(n) = total(n);
      y(n) = inOrder(hyk::streamPlace(n, streams, rptStreams));
    } else {
      y(n) = total(n);
    }

    hyk::constrainGemvBuffers(w, x, y, nblocks, kBlockWeights);
    hyk::setGemvEstimates(w, x, y, estimate_n, estimate_k, kBlockWeights, kBlockBytes);
  }

  void schedule() {
    if (using_autoscheduler())
      return; // the autoscheduler (hyc tune's Adams2019 baseline) decides all
    // Tuned for: 2-core Zen 4 class x86, the HY lm_head (120818 x 2048).
    const int vw = get_target().natural_vector_size<float>();
    const int ur = streams > 1 ? int(streams) : std::max(1, (int)unroll);
    const int rpt = hyk::rowsPerTask(rows_per_task, ur);
    amax.compute_root();
    inv.compute_root().vectorize(b, vw);
    step.compute_root().vectorize(b, vw);
    q.compute_root().vectorize(i, vw);
    if (maddubs) {
      nq.compute_root().vectorize(i, vw * 4);
    } else {
      qlane.compute_root().bound(l, 0, kLanes).vectorize(l);
      qlane.update().reorder(rq, l, b).vectorize(l);
    }

    // With streams, y gathers each task's rows from inOrder, which is
    // computed per task in the permuted row order (the old y schedule).
    Func rows = y;
    if (streams > 1) {
      y.split(n, nt, ni, rpt, TailStrategy::GuardWithIf);
      if (parallel)
        y.parallel(nt);
      inOrder.compute_at(y, nt).split(n, nio, nii, ur, TailStrategy::RoundUp);
      rows = inOrder;
    } else {
      y.split(n, nt, ni, rpt, TailStrategy::GuardWithIf)
          .split(ni, nio, nii, ur, TailStrategy::GuardWithIf);
      if (parallel)
        y.parallel(nt);
    }
    total.compute_at(rows, nio).bound_extent(n, ur).unroll(n);
    total.update().reorder(rl, n).atomic().vectorize(rl).unroll(n);
    lanesum.compute_at(rows, nio).bound(l, 0, kLanes).bound_extent(n, ur).vectorize(l).unroll(n);
    lanesum.update().reorder(l, n, rb).vectorize(l).unroll(n);
    // The prefetch (its default: the target's, without streams) per row of
    // the group with streams; a block is 34 bytes, so a prefetch of each
    // block's first byte reaches every cache line.
    const int pf = prefetch >= 0 ? int(prefetch) : maddubs && streams == 1 ? 64 : 0;
    if (pf > 0 && streams > 1)
      lanesum.update().prefetch(w, n, rb, pf, PrefetchBoundStrategy::NonFaulting);
    else if (pf > 0)
      lanesum.update().prefetch(w, rb, rb, pf, PrefetchBoundStrategy::NonFaulting);
    ip.compute_at(lanesum, rb).bound(l, 0, kLanes).vectorize(l).unroll(n);
    if (maddubs) {
      // Per block and row: |qs| and the signed q (32 bytes each), one
      // vpmaddubsw into 16 int16 pairs, one vpmaddwd into the 8 lanes.
      code.compute_at(lanesum, rb).bound(j, 0, kBlockWeights).vectorize(j).unroll(n);
      sq.compute_at(lanesum, rb).bound(j, 0, kBlockWeights).vectorize(j).unroll(n);
      pm.compute_at(lanesum, rb).bound(jp, 0, kBlockWeights / 2).vectorize(jp).unroll(n);
      pm.update()
          .atomic(true) // saturating_add: no pair reaches 2^15 (above)
          .reorder(rp, jp, n)
          .vectorize(rp)
          .vectorize(jp)
          .unroll(n);
      ip.update().reorder(rd, l, n).atomic().vectorize(rd).vectorize(l).unroll(n);
      return;
    }
    // Innermost: one 8-lane vpdpbusd per block and row.
    ip.update().reorder(rd, l, n).atomic().vectorize(rd).vectorize(l).unroll(n);
  }

private:
  Var i{"i"}, j{"j"}, jp{"jp"}, l{"l"}, b{"b"}, n{"n"}, nt{"nt"}, ni{"ni"}, nio{"nio"},
      nii{"nii"};
  Func amax{"amax"}, inv{"inv"}, step{"step"}, q{"q"}, nq{"nq"}, qlane{"qlane"}, scale{"scale"},
      code{"code"}, sq{"sq"}, pm{"pm"}, ip{"ip"}, lanesum{"lanesum"}, total{"total"},
      inOrder{"in_order"};
  RDom ra, rq, rd, rb, rl, rp;
  bool maddubs = false; // AVX2: vpmaddubsw + vpmaddwd instead of vpdpbusd
};

} // namespace

HALIDE_REGISTER_GENERATOR(Q8_0VnniGemv, gemv_q8_0_a8_vnni)
