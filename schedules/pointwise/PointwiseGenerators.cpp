//===- PointwiseGenerators.cpp - rms_norm, rope and swiglu ---------------===//
//
// Halide generators for the per-token ops between the matmuls (the flat ABI
// is in hyk/kernels.h; schedules/pointwise/PointwiseShim.c wraps them):
//
//   rms_norm  y(i, g) = x(i, g) / sqrt(mean_i x(i, g)^2 + eps) * gamma(i)
//             over groups g of G elements (G = the whole row for the
//             pre-norms, head_dim for the per-head q/k norms);
//   rope      NEOX rotary embedding per head of D: for i < D/2,
//             y(i) = x(i) c(i) - x(i + D/2) s(i), y(i + D/2) = x(i + D/2) c(i) + x(i) s(i),
//             with the angle table c, s (D/2 cosines and sines, computed by
//             the caller in float64 from the position and base);
//   swiglu    y(i) = g(i) / (1 + exp(-g(i))) * u(i).
//
// Every output may alias its input (the compiler runs them in place): rms_norm
// reads a whole group for its sum before writing it, rope computes a head's
// rotation into a scratch row before storing it.
//
// Knobs (GeneratorParams): `vectors`, how many native vectors each loop step
// covers (the unroll of the vectorized loops). The ops are O(n) on a few
// thousand floats per token, below the cost of a parallel fork-join, so none
// is parallel.
//
//===----------------------------------------------------------------------===//

#include "Halide.h"

#include <algorithm>

namespace {

using namespace Halide;

/// Constrains `b` to `rows` dense rows of `inner` elements from (0, 0).
template <typename B> void denseRows(B &b, const Expr &inner, const Expr &rows) {
  b.dim(0).set_min(0);
  b.dim(0).set_extent(inner);
  b.dim(1).set_min(0);
  b.dim(1).set_extent(rows);
  b.dim(1).set_stride(inner);
}

/// Problem size for Halide's autoschedulers (hyc tune's Adams2019
/// baseline): N rows (groups, heads) of K floats, as the tuner keys the op.
struct Estimates {
  GeneratorParam<int> n{"estimate_n", 1};
  GeneratorParam<int> k{"estimate_k", 2048};
};

/// Vector width of `vectors` native float vectors of `target`.
int lanesOf(const Target &target, int vectors) {
  return target.natural_vector_size<float>() * std::max(1, vectors);
}

class RmsNorm : public Generator<RmsNorm> {
public:
  GeneratorParam<int> vectors{"vectors", 2};
  Estimates est;

  Input<Buffer<float, 2>> x{"x"};     // (G, groups)
  Input<Buffer<float, 1>> gamma{"gamma"}; // (G)
  Input<float> eps{"eps"};
  Output<Buffer<float, 2>> y{"y"};    // (G, groups)

  void generate() {
    Expr g = x.dim(0).extent();
    // The sum of squares in `vw` partial lanes over the whole steps of vw
    // elements (element k goes to lane k % vw: dense vector loads), the
    // remaining g % vw elements one by one, then one horizontal sum.
    vw = lanesOf(get_target(), vectors);
    if (using_autoscheduler()) {
      // The same sum as one reduction, its order the autoscheduler's: its
      // analysis fails on the tail's RDom, empty when vw divides G.
      RDom r(0, g, "r");
      ss(grp) = 0.0f;
      ss(grp) += x(r, grp) * x(r, grp);
    } else {
      sumOfSquares(g);
    }
    inv(grp) = 1.0f / sqrt(ss(grp) / cast<float>(g) + eps);
    y(i, grp) = x(i, grp) * inv(grp) * gamma(i);

    denseRows(x, g, x.dim(1).extent());
    gamma.dim(0).set_min(0);
    gamma.dim(0).set_extent(g);
    denseRows(y, g, x.dim(1).extent());
    if (using_autoscheduler()) {
      x.set_estimates({{0, int(est.k)}, {0, int(est.n)}});
      gamma.set_estimates({{0, int(est.k)}});
      eps.set_estimate(1e-6f);
      y.set_estimates({{0, int(est.k)}, {0, int(est.n)}});
    }
  }

  /// ss(grp): the manual schedule's partial lanes, then the tail.
  void sumOfSquares(const Expr &g) {
    Expr steps = g / vw, tail = g - steps * vw;
    rs = RDom(0, steps, "rs");
    Expr xv = x(rs * vw + lane, grp);
    part(lane, grp) = 0.0f;
    part(lane, grp) += xv * xv;
    rl = RDom(0, vw, "rl");
    rt = RDom(0, tail, "rt");
    Expr xt = x(steps * vw + rt, grp);
    ss(grp) = 0.0f;
    ss(grp) += part(rl, grp);
    ss(grp) += xt * xt;
  }

