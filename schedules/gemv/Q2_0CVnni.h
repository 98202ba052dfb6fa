//===- Q2_0CVnni.h - Q2_0C x float products on AVX-512 VNNI ---------------===//
//
// The algorithm shared by gemv_q2_0c_vnni (decode: one token) and
// gemm_q2_0c_vnni (prefill: M tokens): out(n, m) = sum_k W[n][k] x(k, m) for
// W in Q2_0C (blocks of 512 2-bit codes c with an fp16 scale d, weight
// (2c - 3) d) and float activations, on `vpdpbusd` (64 unsigned x signed byte
// products summed in groups of 4 into 16 int32 lanes).
//
// Lanes and groups. Byte j of a block's 128 code bytes holds elements 4j + s
// (s < 4, lowest bits first). vpdpbusd lane l of 64-byte chunk h sums bytes
// 64h + 4l + r (r < 4), i.e. elements 256h + 16l + 4r + s: 32 elements per
// lane and block, which are also the activation quantization group:
//   sx_g = max_{i in g} |x_i| / qmax,  q_i = round(x_i / sx_g),
// q written as `digits` int8 digits (I8DotActivations.h): 1 (qmax 127: int8
// activations with a scale per 32, ggml Q8_0's precision), 2 (qmax 32000) or
// 3 (qmax 8e6, as precise as float32 x). A group scale per 32 rather than per
// 512 keeps one large activation from coarsening 511 others.
//
// Math, per row n, token m, block b, lane l (S = sum c q, Q = sum q over the
// lane's group):
//   out(n, m) = sum_l sum_b d_b [(2/64) sx_(b,l) S'_(b,l) - A_(b,l)]
// where S' = 64 S is what vpdpbusd returns for codes placed in the top two
// bits (64 c: values up to 192, so Halide cannot narrow them to int8 and
// miss the unsigned x signed pattern) and A_(b,l) = 3 sx_(b,l) Q_(b,l) does
// not depend on W (computed once per call): per block and row only a
// convert, an FMA and a multiply-add per lane vector remain, and the 16
// float lanes are summed once per output. The -3 Q term rides in the same
// lane vectors rather than in a scalar per-row loop over the block scales:
// that loop was the first touch of each weight row's cache lines and, at
// K = 6144, where half the decode time stalled.
//
//===----------------------------------------------------------------------===//
#ifndef HYK_SCHEDULES_GEMV_Q2_0CVNNI_H
#define HYK_SCHEDULES_GEMV_Q2_0CVNNI_H

#include "GemvCommon.h"
#include "I8DotActivations.h"

#include "Halide.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace hyk {

class Q2_0CVnni {
public:
  static constexpr int kBlockWeights = 512;
  static constexpr int kBlockBytes = 130;
  static constexpr int kCodeBytes = 128;
  static constexpr int kDotGroup = 4;  // bytes per vpdpbusd lane
  static constexpr int kDotLanes = 16; // int32 lanes of a 512-bit vpdpbusd
  static constexpr int kDotBytes = kDotGroup * kDotLanes;
  static constexpr int kChunks = kCodeBytes / kDotBytes; // 2
  static constexpr int kGroup = kBlockWeights / kDotLanes; // 32

  Halide::Var n{"n"}, m{"m"};
  Halide::Func total{"total"};

