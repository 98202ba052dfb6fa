//===- Q2_0CVnniGemmGenerator.cpp - Q2_0C GEMM (prefill) on AVX-512 VNNI --===//
//
// Halide generators `gemm_q2_0c_vnni` (3-digit activations) and
// `gemm_q2_0c_a8_vnni` (int8 activations; see the GEMV generator): Y = X W^T for the M tokens of a prefill
// chunk: W in Q2_0C (n rows of K weights), X float32 (M rows of K), Y float32
// (M rows of n). The algorithm is Q2_0CVnni.h's. Where the GEMV streams W
// once per token and is memory-bound, here each decoded code vector feeds
// `tokens` dot products, so the kernel is bound by vpdpbusd throughput.

#include "../gemv/Q2_0CVnni.h"

#include "../gemv/GemvCommon.h"
#include "Halide.h"

#include <algorithm>

namespace {

using namespace Halide;
using hyk::Q2_0CVnni;

template <int DefaultDigits, int DefaultRows, int DefaultTokens>
class Q2_0CVnniGemm
    : public Generator<Q2_0CVnniGemm<DefaultDigits, DefaultRows, DefaultTokens>> {
public:
  // (Dependent-base member templates, named for this class template.)
  template <typename T> using Input = Halide::GeneratorInput<T>;
  template <typename T> using Output = Halide::GeneratorOutput<T>;

  // ---- Knobs ------------------------------------------------------------
  // Activation precision (Q2_0CVnni.h); not a schedule knob. Prefill uses
  // the decode's precision so prompt and generated tokens see the same model.
  GeneratorParam<int> digits{"digits", DefaultDigits};
  // Register tile: rows of W x tokens of X (rows x tokens x digits int32
  // accumulators plus rows x tokens float ones, each a zmm register).
  GeneratorParam<int> rows{"rows", DefaultRows};
  GeneratorParam<int> tokens{"tokens", DefaultTokens};
  // Rows of W per parallel task.
  GeneratorParam<int> rows_per_task{"rows_per_task", 32};
  GeneratorParam<bool> parallel{"parallel", true};
  // Software prefetch distance, in blocks of a weight row (0: none).
  GeneratorParam<int> prefetch{"prefetch", 0};
  GeneratorParam<int> estimate_n{"estimate_n", 2048};
  GeneratorParam<int> estimate_k{"estimate_k", 2048};
  GeneratorParam<int> estimate_m{"estimate_m", 32};

  Input<Buffer<uint8_t, 2>> w{"w"}; // (row bytes, n)
  Input<Buffer<float, 2>> x{"x"};   // (K, M)
  Output<Buffer<float, 2>> y{"y"};  // (n, M)

  void generate() {
    Func xf("xf");
    xf(k, t) = x(k, t);
    alg.define(w, xf, digits);
    y(n, t) = alg.total(n, t);

    Expr nblocks = w.dim(0).extent() / Q2_0CVnni::kBlockBytes;
    w.dim(0).set_min(0);
    w.dim(1).set_min(0);
    w.dim(1).set_stride(w.dim(0).extent());
    x.dim(0).set_min(0);
    x.dim(0).set_extent(nblocks * Q2_0CVnni::kBlockWeights);
    x.dim(1).set_min(0);
    x.dim(1).set_stride(x.dim(0).extent());
    y.dim(0).set_min(0);
    y.dim(0).set_extent(w.dim(1).extent());
    y.dim(1).set_min(0);
    y.dim(1).set_extent(x.dim(1).extent());
    y.dim(1).set_stride(y.dim(0).extent());
  }

  void schedule() {
    if (this->using_autoscheduler()) {
      const int ne = estimate_n, ke = estimate_k, me = estimate_m;
      w.set_estimates({{0, ke / Q2_0CVnni::kBlockWeights * Q2_0CVnni::kBlockBytes}, {0, ne}});
      x.set_estimates({{0, ke}, {0, me}});
      y.set_estimates({{0, ne}, {0, me}});
      return;
    }
    // Tuned for: AMD EPYC (Zen 4), 2 cores, HY-1.8B prefill chunks (M = 32).
    // The W strip of one task (rows_per_task rows, ~16-50 KB) stays in L1/L2
    // while the token tiles pass over it; X as digits (M x K x digits bytes)
    // stays in L2. With 3 digits, 2 x 2 tiles (12 int32 + 4 float accumulators)
    // measured best of 1x4 .. 4x2 (1 x T: 2-3x slower; 4 x 2 spills).
    const int vw = this->get_target().template natural_vector_size<float>();
    alg.scheduleGemm(y, n, t, w, vw, rows, tokens, rows_per_task, parallel, prefetch);
  }

private:
  Var n{"n"}, k{"k"}, t{"t"};
  Q2_0CVnni alg;
};

using Q2_0CVnniGemmF32 = Q2_0CVnniGemm<3, 2, 2>;
using Q2_0CVnniGemmA8 = Q2_0CVnniGemm<1, 2, 2>;

} // namespace

HALIDE_REGISTER_GENERATOR(Q2_0CVnniGemmF32, gemm_q2_0c_vnni)
HALIDE_REGISTER_GENERATOR(Q2_0CVnniGemmA8, gemm_q2_0c_a8_vnni)
