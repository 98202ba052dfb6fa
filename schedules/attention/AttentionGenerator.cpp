//===- AttentionGenerator.cpp - causal GQA attention over a KV cache ------===//
//
// Halide generators `attention_decode` and `attention_prefill`: for M queries
// at consecutive positions pos0 .. pos0 + M - 1 (M = 1 for decode), each of
// H heads of D floats, over a KV cache (float32, float16 or Q8_0 bytes: the
// inputs' `k.type` / `v.type` = float32, float16 or uint8, set when the
// generator runs; float16 rows are widened and Q8_0 blocks dequantized to
// float32 as they are read) whose rows 0 .. pos0 + M - 1 hold KVH heads
// each (grouped-query attention: query head h reads KV head
// h / (H / KVH)):
//
//   s(t, h, m)   = q_(h,m) . k_(t, h/G) / sqrt(D)       for t <= pos0 + m
//   out(h, m)    = sum_t softmax_t(s) v_(t, h/G)
//
// Two passes over the cache: the scores (and their maximum and exp-sum per
// head and query), then the weighted sum of V rows. The second pass is split
// over the KV length into blocks of `kv_split` positions whose partial sums
// are merged at the end (decode: H x blocks parallel tasks instead of H, for
// long contexts on more cores than heads); because the scores are normalized
// with the maximum over the whole row first, the merge is a plain sum.
//
// Layouts (D fastest): q and out (D, H, M); k and v (D, KVH, T) with
// T = pos0 + M cache rows (Q8_0: (D / 32 * 34 bytes, KVH, T)); D must be a
// multiple of 16 (32 for Q8_0; checked on entry).
//
//===----------------------------------------------------------------------===//

#include "Halide.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace {

using namespace Halide;

template <bool Decode>
class Attention : public Generator<Attention<Decode>> {
public:
  template <typename T> using Input = Halide::GeneratorInput<T>;
  template <typename T> using Output = Halide::GeneratorOutput<T>;

  // ---- Knobs ------------------------------------------------------------
  // Cache positions per partial sum of the V pass (the split-KV grain).
  GeneratorParam<int> kv_split{"kv_split", Decode ? 256 : 1 << 20};
  GeneratorParam<bool> parallel{"parallel", true};
  // The softmax's row maximum and sum as vector reductions (vw partial
  // lanes) rather than a scalar chain per head and query (measured 5-7%
  // faster at positions 1024-2000, hot and from memory, on the Zen 4 VM).
  GeneratorParam<bool> vector_sums{"vector_sums", true};
  // Decode: walk the cache one row (every KV head of a position) at a time,
  // in parallel tasks of `score_chunk` positions for the scores and of
  // `kv_split` positions for the V pass (each V vector loaded once for the
  // group's query heads). false: one head at a time over all positions (a
  // 256-byte read every KV-heads x 256 bytes, which left decode attention
  // bound by memory latency: at 1400 positions 3x slower, AVX2 f16 cache,
  // bench/RESULTS.md).
  GeneratorParam<bool> row_order{"row_order", true};
  GeneratorParam<int> score_chunk{"score_chunk", 64};
  // Cache positions scored together with a group of four query heads (each
  // K vector loaded once for 4 x positions accumulators); 0: 4 where the ISA
  // has AVX-512's 32 vector registers, else 1.
  GeneratorParam<int> positions{"positions", 0};
  // Prefill's V pass: D vectors per tile of the group's query heads (the
  // tile's group x v_vectors sums stay in registers). Decode ignores it.
  GeneratorParam<int> v_vectors{"v_vectors", 2};
  // Prefill scores with the positions as the vector lanes: the K rows the
  // call reads, as float32 with positions innermost (a transpose, once per
  // call), then per step one K vector of vw positions and one broadcast
  // query element per head feed vw scores, with no horizontal sum per
  // score. 1 on, 0 off (D as the lanes, as decode), -1 the target's
  // default: on for x86 with 8-float vectors (AVX2), where each D-lane
  // score ended in a horizontal sum over two vectors and the K vectors were
  // dequantized again for every query (AVX-512 scores four positions at
  // once instead; NEON not measured).
  GeneratorParam<int> position_lanes{"position_lanes", -1};
  // Problem size for Halide's autoschedulers (hyc tune's Adams2019
  // baseline): query heads, head_dim, queries, KV heads and pos0.
  GeneratorParam<int> estimate_n{"estimate_n", 16};
  GeneratorParam<int> estimate_k{"estimate_k", 128};
  GeneratorParam<int> estimate_m{"estimate_m", 1};
  GeneratorParam<int> estimate_kv_heads{"estimate_kv_heads", 4};
  GeneratorParam<int> estimate_pos{"estimate_pos", 1024};

