//===- I8DotActivations.h - float activations as int8 digits --------------===//
//
// Shared by the int8-dot-product GEMV generators (gemv_*_i8dot). They run the
// weight x activation products on 4-way int8 dot-product instructions (NEON
// sdot), so the float activations are first turned into integers, once per
// call:
//
//   block b of `block` activations:  sx_b = max|x_b| / qmax    (0 if all zero)
//   q_i = round(x_i / sx_b)                                    |q_i| <= qmax
//   q_i = sum_d 256^(D-1-d) t_d,i   with balanced base-256 digits t in [-128, 127]
//
// so sum c_i q_i = sum_d 256^(D-1-d) dot(c, t_d): D int8 dot products per
// weight vector, each exact in int32. The only approximation is
// x_i -> sx_b q_i, a step of 1/qmax of the block's largest magnitude:
//   D = 1: qmax 127 (int8 activations; used by the VNNI kernels, Q2_0CVnni.h,
//          with groups of 32 instead of blocks).
//   D = 2: qmax 32000 (16-bit activations), relative step ~3e-5. Measured on
//          the tiny HY model: logits within ~5e-4 of float64 (std 1.2).
//   D = 3: qmax 8e6 (24-bit), relative step ~1.3e-7: as precise as float32
//          x itself, for 1.5x the dot products.
// (One int8 digit would give 1/127 and move logits by ~1e-2.) The digit
// count is a GeneratorParam of the generators (`digits`).
#ifndef HYK_SCHEDULES_GEMV_I8DOTACTIVATIONS_H
#define HYK_SCHEDULES_GEMV_I8DOTACTIVATIONS_H

#include "Halide.h"

#include <cstdio>
#include <cstdlib>

namespace hyk {

/// The quantized activations of one pipeline call.
class I8DotActivations {
public:
  Halide::Func step{"step"}; ///< step(b): sx_b, float
  Halide::Func q{"q"};       ///< q(i): the integer of x(i), int32
  Halide::Func qsum{"qsum"}; ///< qsum(b): sum of q over block b, exact (int64)

  /// Largest |q| for a digit count: keeps the top digit within int8 with
  /// margin for the rounding of x / sx_b.
  static int qmax(int digits) {
    return digits == 1 ? 127 : digits == 2 ? 32000 : 8000000;
  }

  /// Defines the Funcs for blocks of `block` consecutive entries of x.
  void define(Halide::Func x, int block, int digits) {
    using namespace Halide;
    if (digits != 2 && digits != 3) {
      std::fprintf(stderr, "i8dot: digits must be 2 or 3 (got %d)\n", digits);
      std::abort();
    }
    const float qm = float(qmax(digits));
    Var b("b"), i("i");
    rmax = RDom(0, block, "rmax");
    amax(b) = 0.0f;
    amax(b) = max(amax(b), abs(x(b * block + rmax)));
    inv(b) = select(amax(b) > 0.0f, qm / amax(b), 0.0f);
    step(b) = amax(b) * (1.0f / qm);
    // Round to nearest even (frintn); |x * inv| <= qmax + rounding.
    q(i) = cast<int32_t>(round(x(i) * inv(i / block)));
    rsum = RDom(0, block, "rsum");
    qsum(b) = cast<int64_t>(0);
    qsum(b) += cast<int64_t>(q(b * block + rsum));
  }

  /// Digit d (0 = most significant) of D of the balanced base-256 form of qi.
  static Halide::Expr digit(Halide::Expr qi, int d, int digits) {
    using namespace Halide;
    Expr rest = qi, t;
    for (int k = digits - 1; k >= d; --k) {
      t = k == 0 ? rest : ((rest + 128) & 255) - 128;
      rest = (rest - t) >> 8;
    }
    return cast<int8_t>(t);
  }

  /// sum_d 256^(D-1-d) * part(d) in float (each part exact below 2^24; the
  /// powers of two are exact, the sum rounds once per digit).
  template <typename F>
  static Halide::Expr combine(int digits, F part) {
    using namespace Halide;
    Expr s = cast<float>(part(0));
    for (int d = 1; d < digits; ++d)
      s = s * 256.0f + cast<float>(part(d));
    return s;
  }

  /// Per call, vectorized: everything here is O(K), the weights O(N K).
  void schedule(int vw) {
    amax.compute_root();
    amax.update().atomic().vectorize(rmax, vw);
    inv.compute_root();
    step.compute_root();
    q.compute_root().vectorize(q.args()[0], vw);
    qsum.compute_root();
    qsum.update().atomic().vectorize(rsum, vw);
  }

private:
  Halide::Func amax{"amax"}, inv{"inv"};
  Halide::RDom rmax, rsum;
};

} // namespace hyk

#endif // HYK_SCHEDULES_GEMV_I8DOTACTIVATIONS_H