  /// Weight layout: 0 for plain Q2_0C rows (w is row bytes x N), or R > 1
  /// for the row-interleaved layout Q2_0C/rR of hyk/kernels.h (w is R x row
  /// bytes x N / R: one column per tile of R rows; in a tile, the R x nb
  /// fp16 scales block-major, then the R x nb 128-byte code runs
  /// block-major, so a tile of R rows reads one contiguous stream). Set
  /// before define().
  void setRowInterleave(int rows) { interleave = rows > 1 ? rows : 0; }
  /// Weight streams per task of `rowsPerTask` rows (plain rows only; the
  /// decode GEMV's `streams` GeneratorParam): with S > 1, total(n) is the
  /// task's rows in a permuted order, n = t rpt + r S + s reading row
  /// t rpt + s (rpt / S) + r, so S consecutive n (one register tile) read
  /// one row of each of the task's S runs: S sequential streams per core
  /// instead of one. rowOrder(n) undoes it. Set before define().
  void setStreams(int streamCount, int rowsPerTask) {
    streams = streamCount > 1 ? streamCount : 1;
    streamTask = rowsPerTask;
  }
  /// Where total() holds output row n: n itself, or its place in the
  /// permuted order of setStreams.
  Halide::Expr rowOrder(const Halide::Expr &row) const {
    return streams == 1 ? row : streamPlace(row, streams, streamTask);
  }
  /// How the 2-bit codes reach vpdpbusd (the `decode` GeneratorParam):
  /// kDecodeShift moves each plane to the top two bits (a byte shift, which
  /// x86 lacks: LLVM emits gf2p8affineqb or a word shift, then a mask) and
  /// sums all products of a block in one accumulator; kDecodeMask masks
  /// planes 1..3 in place (4^s c) and shifts only plane 0, into one
  /// accumulator per plane, and weights the four once per block (shifts and
  /// adds of int32 lanes). Same results.
  static constexpr int kDecodeShift = 0;
  static constexpr int kDecodeMask = 1;
  /// Set before define(); aborts the generator on another value.
  void setDecode(int method) {
    if (method != kDecodeShift && method != kDecodeMask) {
      std::fprintf(stderr, "q2_0c vnni: decode must be 0 (shift) or 1 (mask), got %d\n",
                   method);
      std::abort();
    }
    decode = method;
  }
  /// The int8 dot product the products are built on (set before define()):
  /// kDotVnni, `vpdpbusd` (AVX-512 VNNI: 4 unsigned x signed byte products
  /// summed into an int32 lane, codes as placed by `decode`), or kDotMaddubs
  /// for AVX2, which has no 4-way byte dot product: `vpmaddubsw` sums 2
  /// byte products into an int16 lane, the four planes and both chunks of a
  /// block are added in int16 with plain (wrapping) adds (|sum| <= 16 x 3 x
  /// 127, so nothing wraps or saturates), and
  /// `vpmaddwd` against ones widens pairs of int16 lanes into the same 16
  /// lanes x 32 elements grouping as kDotVnni (so the activation layout,
  /// steps and lane sums are shared). Codes are c itself (0..3, shift and
  /// mask; `decode` is then unused), decoded into a small buffer per block
  /// so that Halide sees unsigned bytes (an inline c & 3 would be narrowed
  /// to int8 and miss vpmaddubsw's unsigned x signed form).
  static constexpr int kDotVnni = 0;
  static constexpr int kDotMaddubs = 1;
  void setDot(int method) { dot = method == kDotMaddubs ? kDotMaddubs : kDotVnni; }
  /// For an autoscheduler (set before define()): kDotMaddubs's byte-pair
  /// sums as plain adds, which it may reorder (saturating_add, which the
  /// manual schedule needs for Halide to emit vpmaddubsw, is not associative
  /// to Halide; the sums never reach 2^15, so both give the same values).
  void setAutoscheduled(bool on) { autoscheduled = on; }
  /// The dot product a Halide target gets: VNNI where it has it, else maddubs.
  static int dotFor(const Halide::Target &t) {
    return hasByteDot4(t) ? kDotVnni : kDotMaddubs;
  }
  /// Blocks per weight row, from w's first extent (either layout).
  template <typename W>
  Halide::Expr blocksPerRow(const W &w) const {
    return w.dim(0).extent() / (kBlockBytes * std::max(1, interleave));
  }
  /// Rows of W, from w's second extent (either layout).
  template <typename W>
  Halide::Expr weightRows(const W &w) const {
    return w.dim(1).extent() * std::max(1, interleave);
  }

