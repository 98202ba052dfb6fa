//===- Q2_0CVnniGemvGenerator.cpp - Q2_0C GEMV on AVX-512 VNNI ------------===//
//
// Halide generators `gemv_q2_0c_vnni` and `gemv_q2_0c_a8_vnni`: y = W x
// (decode, one token) with W in Q2_0C and float32 x, y, on vpdpbusd; the
// algorithm is Q2_0CVnni.h's with one token. The two differ only in the
// activation precision they are registered with: 3 digits (24-bit, agrees
// with float32 math to rounding) for kernel family gemv_q2_0c, 1 digit (int8
// activations with a scale per 32, `hyc compile --activations int8`) for
// gemv_q2_0c_a8. The same flat interface as gemv_q2_0c (the float form), which is
// compute-bound at ~20-25% of this machine's memory bandwidth: here one
// shift, one mask and `digits` vpdpbusd handle 64 weights.

#include "Q2_0CVnni.h"

#include "GemvCommon.h"
#include "Halide.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace {

using namespace Halide;

template <int DefaultDigits>
class Q2_0CVnniGemv : public Generator<Q2_0CVnniGemv<DefaultDigits>> {
public:
  // (Dependent-base member templates, named for this class template.)
  template <typename T> using Input = Halide::GeneratorInput<T>;
  template <typename T> using Output = Halide::GeneratorOutput<T>;

  // ---- Knobs ------------------------------------------------------------
  // Activation precision (Q2_0CVnni.h). Not a schedule knob: it is part of
  // the kernel's semantics (fixed by the registration below; hyc tune never
  // searches it). 3 digits cost 3x the dot products of 1 for float32-like
  // precision; 1 is ggml's Q8_0 activation precision.
  GeneratorParam<int> digits{"digits", DefaultDigits};
  // Rows of y per parallel task: one task streams rows_per_task x row bytes
  // contiguously (large tasks let the hardware prefetchers run: 16 rows gave
  // ~10 GB/s from DRAM on 2 cores, 256 rows ~22 GB/s).
  GeneratorParam<int> rows_per_task{"rows_per_task", 256};
  // Rows reduced together, sharing the activation loads (more rows = more
  // interleaved memory streams; 1 measured best from DRAM).
  GeneratorParam<int> unroll{"unroll", 1};
  GeneratorParam<bool> parallel{"parallel", true};
  // Software prefetch distance, in blocks of a weight row (0: none). None by
  // default: the task's rows are one contiguous run, which the hardware
  // prefetchers follow; prefetches within a row only competed with them
  // (a8, 2 threads, from DRAM: 2048x6144 at 16.5 GB/s with 8 blocks, 22.4
  // with none; 3 blocks cost every decode shape ~30%).
  GeneratorParam<int> prefetch{"prefetch", 0};
  // Code decoding (Q2_0CVnni::setDecode): 0 shift (the default here: the
  // prebuilt kernels), 1 mask (one accumulator per plane and digit, the
  // a8q generators' default); a hyc tune knob of gemv_q2_0c_vnni.
  GeneratorParam<int> decode{"decode", 0};
  // Shape estimates for autoschedulers (hyc tune's Adams2019 baseline).
  GeneratorParam<int> estimate_n{"estimate_n", 2048};
  GeneratorParam<int> estimate_k{"estimate_k", 2048};
  // Fixed shape: when nonzero, the pipeline only accepts this K (a multiple
  // of 512) / this N, which become compile-time constants; 0 = any (the
  // prebuilt kernels). Not a schedule knob: hyc tune sets both to the pair's
  // shape for its Adams2019 baseline, which otherwise fails to compile
  // (Adams2019 unrolls the loops over a row's blocks, whose count is then
  // symbolic: "Can only unroll for loops over a constant extent"), and for
  // its candidates (schedules/TuningDatabase.md). Another shape fails
  // Halide's buffer-constraint check on entry, before anything is read:
  // halide_error, then HYK_ERR_KERNEL from the flat runner if the error
  // handler returns (Halide's default handler aborts).
  GeneratorParam<int> fixed_k{"fixed_k", 0};
  GeneratorParam<int> fixed_n{"fixed_n", 0};

  Input<Buffer<uint8_t, 2>> w{"w"};
  Input<Buffer<float, 1>> x{"x"};
  Output<Buffer<float, 1>> y{"y"};

  void generate() {
    Func x2("x2");
    x2(k, t) = x(k);
    alg.setDecode(decode);
    alg.define(w, x2, digits);
    y(n) = alg.total(n, 0);
    Expr nblocks = w.dim(0).extent() / hyk::Q2_0CVnni::kBlockBytes;
    hyk::constrainGemvBuffers(w, x, y, nblocks, hyk::Q2_0CVnni::kBlockWeights);
    // x's and y's extents and w's row stride follow from w's.
    hyk::Q2_0CVnni::fixShape(w, fixed_n, fixed_k);
  }

  void schedule() {
    if (this->using_autoscheduler()) {
      const int ne = estimate_n, ke = estimate_k;
      hyk::Q2_0CVnni::estimateWeights(w, ne, ke);
      x.set_estimates({{0, ke}});
      y.set_estimates({{0, ne}});
      return;
    }
    // Tuned for: AMD EPYC (Zen 4), 2 cores, HY-1.8B decode shapes (K 2048 and
    // 6144). Per 64 code bytes and row: 1 load, 3 byte shifts (LLVM picks
    // vgf2p8affineqb), 4 masks, 4 x digits vpdpbusd; per block and row a
    // convert, a multiply and an FMA per digit. `unroll` rows share each
    // activation vector load.
    const int vw = this->get_target().template natural_vector_size<float>();
    alg.scheduleGemv(y, n, w, vw, rows_per_task, unroll, parallel, prefetch);
  }

private:
  Var n{"n"}, k{"k"}, t{"t"};
  hyk::Q2_0CVnni alg;
};

using Q2_0CVnniGemvF32 = Q2_0CVnniGemv<3>;
using Q2_0CVnniGemvA8 = Q2_0CVnniGemv<1>;

} // namespace

HALIDE_REGISTER_GENERATOR(Q2_0CVnniGemvF32, gemv_q2_0c_vnni)
HALIDE_REGISTER_GENERATOR(Q2_0CVnniGemvA8, gemv_q2_0c_a8_vnni)