  Input<Buffer<float, 3>> q{"q"};
  // The cache's element type comes from the generator parameters k.type and
  // v.type (float32, float16 or uint8 for Q8_0 bytes; both the same).
  Input<Buffer<void, 3>> k{"k"};
  Input<Buffer<void, 3>> v{"v"};
  Input<int32_t> pos0{"pos0"};
  // Query heads per KV head (heads / kv_heads): a scalar, so the schedule
  // can specialize on its value (query head h = j * group + g reads KV
  // head j).
  Input<int32_t> group{"group"};
  Output<Buffer<float, 3>> out{"out"};

  void generate() {
    if (positions < 0 || positions > 16)
      throw std::invalid_argument("attention: positions must be 0 (the ISA's default) .. 16");
    if (kv_split < 1)
      throw std::invalid_argument("attention: kv_split must be at least 1");
    if (score_chunk < 1)
      throw std::invalid_argument("attention: score_chunk must be at least 1");
    if (v_vectors < 1 || v_vectors > 8)
      throw std::invalid_argument("attention: v_vectors must be 1 .. 8");
    const bool q8 = k.type() == UInt(8) && v.type() == UInt(8);
    if (k.type() != v.type() ||
        !(q8 || (k.type().is_float() && (k.type().bits() == 16 || k.type().bits() == 32))))
      throw std::invalid_argument("attention: k.type and v.type must both be float32, "
                                  "float16 or uint8 (Q8_0 bytes)");
    // D a multiple of 16 (every ISA's vector width divides it: no tails);
    // of 32 for a Q8_0 cache (whole blocks per head).
    const int dm = q8 ? 32 : 16;
    Expr d = (q.dim(0).extent() / dm) * dm;
    dm_ = dm;
    d_ = d;
    q.dim(0).set_min(0).set_extent(d);
    Expr heads = q.dim(1).extent(), tokens = q.dim(2).extent();
    q.dim(1).set_min(0);
    q.dim(2).set_min(0);
    if (Decode)
      q.dim(2).set_extent(1);
    Expr kvHeads = k.dim(1).extent();
    for (auto *b : {&k, &v}) {
      (*b).dim(0).set_min(0).set_extent(q8 ? d / 32 * 34 : d);
      (*b).dim(1).set_min(0);
      (*b).dim(2).set_min(0).set_extent(pos0 + tokens);
    }
    v.dim(1).set_extent(kvHeads);
    q.dim(1).set_extent(group * kvHeads);
    out.dim(0).set_min(0).set_extent(d);
    out.dim(1).set_min(0).set_extent(heads);
    out.dim(2).set_min(0).set_extent(tokens);
    Expr npos = pos0 + tokens;

    // Scores: the dot product over D, indexed by KV head j and the query
    // head's place g in its group (so the K row of (t, j) is visibly the same
    // for every g). With position_lanes (byPositions): kf the cache's K rows
    // as float32, kt the same with the positions innermost (rows past the
    // last clamped to it: a tile of positions may reach past npos), dott the
    // dot products summed over D in that order. Else lanes(u, .) sums the
    // elements u, u + 16, u + 32, ... of the product (16 vector lanes,
    // whatever the ISA's width) and dot sums the 16 lanes.
    const int vwTarget = this->get_target().template natural_vector_size<float>();
    const bool avx2 = this->get_target().arch == Target::X86 && vwTarget == 8;
    byPositions = !Decode && (position_lanes > 0 || (position_lanes < 0 && avx2));
    if (byPositions) {
      kf(i, j, t) = element(k, q8, i, j, clamp(t, 0, npos - 1));
      kt(t, i, j) = kf(i, j, t);
      rdd_ = RDom(0, d, "rdd");
      dott(t, g, j, m) = 0.0f;
      dott(t, g, j, m) += kt(t, rdd_, j) * q(rdd_, j * group + g, m);
    }
    RDom ri(0, d / 16, "ri");
    lanes(u, t, g, j, m) = 0.0f;
    lanes(u, t, g, j, m) +=
        q(ri * 16 + u, j * group + g, m) * element(k, q8, ri * 16 + u, j, t);
    RDom ru(0, 16, "ru");
    dot(t, g, j, m) = 0.0f;
    dot(t, g, j, m) += lanes(ru, t, g, j, m);
    Expr scale = 1.0f / sqrt(cast<float>(d));
    const float ninf = -std::numeric_limits<float>::infinity();
    if (byPositions) // the mask added, so that bounds inference does not trim dott's tiles by it
      score(t, h, m) = dott(t, h % group, h / group, m) * scale + select(t <= pos0 + m, 0.0f, ninf);
    else
      score(t, h, m) = select(t <= pos0 + m, dot(t, h % group, h / group, m) * scale, ninf);
    RDom rt(0, npos, "rt");
    smax(h, m) = ninf;
    smax(h, m) = max(smax(h, m), score(rt, h, m));
    // Masked positions are 0 without relying on exp(-inf).
    prob(t, h, m) = select(t <= pos0 + m, exp(score(t, h, m) - smax(h, m)), 0.0f);
    ssum(h, m) = 0.0f;
    ssum(h, m) += prob(rt, h, m);

    // V pass in blocks of kv_split positions, then merged. Decode at short
    // contexts: blocks of a quarter of the positions (a multiple of 16, at
    // least 32), so that both halves of a pool share the V pass from 64
    // positions on instead of one thread doing all of it below kv_split.
    Expr split = int(kv_split);
    if (Decode) {
      const int lo = std::min(32, int(kv_split));
      split = min(max(((npos + 3) / 4 + 15) / 16 * 16, lo), int(kv_split));
    }
    nblocks = (npos + split - 1) / split;
    // At most npos positions per block (one block holds them all for
    // prefill); the predicate trims the last block.
    RDom rb(0, min(split, npos), "rb");
    Expr tb = c * split + rb;
    rb.where(tb < npos);
    // Clamped as well: bounds inference does not use the predicate, and the
    // cache buffer ends at row npos - 1.
    Expr tc = min(tb, npos - 1);
    // Indexed like the scores by KV head j and place g in its group, so a V
    // row is visibly shared by the group's query heads.
    vsum(i, c, g, j, m) = 0.0f;
    vsum(i, c, g, j, m) += prob(tc, j * group + g, m) * element(v, q8, i, j, tc);
    part(i, c, g, j, m) = vsum(i, c, g, j, m);
    RDom rc(0, nblocks, "rc");
    acc(i, h, m) = 0.0f;
    acc(i, h, m) += part(i, rc, h % group, h / group, m);
    out(i, h, m) = acc(i, h, m) / ssum(h, m);
    if (this->using_autoscheduler()) {
      const int dd = estimate_k, hh = estimate_n, kvh = estimate_kv_heads;
      const int mm = Decode ? 1 : int(estimate_m), rowsEst = int(estimate_pos) + mm;
      const int elems = q8 ? dd / 32 * 34 : dd;
      q.set_estimates({{0, dd}, {0, hh}, {0, mm}});
      k.set_estimates({{0, elems}, {0, kvh}, {0, rowsEst}});
      v.set_estimates({{0, elems}, {0, kvh}, {0, rowsEst}});
      pos0.set_estimate(int(estimate_pos));
      group.set_estimate(hh / std::max(1, kvh));
      out.set_estimates({{0, dd}, {0, hh}, {0, mm}});
    }
    ri_ = ri;
    ru_ = ru;
    rt_ = rt;
    rb_ = rb;
    rc_ = rc;
  }

