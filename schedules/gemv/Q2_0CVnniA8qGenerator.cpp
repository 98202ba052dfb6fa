//===- Q2_0CVnniA8qGenerator.cpp - Q2_0C x pre-quantized int8 activations ==//
//
// Halide generators `gemv_q2_0c_a8q_vnni` (decode) and `gemm_q2_0c_a8q_vnni`
// (prefill): the products of gemv_q2_0c_a8_vnni / gemm_q2_0c_a8_vnni, for
// activations that arrive already quantized (the compiler's lowbit.quantize
// or lowbit.rms_norm_quantize, which fuses the rounding into the norm that
// produces them): xq holds the int8 q of every element, xs the step of every
// group of 32 (group 16 b + l of block b: the lane-l elements, Q2_0CVnni.h).
// Same schedules and knobs as the float-input forms, minus the activation
// quantization each call would otherwise run, plus `decode` (how codes reach
// vpdpbusd, Q2_0CVnni::setDecode), whose default here is the plane mask.
//
// `interleave` = R > 1 reads the row-interleaved weight layout Q2_0C/rR
// (hyk/kernels.h; the compiler's lowbit-pack-weights writes it): w is then
// (R x row bytes, N / R), one column per tile of R rows.

#include "Q2_0CVnni.h"

#include "GemvCommon.h"
#include "Halide.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace {

using namespace Halide;
using hyk::Q2_0CVnni;

/// Groups of 32 activations per row of K: K / 32.
Expr groupsOf(const Expr &k) { return k / Q2_0CVnni::kGroup; }

class Q2_0CVnniA8qGemv : public Generator<Q2_0CVnniA8qGemv> {
public:
  GeneratorParam<int> rows_per_task{"rows_per_task", 256};
  GeneratorParam<int> unroll{"unroll", 1};
  GeneratorParam<bool> parallel{"parallel", true};
  GeneratorParam<int> prefetch{"prefetch", 0};
  GeneratorParam<int> interleave{"interleave", 0};
  // Code decoding (Q2_0CVnni::setDecode): 0 shift, 1 mask.
  GeneratorParam<int> decode{"decode", 1};
  // Weight streams per task (Q2_0CVnni::setStreams; plain rows only): 1
  // reads a task's rows front to back in tiles of `unroll` adjacent rows;
  // S > 1 reads them as S runs in lockstep, a tile being one row of each
  // run (unroll is S then; `prefetch` is issued per row, Q2_0CVnni.h):
  // more sequential streams in flight per core for the hardware
  // prefetchers.
  GeneratorParam<int> streams{"streams", 1};
  // Shape estimates for autoschedulers, and the fixed-shape form (0 = any
  // shape; plain rows only), both as in gemv_q2_0c_a8_vnni
  // (Q2_0CVnniGemvGenerator.cpp): hyc tune generates its Adams2019 baseline
  // and its candidates of tuned gemv_q2_0c_a8 for the pair's own N and K.
  GeneratorParam<int> estimate_n{"estimate_n", 2048};
  GeneratorParam<int> estimate_k{"estimate_k", 2048};
  GeneratorParam<int> fixed_k{"fixed_k", 0};
  GeneratorParam<int> fixed_n{"fixed_n", 0};

  Input<Buffer<uint8_t, 2>> w{"w"};   // (row bytes, n), or (R x row bytes, n / R)
  Input<Buffer<int8_t, 1>> xq{"xq"};  // (K)
  Input<Buffer<float, 1>> xs{"xstep"}; // (K / 32); not "xs": Q2_0CVnni has a Func of that name
  Output<Buffer<float, 1>> y{"y"};    // (n)

  void generate() {
    Func q2("q2"), s2("s2");
    q2(k, t) = xq(k);
    s2(g, t) = xs(g);
    alg.setRowInterleave(interleave);
    alg.setDecode(decode);
    alg.setDot(Q2_0CVnni::dotFor(get_target()));
    alg.setAutoscheduled(using_autoscheduler());
    if (streams < 1 || streams > 8)
      throw std::invalid_argument("gemv_q2_0c_a8q_vnni: streams must be 1 .. 8");
    if (streams > 1 && interleave > 1)
      throw std::invalid_argument("gemv_q2_0c_a8q_vnni: streams need plain rows (interleave 0)");
    if (streams > 1)
      alg.setStreams(streams, hyk::rowsPerTask(rows_per_task, streams));
    alg.defineQuantized(w, q2, s2);
    if (streams > 1) {
      inOrder(n) = alg.total(n, 0);
      y(n) = inOrder(alg.rowOrder(n));
    } else {
      y(n) = alg.total(n, 0);
    }
    Expr nblocks = alg.blocksPerRow(w);
    hyk::constrainGemvBuffers(w, xq, y, nblocks, Q2_0CVnni::kBlockWeights);
    y.dim(0).set_extent(alg.weightRows(w));
    xs.dim(0).set_min(0);
    xs.dim(0).set_extent(groupsOf(nblocks * Q2_0CVnni::kBlockWeights));
    if ((fixed_n != 0 || fixed_k != 0) && interleave > 1) {
      std::fprintf(stderr, "gemv_q2_0c_a8q_vnni: fixed_n / fixed_k need plain rows "
                           "(interleave 0)\n");
      std::abort();
    }
    Q2_0CVnni::fixShape(w, fixed_n, fixed_k);
  }