  /// The fixed-shape form of a GEMV (GeneratorParams fixed_n / fixed_k, 0 =
  /// any; see Q2_0CVnniGemvGenerator.cpp): makes w's extents compile-time
  /// constants, from which x's and y's follow. Plain rows only. Aborts the
  /// generator on a K that is not a multiple of 512 or a negative value.
  template <typename W>
  static void fixShape(W &w, int fixedN, int fixedK) {
    if (fixedK % kBlockWeights != 0 || fixedK < 0 || fixedN < 0) {
      std::fprintf(stderr, "q2_0c vnni gemv: fixed_k must be a multiple of 512 and "
                           "fixed_n >= 0 (got %d, %d)\n", fixedK, fixedN);
      std::abort();
    }
    if (fixedK > 0)
      w.dim(0).set_extent(fixedK / kBlockWeights * kBlockBytes);
    if (fixedN > 0)
      w.dim(1).set_extent(fixedN);
  }
  /// Shape estimates of w for an autoscheduler (plain rows): N x K.
  template <typename W>
  static void estimateWeights(W &w, int n, int k) {
    w.set_estimates({{0, k / kBlockWeights * kBlockBytes}, {0, n}});
  }

  /// Defines total(n, m) = out(n, m) for W = `w` (row bytes x
  /// rows) and x(k, m) (a Func over the K activations of token m).
  template <typename W>
  void define(W &w, Halide::Func x, int digits) {
    using namespace Halide;
    if (digits < 1 || digits > 3) {
      std::fprintf(stderr, "q2_0c_vnni: digits must be 1, 2 or 3 (got %d)\n", digits);
      std::abort();
    }
    nd = digits;
    const float qmax = float(I8DotActivations::qmax(nd));

    rg = RDom(0, kGroup, "rg");
    Expr ge = b * kBlockWeights + (rg / 16) * 256 + lane * 16 + rg % 16;
    amax(lane, b, m) = 0.0f;
    amax(lane, b, m) = max(amax(lane, b, m), abs(x(ge, m)));
    inv(lane, b, m) = select(amax(lane, b, m) > 0.0f, qmax / amax(lane, b, m), 0.0f);
    step(lane, b, m) = amax(lane, b, m) * (1.0f / qmax);
    step2(lane, b, m) = step(lane, b, m) * (2.0f / codeScale());

    // Element 512 b + 4 j + s lies in lane (j % 64) / 4.
    Expr jl = (j % kDotBytes) / kDotGroup;
    q(j, s, b, m) = cast<int32_t>(round(x(b * kBlockWeights + 4 * j + s, m) * inv(jl, b, m)));
    defineProducts(w);
  }