  /// Element i of head j of cache row t as float32: widened from float16 or
  /// float32, or dequantized from Q8_0 bytes (block i / 32 at 34 (i / 32):
  /// its float16 step, then the int8 code i % 32 at offset 2).
  static Expr element(const Input<Buffer<void, 3>> &cache, bool q8, const Expr &i,
                      const Expr &j, const Expr &t) {
    if (!q8)
      return cast<float>(cache(i, j, t));
    Expr at = (i / 32) * 34;
    Expr bits = cast<uint16_t>(cache(at, j, t)) | (cast<uint16_t>(cache(at + 1, j, t)) << 8);
    Expr step = cast<float>(reinterpret(Float(16), bits));
    Expr code = reinterpret(Int(8), cache(at + 2 + i % 32, j, t));
    return step * cast<float>(code);
  }

  void schedule() {
    if (this->using_autoscheduler())
      return; // the autoscheduler (hyc tune's Adams2019 baseline) decides all
    const int vw = this->get_target().template natural_vector_size<float>();
    if (byPositions)
      scheduleScoresByPositions(vw);
    else
      scheduleScoresByD(vw);
    scheduleRest(vw);
  }

  /// Prefill scores, positions as lanes: kt once per call (parallel over
  /// positions); per task (a query and a KV head's group of query heads),
  /// tiles of 2 vw positions x the group's heads whose sums over D stay in
  /// registers (2 x 4 vectors for groups of 4).
  void scheduleScoresByPositions(int vw) {
    Var hm("hm"), to("to"), ti("ti"), ho("ho"), hi("hi"), kto("kto"), kti("kti"), tvo("tvo"),
        tvi("tvi");
    RVar rdd = rdd_;
    const int tile = 2 * vw;
    // The transpose in tiles of vw x vw: kf's tile (vw dense rows of D
    // elements, dequantized) on the stack, read back across.
    Var io("io"), ii("ii");
    kt.compute_root()
        .split(t, kto, kti, vw, TailStrategy::RoundUp)
        .split(i, io, ii, vw, TailStrategy::RoundUp)
        .reorder(kti, ii, io, kto, j)
        .vectorize(kti)
        .unroll(ii);
    kf.compute_at(kt, io).vectorize(i, vw).unroll(t);
    if (parallel)
      kt.parallel(kto, 8, TailStrategy::GuardWithIf);
    score.compute_root();
    auto nest = [&](Stage s, Expr heads, TailStrategy headTail) {
      s.split(h, ho, hi, heads, headTail)
          .split(t, to, ti, tile, TailStrategy::RoundUp)
          .reorder(ti, hi, to, ho, m)
          .fuse(ho, m, hm)
          .vectorize(ti, vw, TailStrategy::RoundUp);
      if (parallel)
        s.parallel(hm);
    };
    nest(score.specialize(group == 4), 4, TailStrategy::Auto);
    nest(score, group, TailStrategy::GuardWithIf);
    score.specialize(group == 4).unroll(hi);
    dott.compute_at(score, to)
        .bound_storage(t, tile)
        .bound_storage(g, 16)
        .bound_storage(j, 1)
        .bound_storage(m, 1)
        .vectorize(t, vw)
        .unroll(t);
    dott.update()
        .split(t, tvo, tvi, vw, TailStrategy::RoundUp)
        .reorder(tvi, tvo, g, rdd)
        .vectorize(tvi)
        .unroll(tvo);
    dott.specialize(group == 4).unroll(g);
    dott.update().specialize(group == 4).unroll(g);
  }