  void schedule() {
    if (using_autoscheduler())
      return;
    // Per group: the partial sums, the total, then the group's outputs (so y
    // may alias x).
    part.compute_at(y, grp).bound(lane, 0, vw).vectorize(lane);
    part.update().reorder(lane, rs).vectorize(lane);
    ss.compute_at(y, grp);
    ss.update(0).atomic().vectorize(rl);
    ss.update(1).unscheduled(); // the tail: fewer than vw elements, scalar
    inv.compute_at(y, grp);
    y.vectorize(i, vw, TailStrategy::GuardWithIf);
  }

private:
  int vw = 1;
  Var i{"i"}, grp{"grp"}, lane{"lane"};
  Func part{"part"}, ss{"ss"}, inv{"inv"};
  RDom rs, rl, rt;
};

class Rope : public Generator<Rope> {
public:
  GeneratorParam<int> vectors{"vectors", 2};
  Estimates est;

  Input<Buffer<float, 2>> x{"x"};      // (D, heads)
  Input<Buffer<float, 2>> table{"table"}; // (D/2, 2): cosines, then sines
  Output<Buffer<float, 2>> y{"y"};     // (D, heads)

  void generate() {
    Expr half = table.dim(0).extent();
    // Clamped so that bounds inference sees in-range indices (a select's
    // bounds are the union of both branches').
    Expr lo = i < half;
    Expr j = clamp(select(lo, i, i - half), 0, half - 1);
    Expr partner = clamp(select(lo, i + half, i - half), 0, 2 * half - 1);
    Expr c = table(j, 0), s = table(j, 1);
    Expr xs = x(partner, h);
    rot(i, h) = x(i, h) * c + select(lo, -xs, xs) * s;
    y(i, h) = rot(i, h);

    denseRows(table, half, 2);
    denseRows(x, 2 * half, x.dim(1).extent());
    denseRows(y, 2 * half, x.dim(1).extent());
    if (using_autoscheduler()) {
      x.set_estimates({{0, int(est.k)}, {0, int(est.n)}});
      table.set_estimates({{0, int(est.k) / 2}, {0, 2}});
      y.set_estimates({{0, int(est.k)}, {0, int(est.n)}});
    }
  }

  void schedule() {
    if (using_autoscheduler())
      return;
    const int vw = lanesOf(get_target(), vectors);
    // Each head's rotation into a scratch row first: in place, y(i) would
    // otherwise overwrite x(i) before y(i + D/2) reads it.
    rot.compute_at(y, h);
    // Common head sizes get their own loops: with D/2 a constant, the row
    // splits into its two halves (`part`, unrolled), so `lo` is a constant
    // in each and the partner of a vector of i is a dense vector too. In the
    // generic form below the partner index is a select, which became a
    // gather of single floats (HY's 16 heads of 128: ~5 us a call, most
    // of the serial time of rope in a decode step).
    const Expr half = table.dim(0).extent();
    for (int hv : {32, 64, 128}) {
      if (hv % vw != 0)
        continue;
      rot.specialize(half == hv).split(i, part, j, hv).unroll(part).vectorize(j, vw);
      y.specialize(half == hv).split(i, part, j, hv).unroll(part).vectorize(j, vw);
    }
    rot.vectorize(i, vw, TailStrategy::GuardWithIf);
    y.vectorize(i, vw, TailStrategy::GuardWithIf);
  }

private:
  Var i{"i"}, h{"h"}, part{"part"}, j{"j"};
  Func rot{"rot"};
};

class Swiglu : public Generator<Swiglu> {
public:
  GeneratorParam<int> vectors{"vectors", 2};
  Estimates est;

  Input<Buffer<float, 1>> gate{"gate"};
  Input<Buffer<float, 1>> up{"up"};
  Output<Buffer<float, 1>> y{"y"};

  void generate() {
    Expr g = gate(i);
    y(i) = g / (1.0f + exp(-g)) * up(i);
    gate.dim(0).set_min(0);
    up.dim(0).set_min(0);
    up.dim(0).set_extent(gate.dim(0).extent());
    y.dim(0).set_min(0);
    y.dim(0).set_extent(gate.dim(0).extent());
    if (using_autoscheduler()) {
      const int n = int(est.n) * int(est.k);
      gate.set_estimates({{0, n}});
      up.set_estimates({{0, n}});
      y.set_estimates({{0, n}});
    }
  }