  /// The same products for activations quantized beforehand (one digit):
  /// xq(k, m) is the int8 q of element k of token m, xstep(g, m) the step
  /// sx of group g = 16 b + lane (block b, lane as above), i.e. what
  /// define() computes from float x with digits = 1. The caller's
  /// quantization (hyk/kernels.h, hyk_gemv_q2_0c_a8q_*) must round as
  /// define() does for the results to match the _a8 kernels.
  template <typename W>
  void defineQuantized(W &w, Halide::Func xq, Halide::Func xstep) {
    using namespace Halide;
    nd = 1;
    prequantized = true;
    step(lane, b, m) = xstep(b * kDotLanes + lane, m);
    step2(lane, b, m) = step(lane, b, m) * (2.0f / codeScale());
    q(j, s, b, m) = cast<int32_t>(xq(b * kBlockWeights + 4 * j + s, m));
    defineProducts(w);
  }

private:
  /// Everything after q and the steps: digits, lane sums of q, the weight
  /// codes and the products (shared by define and defineQuantized).
  template <typename W>
  void defineProducts(W &w) {
    using namespace Halide;
    Expr nblocks = blocksPerRow(w);
    Expr qi = q(j, s, b, m);
    Expr t = I8DotActivations::digit(qi, nd - 1, nd);
    for (int d = nd - 2; d >= 0; --d)
      t = select(part == d, I8DotActivations::digit(qi, d, nd), t);
    xs(j, s, part, b, m) = t;

    // Lane l's sum of q: its kDotGroup x kChunks code positions j, each
    // holding 4 elements (one per plane s). In two steps, so every loop
    // reads consecutive elements: q4, the 4 elements of each j (elements
    // 4 j .. 4 j + 3 of the block), then the lane's j. (Summed directly over
    // lanes, each step read every 16th byte: a gather of single bytes that
    // made this prologue of the decode GEMVs 1-3 us a call.)
    rs = RDom(0, 4, "rs");
    q4(j, b, m) = 0;
    q4(j, b, m) += q(j, rs, b, m);
    rq = RDom(0, kDotGroup, 0, kChunks, "rq");
    qlane(lane, b, m) = 0;
    qlane(lane, b, m) += q4(rq.y * kDotBytes + lane * kDotGroup + rq.x, b, m);
    qstep(lane, b, m) = 3.0f * step(lane, b, m) * cast<float>(qlane(lane, b, m));

    Expr row = clamp(streams == 1 ? Expr(n) : streamRow(n, streams, streamTask), 0,
                     weightRows(w) - 1);
    Expr byte;
    if (interleave == 0) {
      scale(b, n) = blockScale(w, b * kBlockBytes, row);
      byte = w(b * kBlockBytes + 2 + j, row);
    } else {
      const int r = interleave;
      Expr tile = row / r, slot = b * r + row % r;
      scale(b, n) = blockScale(w, slot * 2, tile);
      byte = w(nblocks * (2 * r) + slot * kCodeBytes + j, tile);
    }
    if (dot == kDotMaddubs) {
      // c itself; pairs jp of a chunk's bytes 2 jp, 2 jp + 1 (lane jp / 2),
      // summed over both chunks and all planes in int16, then widened.
      code(j, s, b, n) = (byte >> cast<uint8_t>(2 * s)) & cast<uint8_t>(3);
      // pp: one vpmaddubsw, the pair sums of chunk ch and plane s
      // (saturating_add, the form Halide maps to it), added into pm with
      // plain int16 adds. On Zen 3 vpaddw issues on all four vector pipes
      // and vpaddsw shares vpmaddubsw's two: 8 vpmaddubsw + 8 vpaddsw take
      // 5.4 cycles, + 8 vpaddw 3.8 like vpmaddubsw alone (when pm's update
      // was itself the saturating pair reduction, every add was a vpaddsw;
      // the GEMM kernel is 1.05-1.13x faster without, bench/RESULTS.md).
      rp = RDom(0, 2, "rp");
      Expr jj = ch * kDotBytes + 2 * jp + rp.x;
      pp(jp, part, ch, s, b, n, m) = cast<int16_t>(0);
      Expr product = cast<int16_t>(code(jj, s, b, n)) * cast<int16_t>(xs(jj, s, part, b, m));
      pp(jp, part, ch, s, b, n, m) = autoscheduled ? pp(jp, part, ch, s, b, n, m) + product
                                                   : saturating_add(pp(jp, part, ch, s, b, n, m),
                                                                    product);
      rm = RDom(0, kChunks, 0, 4, "rm");
      pm(jp, part, b, n, m) = cast<int16_t>(0);
      pm(jp, part, b, n, m) += pp(jp, part, rm.x, rm.y, b, n, m);
      rr = RDom(0, 2, "rr");
      ip(lane, part, b, n, m) = 0;
      ip(lane, part, b, n, m) += cast<int32_t>(pm(2 * lane + rr, part, b, n, m));
    } else if (decode == kDecodeShift) {
      // Each plane moved to the top two bits (64 c), one accumulator per
      // block: S' = sum over both chunks and all 4 planes.
      code(j, s, b, n) = (byte << cast<uint8_t>(6 - 2 * s)) & cast<uint8_t>(0xC0);
      rd = RDom(0, kDotGroup, 0, kChunks, 0, 4, "rd");
      Expr jj = rd.y * kDotBytes + lane * kDotGroup + rd.x;
      ip(lane, part, b, n, m) = 0;
      ip(lane, part, b, n, m) += cast<int32_t>(code(jj, rd.z, b, n)) *
                                 cast<int32_t>(xs(jj, rd.z, part, b, m));
    } else {
      // Planes 1..3 masked in place (4^s c: no shift), plane 0 shifted to
      // the top (64 c: byte << 6 needs no mask, and c & 3 would let Halide
      // narrow the product to int8 x int8 and miss vpdpbusd), one
      // accumulator per plane (four independent vpdpbusd chains of 2
      // rather than one of 8), weighted once per block:
      // S' = 64 S_0 + 16 (4 S_1) + 4 (16 S_2) + 64 S_3 = 64 S.
      code(j, s, b, n) = select(s == 0, byte << cast<uint8_t>(6),
                                byte & cast<uint8_t>(3 << (2 * s)));
      rd = RDom(0, kDotGroup, 0, kChunks, "rd");
      Expr jj = rd.y * kDotBytes + lane * kDotGroup + rd.x;
      ipp(lane, part, s, b, n, m) = 0;
      ipp(lane, part, s, b, n, m) += cast<int32_t>(code(jj, s, b, n)) *
                                     cast<int32_t>(xs(jj, s, part, b, m));
      ip(lane, part, b, n, m) = ipp(lane, part, 0, b, n, m) +
                                ipp(lane, part, 1, b, n, m) * 16 +
                                ipp(lane, part, 2, b, n, m) * 4 + ipp(lane, part, 3, b, n, m);
    }

    // kDotMaddubs accumulates in 8 float lanes (one ymm) per output: lane
    // l + 8 h of a block (h, its half) adds into lane l. A tile keeps one
    // float accumulator per output rather than two, and each half's int16
    // sums are widened and scaled right after they are complete (on Zen 3
    // 1.0-1.2x faster GEMM than 16 lanes, bench/RESULTS.md).
    const int halves = kDotLanes / accLanes();
    Expr ln = lane;
    if (halves > 1) {
      rb = RDom(0, halves, 0, nblocks, "rb");
      rbHalf = rb.x;
      rbBlock = rb.y;
      ln = lane + accLanes() * rbHalf;
    } else {
      rb = RDom(0, nblocks, "rb");
      rbHalf = rbBlock = rb.x;
    }
    Expr sb = I8DotActivations::combine(nd, [&](int d) { return ip(ln, d, rbBlock, n, m); });
    lanesum(lane, n, m) = 0.0f;
    lanesum(lane, n, m) +=
        scale(rbBlock, n) * (step2(ln, rbBlock, m) * sb - qstep(ln, rbBlock, m));

    rl = RDom(0, accLanes(), "rl");
    total(n, m) = 0.0f;
    total(n, m) += lanesum(rl, n, m);
  }

public:
  /// Activation side: everything O(K M), once per call; with
  /// `parallelTokens` (prefill) the per-token loops run in parallel, as
  /// the products do (one thread alone left the others waiting: ~1.3% of
  /// an AVX2 pp512, bench/RESULTS.md).
  void scheduleActivations(int vw, bool parallelTokens = false) {
    if (!prequantized) {
      amax.compute_root();
      amax.update().reorder(rg, lane, b, m);
      inv.compute_root().vectorize(lane, kDotLanes);
    }
    step.compute_root().vectorize(lane, kDotLanes);
    step2.compute_root().vectorize(lane, kDotLanes);
    // Prequantized, q is a widening of the caller's int8 values: read in
    // place rather than copied into an int32 buffer first.
    if (prequantized)
      q.compute_inline();
    else
      q.compute_root().bound(s, 0, 4).bound(j, 0, kCodeBytes).vectorize(j, vw);
    xs.compute_root()
        .bound(j, 0, kCodeBytes)
        .bound(s, 0, 4)
        .bound(part, 0, nd)
        .reorder(j, s, part, b, m)
        .vectorize(j, kDotBytes)
        .unroll(part);
    q4.compute_root().bound(j, 0, kCodeBytes).vectorize(j, kDotLanes);
    q4.update().reorder(rs, j, b, m).vectorize(j, kDotLanes).unroll(rs);
    qlane.compute_root().bound(lane, 0, kDotLanes).vectorize(lane);
    qlane.update().reorder(rq.x, lane, rq.y, b, m).vectorize(lane).unroll(rq.x);
    qstep.compute_root().bound(lane, 0, kDotLanes).vectorize(lane);
    if (parallelTokens) {
      if (!prequantized)
        q.parallel(m);
      xs.parallel(m);
      q4.update().parallel(m);
      qlane.update().parallel(m);
      qstep.parallel(m);
    }
  }