  /// Scores with D as the lanes (decode, and prefill where vectors are wide).
  void scheduleScoresByD(int vw) {
    // Scores per (head, query): T dot products of D, as 16-lane vector FMAs
    // and one horizontal sum per score.
    Var hm("hm"), to("to"), ti("ti"), ho("ho"), hi("hi");
    score.compute_root();
    // Four query heads per KV head (HY-1.8B's grouping): the group's heads
    // at once, so each K vector is loaded (and widened from float16) once
    // for four scores; with AVX-512's 32 registers also four positions
    // (16 accumulators), else one (AVX2 and NEON have fewer or narrower).
    const int stepPositions = positions > 0 ? int(positions) : (vw >= 16 ? 4 : 1);
    // The loop nest of one specialization: a group of `heads` query heads
    // (one KV head) and `step` positions per innermost step. Decode with
    // row_order: positions outermost in parallel chunks of score_chunk, the
    // KV heads inside a position (each cache row read front to back); else
    // the heads outermost in parallel, each walking all positions.
    auto nest = [&](Stage s, Expr heads, int step, TailStrategy headTail) {
      s.split(h, ho, hi, heads, headTail).split(t, to, ti, step, TailStrategy::GuardWithIf);
      if (Decode && row_order) {
        // Chunks of score_chunk positions, or fewer at short contexts: about
        // 8 chunks, each of at least 16 positions (one chunk up to 31).
        Var tc("tc");
        const int most = std::max(1, int(score_chunk) / step);
        const int least = std::min(most, std::max(1, 16 / step));
        Expr steps = (pos0 + 1 + step - 1) / step;
        Expr chunk = clamp((steps + 7) / 8, least, most);
        s.split(to, tc, to, chunk, TailStrategy::GuardWithIf)
            .reorder(ti, hi, ho, to, tc, m)
            .fuse(tc, m, hm);
      } else {
        s.reorder(ti, hi, to, ho, m).fuse(ho, m, hm);
      }
      if (parallel)
        s.parallel(hm);
    };
    nest(score.specialize(group == 4), 4, stepPositions, TailStrategy::Auto);
    // Other groupings: the same loop nest over a group of any size, four
    // positions at a time, the group's heads not unrolled.
    nest(score, group, 4, TailStrategy::GuardWithIf);
    // Storage of a constant size (a step's positions, up to 16 heads per
    // group, more fails the pipeline's bounds check; a step's heads are one
    // group, so one KV head, of one query): on the stack, not a heap
    // allocation per step.
    for (Func *f : {&lanes, &dot})
      f->compute_at(score, Decode && row_order ? ho : to)
          .bound_storage(t, std::max(stepPositions, 4))
          .bound_storage(g, 16)
          .bound_storage(j, 1)
          .bound_storage(m, 1)
          .unroll(t);
    lanes.bound(u, 0, 16).vectorize(u);
    lanes.update().reorder(u, t, g, ri_).vectorize(u).unroll(t);
    dot.update().reorder(ru_, t, g).atomic().vectorize(ru_).unroll(t);
    // With four heads per group those loops have 4 iterations: unrolled.
    lanes.specialize(group == 4).unroll(g);
    lanes.update().specialize(group == 4).unroll(g);
    dot.specialize(group == 4).unroll(g);
    dot.update().specialize(group == 4).unroll(g);
  }

