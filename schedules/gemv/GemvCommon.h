//===- GemvCommon.h - pieces shared by the GEMV generators ----------------===//
//
// Every GEMV generator (gemv_q2_0c, gemv_q8_0 and their _i8dot forms) reads
// rows of blocks that start with a little-endian fp16 scale, takes the same
// dense w / x / y buffers, and tiles rows the same way.
//
//===----------------------------------------------------------------------===//
#ifndef HYK_SCHEDULES_GEMV_GEMVCOMMON_H
#define HYK_SCHEDULES_GEMV_GEMVCOMMON_H

#include "Halide.h"

#include <algorithm>

namespace hyk {

/// The fp16 scale at bytes [at, at+1] of row `row` of `w`, as float.
template <typename W>
Halide::Expr blockScale(const W &w, const Halide::Expr &at, const Halide::Expr &row) {
  Halide::Expr lo = Halide::cast<uint16_t>(w(at, row));
  Halide::Expr hi = Halide::cast<uint16_t>(w(at + 1, row));
  return Halide::cast<float>(Halide::reinterpret<Halide::float16_t>(lo | (hi << 8)));
}

/// The buffer contract of the flat kernel ABI: w is N dense rows of
/// `nblocks` blocks, x holds exactly the K = nblocks * blockWeights
/// activations, y one result per row; all zero-based.
template <typename W, typename X, typename Y>
void constrainGemvBuffers(W &w, X &x, Y &y, const Halide::Expr &nblocks,
                          int blockWeights) {
  w.dim(0).set_min(0);
  w.dim(1).set_min(0);
  w.dim(1).set_stride(w.dim(0).extent());
  x.dim(0).set_min(0);
  x.dim(0).set_extent(nblocks * blockWeights);
  y.dim(0).set_min(0);
  y.dim(0).set_extent(w.dim(1).extent());
}

/// Problem-size estimates for Halide's autoschedulers (hyc tune's Adams2019
/// baseline): w is n rows of k weights in blocks of `blockWeights` weights /
/// `blockBytes` bytes. Estimates never change a manually scheduled pipeline.
///
/// The pattern every GEMV generator follows, so `hyc tune` can autoschedule it:
///   GeneratorParam<int> estimate_n{"estimate_n", 2048}, estimate_k{...};
///   generate():  ...; hyk::setGemvEstimates(w, x, y, estimate_n, estimate_k, ...);
///   schedule():  if (using_autoscheduler()) return;  // before any directive
/// hyc tune then runs the generator with `-p libautoschedule_adams2019.so
/// autoscheduler=Adams2019 autoscheduler.parallelism=T estimate_n=N
/// estimate_k=K` (schedules/TuningDatabase.md).
template <typename W, typename X, typename Y>
void setGemvEstimates(W &w, X &x, Y &y, int n, int k, int blockWeights,
                      int blockBytes) {
  const int nblocks = std::max(1, k / blockWeights);
  w.set_estimates({{0, nblocks * blockBytes}, {0, std::max(1, n)}});
  x.set_estimates({{0, nblocks * blockWeights}});
  y.set_estimates({{0, std::max(1, n)}});
}

/// Whether Halide target `t` has a 4-way byte dot product (vpdpbusd: AVX-512
/// VNNI or AVX-VNNI). The x86 int8 generators build on it where it exists,
/// else on vpmaddubsw + vpmaddwd (AVX2).
inline bool hasByteDot4(const Halide::Target &t) {
  return t.has_feature(Halide::Target::AVX512_Zen4) ||
         t.has_feature(Halide::Target::AVX512_SapphireRapids) ||
         t.has_feature(Halide::Target::AVXVNNI);
}

/// Rows per parallel task, at least `unroll` and a multiple of it.
inline int rowsPerTask(int rowsPerTaskParam, int unroll) {
  return ((std::max(unroll, rowsPerTaskParam) + unroll - 1) / unroll) * unroll;
}

/// The row order of a GEMV whose tasks of `rpt` rows (a multiple of
/// `streams`) are read as `streams` runs in lockstep (the `streams` knob):
/// place p = t rpt + r S + s of the order reads row t rpt + s R + r, with
/// S = streams and R = rpt / S, so S consecutive places are one row of each
/// run. streamRow maps a place to its row, streamPlace a row to its place.
inline Halide::Expr streamRow(const Halide::Expr &p, int streams, int rpt) {
  const int R = rpt / streams;
  return (p / rpt) * rpt + (p % streams) * R + (p % rpt) / streams;
}
inline Halide::Expr streamPlace(const Halide::Expr &row, int streams, int rpt) {
  const int R = rpt / streams;
  return (row / rpt) * rpt + (row % R) * streams + (row % rpt) / R;
}

} // namespace hyk

#endif // HYK_SCHEDULES_GEMV_GEMVCOMMON_H