  /// The decode schedule of y(n) (one token): tasks of `rowsPerTask` rows
  /// (a multiple of `unroll`), tiles of `unroll` rows sharing each
  /// activation load; the activation side once per call.
  template <typename Y, typename W>
  void scheduleGemv(Y &y, Halide::Var n, W &w, int vw, int rowsPerTaskParam, int unroll,
                    bool parallel, int prefetchBlocks) {
    using namespace Halide;
    Var nt("nt"), ni("ni"), nio("nio"), nii("nii");
    const int ur = std::max(1, unroll);
    scheduleActivations(vw);
    y.split(n, nt, ni, rowsPerTask(rowsPerTaskParam, ur), TailStrategy::GuardWithIf)
        .split(ni, nio, nii, ur, TailStrategy::GuardWithIf);
    if (parallel)
      y.parallel(nt);
    scheduleTile(LoopLevel(y, nio), ur, 1, w, prefetchBlocks);
  }

  /// The decode schedule with streams (setStreams): y(n) gathers each
  /// task's outputs from inOrder (= total in the permuted order), computed
  /// per task in register tiles of `streams` rows, one from each run; the
  /// software prefetch, if any, per row of the tile (scheduleTile).
  template <typename Y, typename W>
  void scheduleGemvStreams(Y &y, Halide::Func inOrder, Halide::Var n, W &w, int vw,
                           bool parallel, int prefetchBlocks) {
    using namespace Halide;
    Var nt("nt"), ni("ni"), nio("nio"), nii("nii");
    scheduleActivations(vw);
    y.split(n, nt, ni, streamTask, TailStrategy::GuardWithIf);
    if (parallel)
      y.parallel(nt);
    inOrder.compute_at(y, nt).split(n, nio, nii, streams, TailStrategy::RoundUp);
    scheduleTile(LoopLevel(inOrder, nio), streams, 1, w, prefetchBlocks, nullptr, true);
  }