  void schedule() {
    if (using_autoscheduler())
      return;
    y.vectorize(i, lanesOf(get_target(), vectors), TailStrategy::GuardWithIf);
  }

private:
  Var i{"i"};
};

/// Rounding to int8 as lowbit.quantize defines it (the int8-activation
/// kernels' groups, hyk/kernels.h): group g = 16 b + l of a row holds the
/// elements 512 b + 256 h + 16 l + r (h < 2, r < 16); its step is
/// s = max|v| / 127 (as max|v| * (1/127) in float32), and q = round-half-even(
/// v * (127 / max|v|)), 0 for an all-zero group. With `norm`, v is rms_norm's
/// output (x * (1 / sqrt(mean(x^2) + eps)) * gamma over the whole row), never
/// stored: lowbit.rms_norm_quantize. K must be a multiple of 512.
template <bool Norm> class Quantize : public Generator<Quantize<Norm>> {
public:
  template <typename T> using Input = Halide::GeneratorInput<T>;
  template <typename T> using Output = Halide::GeneratorOutput<T>;

  // As rms_norm's, so rms_norm_quantize sums the squares in the same order
  // (its rounding equals quantize's of rms_norm's output, bit for bit).
  GeneratorParam<int> vectors{"vectors", 2};
  Estimates est;

  Input<Buffer<float, 2>> x{"x"};          // (K, rows)
  Input<Buffer<float, 1>> gamma{"gamma"};  // (K); unused without Norm
  Input<float> eps{"eps"};                 // unused without Norm
  Output<Buffer<int8_t, 2>> q{"q"};        // (K, rows)
  Output<Buffer<float, 2>> steps{"steps"}; // (K / 32, rows)

  void generate() {
    Expr k = x.dim(0).extent();
    vw = lanesOf(this->get_target(), vectors);
    if (Norm) {
      Expr nsteps = k / vw; // K % 512 == 0: whole vectors
      rs = RDom(0, nsteps, "rs");
      Expr xv = x(rs * vw + lane, row);
      part(lane, row) = 0.0f;
      part(lane, row) += xv * xv;
      rl = RDom(0, vw, "rl");
      ss(row) = 0.0f;
      ss(row) += part(rl, row);
      inv(row) = 1.0f / sqrt(ss(row) / cast<float>(k) + eps);
      v(e, row) = x(e, row) * inv(row) * gamma(e);
    } else {
      v(e, row) = x(e, row);
    }
    // Maxima of the 16-element runs, then of each group's two runs.
    ri = RDom(0, 16, "ri");
    run(t, row) = 0.0f;
    run(t, row) = max(run(t, row), abs(v(16 * t + ri, row)));
    Expr first = 32 * (g / 16) + g % 16; // run (b, h = 0, l); h = 1 is 16 runs later
    Expr m = max(run(first, row), run(first + 16, row));
    steps(g, row) = m * (1.0f / 127.0f);
    scale(g, row) = select(m > 0.0f, 127.0f / m, 0.0f);
    Expr group = 16 * (e / 512) + (e % 256) / 16;
    q(e, row) = cast<int8_t>(round(v(e, row) * scale(group, row)));

    denseRows(x, k, x.dim(1).extent());
    gamma.dim(0).set_min(0);
    if (Norm)
      gamma.dim(0).set_extent(k);
    denseRows(q, k, x.dim(1).extent());
    denseRows(steps, k / 32, x.dim(1).extent());
    if (this->using_autoscheduler()) {
      x.set_estimates({{0, int(est.k)}, {0, int(est.n)}});
      gamma.set_estimates({{0, int(est.k)}});
      eps.set_estimate(1e-6f);
      q.set_estimates({{0, int(est.k)}, {0, int(est.n)}});
      steps.set_estimates({{0, int(est.k) / 32}, {0, int(est.n)}});
    }
  }

  void schedule() {
    if (this->using_autoscheduler())
      return;
    // Per row: the norm's sum, the normalized row, the run maxima, the
    // group scales; then the row's q and steps.
    if (Norm) {
      part.compute_at(q, row).bound(lane, 0, vw).vectorize(lane);
      part.update().reorder(lane, rs).vectorize(lane);
      ss.compute_at(q, row);
      ss.update().atomic().vectorize(rl);
      inv.compute_at(q, row);
      v.compute_at(q, row).vectorize(e, vw);
    }
    run.compute_at(q, row);
    run.update().atomic().vectorize(ri);
    scale.compute_at(q, row).vectorize(g, 16);
    steps.compute_with(q, row);
    steps.vectorize(g, 16, TailStrategy::GuardWithIf);
    q.vectorize(e, vw, TailStrategy::GuardWithIf);
  }

private:
  int vw = 1;
  Var e{"e"}, row{"row"}, lane{"lane"}, t{"t"}, g{"g"};
  Func part{"part"}, ss{"ss"}, inv{"inv"}, v{"v"}, run{"run"}, scale{"scale"};
  RDom rs, rl, ri;
};

} // namespace

HALIDE_REGISTER_GENERATOR(Quantize<false>, quantize)
HALIDE_REGISTER_GENERATOR(Quantize<true>, rms_norm_quantize)
HALIDE_REGISTER_GENERATOR(RmsNorm, rms_norm)
HALIDE_REGISTER_GENERATOR(Rope, rope)
HALIDE_REGISTER_GENERATOR(Swiglu, swiglu)