  void schedule() {
    if (using_autoscheduler()) {
      const int ne = estimate_n, ke = estimate_k;
      Q2_0CVnni::estimateWeights(w, ne, ke);
      xq.set_estimates({{0, ke}});
      xs.set_estimates({{0, ke / Q2_0CVnni::kGroup}});
      y.set_estimates({{0, ne}});
      return;
    }
    const int vw = get_target().natural_vector_size<float>();
    if (streams > 1)
      alg.scheduleGemvStreams(y, inOrder, n, w, vw, parallel, prefetch);
    else
      alg.scheduleGemv(y, n, w, vw, rows_per_task, unroll, parallel, prefetch);
  }

private:
  Var n{"n"}, k{"k"}, g{"g"}, t{"t"};
  Func inOrder{"in_order"};
  Q2_0CVnni alg;
};

class Q2_0CVnniA8qGemm : public Generator<Q2_0CVnniA8qGemm> {
public:
  // Register tile: rows of W x tokens of X. rows 0 = the target's default:
  // 2 with VNNI, 4 on AVX2 (per half block 8 int16 and 8 float
  // accumulators; on Zen 3 4 x 2 measured 1.0-1.1x 3 x 2 and 2 x 2 ~1.1x
  // slower, bench/RESULTS.md).
  GeneratorParam<int> rows{"rows", 0};
  GeneratorParam<int> tokens{"tokens", 2};
  GeneratorParam<int> rows_per_task{"rows_per_task", 32};
  GeneratorParam<bool> parallel{"parallel", true};
  GeneratorParam<int> prefetch{"prefetch", 0};
  GeneratorParam<int> interleave{"interleave", 0};
  // Code decoding (Q2_0CVnni::setDecode): 0 shift, 1 mask.
  GeneratorParam<int> decode{"decode", 1};
  // As in the GEMV above: estimates (M: the prefill chunk) and the
  // fixed-shape form (N and K; M stays any) for hyc tune.
  GeneratorParam<int> estimate_n{"estimate_n", 2048};
  GeneratorParam<int> estimate_k{"estimate_k", 2048};
  GeneratorParam<int> estimate_m{"estimate_m", 32};
  GeneratorParam<int> fixed_k{"fixed_k", 0};
  GeneratorParam<int> fixed_n{"fixed_n", 0};

  Input<Buffer<uint8_t, 2>> w{"w"};   // (row bytes, n), or (R x row bytes, n / R)
  Input<Buffer<int8_t, 2>> xq{"xq"};  // (K, M)
  Input<Buffer<float, 2>> xs{"xstep"}; // (K / 32, M)
  Output<Buffer<float, 2>> y{"y"};    // (n, M)

  void generate() {
    Func q2("q2"), s2("s2");
    q2(k, t) = xq(k, t);
    s2(g, t) = xs(g, t);
    alg.setRowInterleave(interleave);
    alg.setDecode(decode);
    alg.setDot(Q2_0CVnni::dotFor(get_target()));
    alg.setAutoscheduled(using_autoscheduler());
    alg.defineQuantized(w, q2, s2);
    y(n, t) = alg.total(n, t);

    Expr nblocks = alg.blocksPerRow(w);
    Expr kk = nblocks * Q2_0CVnni::kBlockWeights;
    w.dim(0).set_min(0);
    w.dim(1).set_min(0);
    w.dim(1).set_stride(w.dim(0).extent());
    xq.dim(0).set_min(0);
    xq.dim(0).set_extent(kk);
    xq.dim(1).set_min(0);
    xq.dim(1).set_stride(kk);
    xs.dim(0).set_min(0);
    xs.dim(0).set_extent(groupsOf(kk));
    xs.dim(1).set_min(0);
    xs.dim(1).set_extent(xq.dim(1).extent());
    xs.dim(1).set_stride(groupsOf(kk));
    y.dim(0).set_min(0);
    y.dim(0).set_extent(alg.weightRows(w));
    y.dim(1).set_min(0);
    y.dim(1).set_extent(xq.dim(1).extent());
    y.dim(1).set_stride(y.dim(0).extent());
    if ((fixed_n != 0 || fixed_k != 0) && interleave > 1) {
      std::fprintf(stderr, "gemm_q2_0c_a8q_vnni: fixed_n / fixed_k need plain rows "
                           "(interleave 0)\n");
      std::abort();
    }
    Q2_0CVnni::fixShape(w, fixed_n, fixed_k);
  }

  void schedule() {
    if (using_autoscheduler()) {
      const int ne = estimate_n, ke = estimate_k, me = estimate_m;
      Q2_0CVnni::estimateWeights(w, ne, ke);
      xq.set_estimates({{0, ke}, {0, me}});
      xs.set_estimates({{0, ke / Q2_0CVnni::kGroup}, {0, me}});
      y.set_estimates({{0, ne}, {0, me}});
      return;
    }
    const int vw = get_target().natural_vector_size<float>();
    const int r = rows > 0 ? int(rows)
                           : Q2_0CVnni::dotFor(get_target()) == Q2_0CVnni::kDotVnni ? 2 : 4;
    alg.scheduleGemm(y, n, t, w, vw, r, tokens, rows_per_task, parallel, prefetch);
  }

private:
  Var n{"n"}, k{"k"}, g{"g"}, t{"t"};
  Q2_0CVnni alg;
};

} // namespace

HALIDE_REGISTER_GENERATOR(Q2_0CVnniA8qGemv, gemv_q2_0c_a8q_vnni)
HALIDE_REGISTER_GENERATOR(Q2_0CVnniA8qGemm, gemm_q2_0c_a8q_vnni)