  /// The prefill schedule of y(n, t): tasks of `rowsPerTask` rows, register
  /// tiles of `rows` x `tokens` outputs.
  template <typename Y, typename W>
  void scheduleGemm(Y &y, Halide::Var n, Halide::Var t, W &w, int vw, int rows, int tokens,
                    int rowsPerTaskParam, bool parallel, int prefetchBlocks) {
    using namespace Halide;
    Var nt("nt"), nr("nr"), no("no"), ni("ni"), mo("mo"), mi("mi");
    const int R = std::max(1, rows), T = std::max(1, tokens);
    scheduleActivations(vw, parallel);
    y.split(n, nt, nr, rowsPerTask(rowsPerTaskParam, R), TailStrategy::GuardWithIf)
        .split(nr, no, ni, R, TailStrategy::GuardWithIf)
        .split(t, mo, mi, T, TailStrategy::GuardWithIf)
        .reorder(ni, mi, mo, no, nt);
    if (parallel)
      y.parallel(nt);
    // On AVX2 the codes of a task's rows are decoded once for all its
    // token tiles (a task's rows x K bytes: 64-192 KB at 32 rows, in L2),
    // rather than once per register tile.
    LoopLevel task(y, nt);
    scheduleTile(LoopLevel(y, mo), R, T, w, prefetchBlocks,
                 dot == kDotMaddubs ? &task : nullptr);
  }