  /// The softmax and the V pass.
  void scheduleRest(int vw) {
    Var hm("hm"), chm("chm");
    // The row maximum, then exp and the row sum (O(T H M), cheap).
    smax.compute_root();
    prob.compute_root().fuse(h, m, hm).vectorize(t, vw, TailStrategy::GuardWithIf);
    if (parallel)
      prob.parallel(hm);
    ssum.compute_root();
    if (vector_sums) {
      // The maximum and the sum as vector reductions (vw partial lanes, then
      // a horizontal step) instead of one scalar chain per head.
      RVar ro("ro"), rl("rl");
      smax.update().split(rt_, ro, rl, vw, TailStrategy::GuardWithIf).atomic().vectorize(rl);
      ssum.update().split(rt_, ro, rl, vw, TailStrategy::GuardWithIf).atomic().vectorize(rl);
    }
    // V pass, then the blocks merged per output head (acc below).
    if (!Decode) {
      // Prefill: tiles of `v_vectors` D vectors x the group's heads, whose
      // sums over the cache positions stay in registers (a small buffer per
      // tile); each V vector, dequantized once, feeds `group` FMAs (before:
      // one head at a time, its D sums stored to memory at every position;
      // measured ~2x faster for the whole op at 256-512 positions, AVX2 Q8_0).
      // D is a multiple of dm_ (16, 32 for Q8_0), not always of the tile's
      // vw * v_vectors (AVX-512's 32 floats at v_vectors 2, say, against D
      // 48): the tile's vsum rounds its region up to whole tiles and would
      // read V past D, so where the tile does not divide dm_ the tile is
      // specialized on D being a multiple of it, with tiles of dm_ floats
      // (which divide every D) otherwise.
      const int vi = v_vectors;
      const int viAny = std::max(1, std::min(vi, dm_ / vw));
      Var io("io"), ii("ii"), jm("jm");
      auto tiles = [&](Stage s, int vectors) {
        s.split(i, io, ii, vw * vectors, TailStrategy::GuardWithIf)
            .reorder(ii, g, io, c, m, j)
            .vectorize(ii, vw)
            .fuse(m, j, jm);
        if (parallel)
          s.parallel(jm);
      };
      part.compute_root();
      if (dm_ % (vw * vi) != 0)
        tiles(part.specialize(d_ % (vw * vi) == 0), vi);
      tiles(part, dm_ % (vw * vi) != 0 ? viAny : vi);
      // Storage of a constant size (up to 16 heads per group; a larger
      // group fails the pipeline's bounds check), so it lives on the stack
      // and, with the group's loop unrolled, in registers. RoundUp (D is a
      // multiple of 16, hyk/kernels.h) keeps the tile's region starting at
      // io's first vector: the default ShiftInwards moved it by a run-time
      // amount, so every sum was a load and a store at a computed address
      // (measured 1.5-1.8x slower for the op at 224-480 positions).
      vsum.compute_at(part, io)
          .bound_storage(g, 16)
          .bound_storage(i, vw * vi)
          .vectorize(i, vw, TailStrategy::RoundUp)
          .unroll(i);
      vsum.update().reorder(i, g, rb_).vectorize(i, vw, TailStrategy::RoundUp).unroll(i);
      vsum.specialize(group == 4).unroll(g);
      vsum.update().specialize(group == 4).unroll(g);
    } else {
      // Decode: with row_order each task sums up to kv_split rows of V for
      // every head, a row at a time (each V vector, widened once, feeds the
      // group's query heads); else each task is one head's kv_split rows.
      // Vectorized over D either way.
      vsum.compute_root().vectorize(i, vw);
      if (row_order) {
        vsum.update().reorder(g, i, j, rb_, c, m).vectorize(i, vw).fuse(c, m, chm);
        if (parallel)
          vsum.update().parallel(chm);
        vsum.update().specialize(group == 4).unroll(g);
      } else {
        vsum.update().reorder(i, rb_, c, g, j, m).vectorize(i, vw).fuse(c, g, chm).fuse(chm, j, chm).fuse(chm, m, chm);
        if (parallel)
          vsum.update().parallel(chm);
      }
    }
    // acc: D floats per task, on the stack (a heap allocation per head and
    // call otherwise: D is not a constant).
    acc.compute_at(out, h).store_in(MemoryType::Stack).vectorize(i, vw);
    acc.update().reorder(i, rc_).vectorize(i, vw);
    out.vectorize(i, vw);
    if (parallel)
      out.parallel(Decode ? h : m);
  }

private:
  Var t{"t"}, h{"h"}, m{"m"}, i{"i"}, c{"c"}, u{"u"}, g{"g"}, j{"j"};
  Func kf{"kf"}, kt{"kt"}, dott{"dott"};
  bool byPositions = false;
  int dm_ = 16;  // D's granularity: 16, 32 for a Q8_0 cache
  Expr d_;       // D (head_dim)
  RDom rdd_;
  Func vsum{"vsum"}, lanes{"lanes"}, dot{"dot"}, score{"score"}, smax{"smax"}, prob{"prob"}, ssum{"ssum"}, part{"part"},
      acc{"acc"};
  Expr nblocks;
  RDom ri_, ru_, rt_, rb_, rc_;
};

using AttentionDecode = Attention<true>;
using AttentionPrefill = Attention<false>;

} // namespace

HALIDE_REGISTER_GENERATOR(AttentionDecode, attention_decode)
HALIDE_REGISTER_GENERATOR(AttentionPrefill, attention_prefill)
