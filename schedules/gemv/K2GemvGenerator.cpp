//===- K2GemvGenerator.cpp - GEMV over ggml's 2-bit Q2_K and TQ2_0 --------===//
//
// Halide generators `gemv_q2_k` and `gemv_tq2_0`: y = W x for W in ggml's
// Q2_K or TQ2_0 format (hyk/kernels.h), float32 activations and results.
// Both formats pack a 256-weight block's codes the same way: byte 32 h + l
// (h < 2, l < 32) of the 64 code bytes holds, in bits 2j..2j+1 (j < 4), the
// code c of element e = 128 h + 32 j + l. They differ in what c means:
//   TQ2_0 {u8 qs[64]; f16 d}:             w = (c - 1) d
//   Q2_K  {u8 sc[16]; u8 qs[64]; f16 d; f16 dmin}, s = sc[e / 16]:
//                                         w = d (s & 15) c - dmin (s >> 4)
// The algorithm sums, per row, 32 lanes l over blocks, halves h and
// sub-positions j, so a vector of lanes reads 32 consecutive code bytes and
// 32 consecutive activations; one horizontal sum per row at the end.

#include "GemvCommon.h"
#include "Halide.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace {

using namespace Halide;

constexpr int kBlockWeights = 256;

template <bool Q2K> class K2Gemv : public Generator<K2Gemv<Q2K>> {
public:
  template <typename T> using Input = Halide::GeneratorInput<T>;
  template <typename T> using Output = Halide::GeneratorOutput<T>;

  // Rows of y per parallel task.
  GeneratorParam<int> rows_per_task{"rows_per_task", 16};
  GeneratorParam<bool> parallel{"parallel", true};
  // Problem-size estimates for Halide's autoschedulers (hyc tune's Adams2019
  // baseline; GemvCommon.h).
  GeneratorParam<int> estimate_n{"estimate_n", 2048};
  GeneratorParam<int> estimate_k{"estimate_k", 2048};

  Input<Buffer<uint8_t, 2>> w{"w"}; // (row bytes, n)
  Input<Buffer<float, 1>> x{"x"};   // (K)
  Output<Buffer<float, 1>> y{"y"};  // (n)

  static constexpr int kBlockBytes = Q2K ? 84 : 66;
  static constexpr int kCodes = Q2K ? 16 : 0;    // first code byte
  static constexpr int kScale = Q2K ? 80 : 64;   // fp16 d

  void generate() {
    Expr nblocks = w.dim(0).extent() / kBlockBytes;
    Expr row = clamp(n, 0, w.dim(1).extent() - 1);
    r = RDom(0, 2, 0, 4, "r"); // r.x = h, r.y = j
    Expr base = b * kBlockBytes;
    Expr byte = cast<int32_t>(w(base + kCodes + 32 * r.x + l, row));
    Expr c = cast<float>((byte >> (2 * r.y)) & 3);
    Expr xe = x(b * kBlockWeights + 128 * r.x + 32 * r.y + l);
    Expr d = hyk::blockScale(w, base + kScale, row);
    Expr term;
    if (Q2K) {
      // Sub-block (e / 16) = 8 h + 2 j + l / 16.
      Expr sc = cast<int32_t>(w(base + 8 * r.x + 2 * r.y + l / 16, row));
      Expr dmin = hyk::blockScale(w, base + kScale + 2, row);
      term = (d * cast<float>(sc & 15) * c - dmin * cast<float>(sc >> 4)) * xe;
    } else {
      term = d * (c - 1.0f) * xe;
    }
    block(l, b, n) = 0.0f;
    block(l, b, n) += term;
    rb = RDom(0, nblocks, "rb");
    acc(l, n) = 0.0f;
    acc(l, n) += block(l, rb, n);
    rl = RDom(0, 32, "rl");
    y(n) = 0.0f;
    y(n) += acc(rl, n);
    hyk::constrainGemvBuffers(w, x, y, nblocks, kBlockWeights);
    hyk::setGemvEstimates(w, x, y, estimate_n, estimate_k, kBlockWeights, kBlockBytes);
  }

  void schedule() {
    if (this->using_autoscheduler())
      return;
    const int vw = this->get_target().template natural_vector_size<float>();
    if (32 % vw != 0) {
      std::fprintf(stderr, "gemv_k2: the vector width must divide 32 (got %d)\n", vw);
      std::abort();
    }
    y.split(n, nt, ni, std::max(1, (int)rows_per_task), TailStrategy::GuardWithIf);
    if (parallel)
      y.parallel(nt);
    y.update().split(n, nt, ni, std::max(1, (int)rows_per_task), TailStrategy::GuardWithIf);
    if (parallel)
      y.update().parallel(nt);
    acc.compute_at(y, ni).bound(l, 0, 32).vectorize(l, vw);
    acc.update().reorder(l, rb).vectorize(l, vw);
    block.compute_at(acc, rb).bound(l, 0, 32).vectorize(l, vw);
    block.update().reorder(l, r.y, r.x).vectorize(l, vw).unroll(r.y).unroll(r.x);
  }

private:
  Var l{"l"}, b{"b"}, n{"n"}, nt{"nt"}, ni{"ni"};
  Func block{"block"}, acc{"acc"};
  RDom r, rb, rl;
};

using Q2KGemv = K2Gemv<true>;
using TQ2_0Gemv = K2Gemv<false>;

} // namespace

HALIDE_REGISTER_GENERATOR(Q2KGemv, gemv_q2_k)
HALIDE_REGISTER_GENERATOR(TQ2_0Gemv, gemv_tq2_0)