  /// The weight side for one register tile of `rows` x `tokens` outputs,
  /// computed at `tile` (a loop of the consumer over such tiles).
  template <typename W>
  void scheduleTile(Halide::LoopLevel tile, int rows, int tokens, W &w, int prefetchBlocks,
                    const Halide::LoopLevel *codesAt = nullptr, bool prefetchPerRow = false) {
    total.compute_at(tile).bound_extent(n, rows).bound_extent(m, tokens).unroll(n).unroll(m);
    total.update().reorder(rl, n, m).atomic().vectorize(rl).unroll(n).unroll(m);
    lanesum.compute_at(tile)
        .bound(lane, 0, accLanes())
        .bound_extent(n, rows)
        .bound_extent(m, tokens)
        .vectorize(lane)
        .unroll(n)
        .unroll(m);
    if (dot == kDotMaddubs) // a loop over the block's halves inside the block loop
      lanesum.update().reorder(lane, n, m, rbHalf, rbBlock).unroll(rbHalf);
    else
      lanesum.update().reorder(lane, n, m, rbBlock);
    lanesum.update().vectorize(lane).unroll(n).unroll(m);
    // Software prefetch of the weight rows `prefetchBlocks` blocks ahead:
    // the tile reads `rows` interleaved streams, which the hardware
    // prefetchers follow poorly (measured: ~10 GB/s from DRAM on 2 cores
    // without, against a 48 GB/s read loop). Not clipped to the row
    // (NonFaulting: x86 and AArch64 prefetches never fault): near a row's
    // end it reaches into the rows the task reads next, where Halide's
    // default guard dropped it.
    //
    // With streams (prefetchPerRow) the tile's rows are far apart, so the
    // prefetch is issued per row: at the tile's row loop, for the row's
    // block `prefetchBlocks` ahead. The row's products (ip, or ipp when
    // decoding by masks) are then computed inside that row loop too, so its
    // body reads the whole 130-byte block and the prefetch covers each of
    // the block's cache lines; at the block loop, only the scale's line
    // would be prefetched, every other line (measured: decode 38.2 -> 39.8
    // tokens/s, median of 5 alternated rounds, bench/RESULTS.md).
    const bool perRow = prefetchBlocks > 0 && prefetchPerRow && dot == kDotVnni;
    if (perRow)
      lanesum.update().prefetch(w, n, rbBlock, prefetchBlocks,
                                Halide::PrefetchBoundStrategy::NonFaulting);
    else if (prefetchBlocks > 0)
      lanesum.update().prefetch(w, rbBlock, rbBlock, prefetchBlocks,
                                Halide::PrefetchBoundStrategy::NonFaulting);
    // Per block (kDotVnni: its 16 lanes) or per half block (kDotMaddubs:
    // 8 lanes); with perRow, per block and row.
    ip.compute_at(perRow ? Halide::LoopLevel(lanesum, n) : Halide::LoopLevel(lanesum, rbHalf));
    if (dot == kDotVnni)
      ip.bound(lane, 0, kDotLanes);
    ip.bound(part, 0, nd)
        .reorder_storage(lane, part, n, m, b)
        .reorder(lane, part, n, m, b)
        .vectorize(lane)
        .unroll(part)
        .unroll(n)
        .unroll(m);
    if (dot == kDotMaddubs) {
      // Per block and row: the 4 x 128 codes (4 x 4 vectors of 32 bytes);
      // per half block, row and token an int16 accumulator of 16 pairs fed
      // by 8 vpmaddubsw (planes x chunks), then a vpmaddwd into 8 lanes.
      // The task's codes are decoded row by row (each row one contiguous
      // run of the weights, which the hardware prefetchers follow; block by
      // block across the rows, the loads, mostly from DRAM, stalled: 11% of
      // the GEMM's time on Zen 3).
      if (codesAt)
        code.compute_at(*codesAt)
            .bound(j, 0, kCodeBytes)
            .bound(s, 0, 4)
            .reorder(j, s, b, n)
            .vectorize(j, kDotBytes / 2)
            .unroll(j)
            .unroll(s);
      else
        code.compute_at(lanesum, rbBlock)
            .bound(j, 0, kCodeBytes)
            .bound(s, 0, 4)
            .bound_extent(n, rows)
            .reorder(j, s, n, b)
            .vectorize(j, kDotBytes / 2)
            .unroll(j)
            .unroll(s)
            .unroll(n);
      pm.compute_at(lanesum, rbHalf) // the half's 16 pairs
          .bound(part, 0, nd)
          .reorder_storage(jp, part, n, m, b)
          .reorder(jp, part, n, m, b)
          .vectorize(jp, 16)
          .unroll(part)
          .unroll(n)
          .unroll(m);
      // One vpmaddubsw, computed where pm adds it.
      pp.compute_at(pm, part).bound_extent(jp, 16).vectorize(jp);
      pp.update().atomic(true).vectorize(rp.x).vectorize(jp);
      Halide::Stage pu = pm.update();
      if (codesAt) {
        // GEMM: per half block, a loop over the 4 planes whose body is rows
        // x tokens int16 accumulators fed by the rows' code vectors and the
        // tokens' activation vectors of both chunks (rows + tokens loads per
        // rows x tokens vpmaddubsw). Fully unrolled, LLVM interleaves all of
        // a block's products and spills AVX2's 16 ymm registers on every
        // block (measured 1.2x slower at 3 x 2).
        pu.reorder(jp, part, m, n, rm.x, rm.y);
      } else {
        pu.reorder(jp, part, rm.x, rm.y, m, n).unroll(rm.y);
      }
      pu.vectorize(jp, 16)
          .unroll(part)
          .unroll(rm.x)
          .unroll(m)
          .unroll(n);
      ip.update()
          .reorder(rr.x, lane, part, m, n, b)
          .atomic()
          .vectorize(rr.x)
          .vectorize(lane)
          .unroll(part)
          .unroll(m)
          .unroll(n);
      return;
    }
    if (decode == kDecodeMask) {
      // The plane accumulators: innermost one vpdpbusd, unrolled over
      // digits, planes, tokens, rows and both chunks.
      ipp.compute_at(perRow ? Halide::LoopLevel(lanesum, n) : Halide::LoopLevel(lanesum, rbBlock))
          .bound(lane, 0, kDotLanes)
          .bound(part, 0, nd)
          .bound(s, 0, 4)
          .reorder_storage(lane, part, s, n, m, b)
          .reorder(lane, part, s, n, m, b)
          .vectorize(lane)
          .unroll(part)
          .unroll(s)
          .unroll(n)
          .unroll(m);
      ipp.update()
          .reorder(rd.x, lane, part, s, m, n, rd.y, b)
          .atomic()
          .vectorize(rd.x)
          .vectorize(lane)
          .unroll(part)
          .unroll(s)
          .unroll(m)
          .unroll(n)
          .unroll(rd.y);
      return;
    }
    // Innermost: one vpdpbusd (4 bytes x 16 lanes); unrolled over digits,
    // tokens, rows, the 4 sub-positions of a code load and both chunks.
    ip.update()
        .reorder(rd.x, lane, part, m, n, rd.z, rd.y, b)
        .atomic()
        .vectorize(rd.x)
        .vectorize(lane)
        .unroll(part)
        .unroll(m)
        .unroll(n)
        .unroll(rd.z)
        .unroll(rd.y);
  }

private:
  int nd = 0;
  int interleave = 0;
  int streams = 1, streamTask = 1; // setStreams
  int decode = kDecodeShift;
  int dot = kDotVnni;
  bool autoscheduled = false;
  /// Codes as the dot product sees them: 64 c (kDotVnni), c (kDotMaddubs).
  float codeScale() const { return dot == kDotMaddubs ? 1.0f : 64.0f; }
  /// Float lanes of lanesum: 16 (one zmm) for kDotVnni, 8 (one ymm) for
  /// kDotMaddubs.
  int accLanes() const { return dot == kDotMaddubs ? 8 : kDotLanes; }
  bool prequantized = false;
  Halide::Var j{"j"}, s{"s"}, part{"part"}, b{"b"}, lane{"lane"};
  Halide::Func amax{"amax"}, inv{"inv"}, step{"step"}, step2{"step2"}, q{"q"},
      xs{"xs"}, q4{"q4"}, qlane{"qlane"}, qstep{"qstep"}, scale{"scale"}, code{"code"},
      ip{"ip"}, ipp{"ipp"}, pp{"pp"}, pm{"pm"}, lanesum{"lanesum"};
  Halide::Var jp{"jp"}, ch{"ch"};
  Halide::RDom rg, rs, rq, rd, rb, rl, rm, rp, rr;
  /// rb's loops: over the blocks, and the halves of a block (kDotMaddubs;
  /// for kDotVnni both are the block loop).
  Halide::RVar rbBlock, rbHalf;
};

} // namespace hyk

#endif // HYK_SCHEDULES_GEMV_Q2_0CVNNI_H
