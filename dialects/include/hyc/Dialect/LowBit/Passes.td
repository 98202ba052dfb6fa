//===- Passes.td - lowbit passes and conversions -----------*- tablegen -*-===//
#ifndef HYC_DIALECT_LOWBIT_PASSES
#define HYC_DIALECT_LOWBIT_PASSES

include "mlir/Pass/PassBase.td"

def ConvertLowBitToLoopsPass : Pass<"convert-lowbit-to-loops", "::mlir::ModuleOp"> {
  let summary = "Lower lowbit ops to kernel calls and scf/arith/math loops";
  let description = [{
    Rewrites every lowbit op into code the standard MLIR-to-LLVM pipeline
    handles: `lowbit.weight` becomes a `memref.view` of the weights blob
    (packed types become i8/f16/f32 memrefs), `lowbit.matmul` over Q2_0C
    weights becomes a call to the kernel selected for the target (a Halide
    AOT kernel with a flat C ABI, e.g. `hyk_gemv_q2_0c_avx512`), and the
    remaining ops (embedding, rms_norm, rope, kv_store, attention, swiglu,
    add, matmul over f16/f32 weights) become scf.for loop nests over
    memref loads and stores.

    Example: `lowbit.matmul %x, %w, %y` with `%w : !lowbit.packed<q2_0c,
    512x512, ...>` becomes
    `func.call @hyk_gemv_q2_0c_avx2(%wp, %xp, %yp, %c512, %c512)`.
  }];
  let options = [
    Option<"kernelIsa", "kernel-isa", "std::string", /*default=*/"\"avx2\"",
           "ISA suffix of the matmul kernels to call (avx2, avx512)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::func::FuncDialect",
    "::mlir::math::MathDialect", "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect", "::mlir::LLVM::LLVMDialect",
  ];
}

#endif // HYC_DIALECT_LOWBIT_PASSES
