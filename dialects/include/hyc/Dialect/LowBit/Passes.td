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
           "ISA suffix of the matmul kernels to call (avx2, avx512, neon)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::func::FuncDialect",
    "::mlir::math::MathDialect", "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect", "::mlir::LLVM::LLVMDialect",
    "::mlir::vector::VectorDialect",
  ];
}

def FuseMatmulsPass : Pass<"lowbit-fuse-matmuls", "::mlir::func::FuncOp"> {
  let summary = "Fuse matmuls that share an input into one (q/k/v, gate/up)";
  let description = [{
    Two `lowbit.matmul`s that follow each other (only pure ops between them),
    read the same activations, and whose weights are adjacent in the weights
    blob (same format and row length, the second starting where the first
    ends) and whose outputs are adjacent `memref.view`s of one buffer, are
    replaced by one matmul over the concatenated weight rows writing the
    concatenated output. Repeated, this turns q, k, v into one projection and
    gate, up into one: one kernel launch instead of three (or two), and one
    pass over the activations.

    ```mlir
    lowbit.matmul %h, %wq, %q : ...   // wq at offset 0, q at arena byte 0
    lowbit.matmul %h, %wk, %k : ...   // wk at offset |wq|, k right after q
    ```
    becomes
    ```mlir
    %wqk = lowbit.weight %blob {name = "wq+wk", offset = 0 : i64} : ...
    %qk = memref.view %arena[%c0][] : memref<...xi8> to memref<(Nq+Nk)xf32>
    lowbit.matmul %h, %wqk, %qk : ...
    ```
  }];
}

def SelectKernelsPass : Pass<"lowbit-select-kernels", "::mlir::ModuleOp"> {
  let summary = "Choose each matmul's kernel and schedule from the tuning database";
  let description = [{
    Annotates every `lowbit.matmul` over weights that have kernels (Q2_0C,
    Q8_0; Q2_K and TQ2_0 have none yet and stay loops) with the
    kernel family that implements it (`hyc.kernel`, e.g. "gemv_q2_0c") and
    the schedule to use (`hyc.schedule`): the GeneratorParams string the
    tuning database recorded for (kernel, N, K, target), or "default" when
    the database has no entry (or no database is given). The database is the
    versioned JSON file `hyc tune` writes (format in
    schedules/TuningDatabase.md); a malformed file is an error naming it.

    With `activations=int8` the Q2_0C and Q8_0 matmuls get the
    int8-activation families instead (`gemv_q2_0c_a8`, `gemm_q2_0c_a8`,
    `gemv_q8_0_a8`): their kernels round the activations to int8 with a scale
    per group of 32 before the products
    (schedules/include/hyk/kernels.h states the exact rounding). That changes
    the numbers the library computes, so it is an explicit choice of the
    driver (`hyc compile --activations`), never a tuning decision.

    ```mlir
    lowbit.matmul %x, %w, %y {hyc.kernel = "gemv_q2_0c",
                              hyc.schedule = "rows_per_task=16,unroll=2"} : ...
    ```
  }];
  let options = [
    Option<"activations", "activations", "std::string", /*default=*/"\"f32\"",
           "precision of the 2-bit matmuls' activations: f32 or int8">,
    Option<"tuningDb", "tuning-db", "std::string", /*default=*/"\"\"",
           "path of the tuning database (JSON); empty: default schedules">,
    Option<"target", "target", "std::string", /*default=*/"\"\"",
           "target name the database entries must match (e.g. x86-64-avx512)">,
  ];
}

def PackWeightsPass : Pass<"lowbit-pack-weights", "::mlir::ModuleOp"> {
  let summary = "Give weights the layout of the kernels that read them";
  let description = [{
    A weight (`lowbit.weight`) whose every reader is a `lowbit.qmatmul` with
    the default schedule of a kernel family that has a repacked form on
    `kernel-isa` is given that form's layout: its type gains `tile_rows = R`
    (!lowbit.packed). Today that is Q2_0C/r8 (tiles of 8 rows, scales then
    code runs; schedules/include/hyk/kernels.h) for `gemv_q2_0c_a8` and
    `gemm_q2_0c_a8` on avx512, whose r8 kernels read a tile of 8 rows as one
    stream.

    Weight ops are grouped by the blob bytes they cover (the decode step and
    the prefill chunk name the same tensors, possibly fused differently); a
    group is repacked as a whole, only when every op in it qualifies, all
    have one row length, and each op's range lies on the group's tile grid.
    Each repacked group is recorded in the module attribute
    `lowbit.repacked_weights` (offset, bytes, row_bytes, tile_rows, format),
    from which the driver converts those bytes when it writes the weights
    blob. The matrix keeps its size, so no offset changes.

    ```mlir
    %w = lowbit.weight %blob {name = "blk.0.attn_output.weight", offset = 0 : i64}
        : memref<532480xi8> -> !lowbit.packed<q2_0c, 2048x2048, block = 512, scales = f16_per_block>
    lowbit.qmatmul %q, %s, %w, %y {hyc.kernel = "gemv_q2_0c_a8", hyc.schedule = "default"} : ...
    ```
    becomes (with `kernel-isa=avx512`)
    ```mlir
    %w = lowbit.weight %blob {...} : memref<532480xi8>
        -> !lowbit.packed<q2_0c, 2048x2048, block = 512, scales = f16_per_block, tile_rows = 8>
    ```
    and the module's `lowbit.repacked_weights` gets the entry `offset = 0,
    bytes = 532480, row_bytes = 520, tile_rows = 8, format = "q2_0c"`.
  }];
  let options = [
    Option<"kernelIsa", "kernel-isa", "std::string", /*default=*/"\"avx2\"",
           "ISA suffix of the kernels the module will call (avx2, avx512, neon, sme2)">,
  ];
}

def PlanMemoryPass : Pass<"lowbit-plan-memory", "::mlir::ModuleOp"> {
  let summary = "Place every activation buffer in one static arena";
  let description = [{
    Gives each `lowbit.buffer` of the module a fixed, `alignment`-aligned
    byte offset in the activation arena and replaces it with a `memref.view`
    of the function argument marked `lowbit.arena` (views of the buffer are
    folded into views of the arena). The arena's size becomes static: every
    arena argument is retyped to `memref<Nxi8>`, and the module records N as
    `lowbit.arena_bytes`, which the library's descriptor reports to the
    runtime.

    The plan:
    - shared buffers (one slot per name, the same size everywhere) come
      first, in order of first appearance;
    - each function's local buffers are live from the first to the last op
      of the function body that uses them (through views; a use nested in a
      loop counts at the loop). Buffers whose lifetimes do not overlap share
      memory: largest first, each at the lowest offset free of every
      overlapping buffer already placed. A function with more than one block,
      or that passes a buffer to a call, keeps its buffers live throughout;
    - a function's local buffers start above the highest byte used by any
      function it calls (callees first), so a call never overwrites its
      caller's live buffers.

    Errors: buffers in a function with no (or more than one) `lowbit.arena`
    argument, a shared name with two sizes, recursion.

    ```mlir
    func.func @f(%arena: memref<?xi8> {lowbit.arena}) {
      %a = lowbit.buffer {name = "a"} : memref<256xi8>
      ...
    ```
    becomes
    ```mlir
    func.func @f(%arena: memref<256xi8>) {
      %c0 = arith.constant 0 : index
      %a = memref.view %arena[%c0][] : memref<256xi8> to memref<256xi8>
    ```
  }];
  let options = [
    Option<"alignment", "alignment", "int64_t", /*default=*/"64",
           "byte alignment of every buffer (a power of two)">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::memref::MemRefDialect"];
}

def QuantizeActivationsPass : Pass<"lowbit-quantize-activations", "::mlir::func::FuncOp"> {
  let summary = "Make the int8 rounding of the activations an op of its own";
  let description = [{
    Every `lowbit.matmul` that `lowbit-select-kernels` gave an int8-activation
    Q2_0C kernel (`gemv_q2_0c_a8`, `gemm_q2_0c_a8`) with the default schedule
    becomes a `lowbit.quantize` of its input into int8 buffers (one
    `lowbit.buffer` pair per activation shape and function: `a8.q.*`,
    `a8.steps.*`) and a `lowbit.qmatmul` over them, with the same kernel and
    schedule attributes; convert-lowbit-to-loops then calls the kernels' `_a8q`
    entry points, which skip the rounding they would otherwise do on every
    call. The numbers do not change (the rounding is the same). Matmuls with
    a tuned schedule keep rounding inside their kernel (the tuned pipelines
    take float input).

    ```mlir
    lowbit.matmul %h, %w, %y {hyc.kernel = "gemv_q2_0c_a8", hyc.schedule = "default"} : ...
    ```
    becomes
    ```mlir
    lowbit.quantize %h, %hq, %hs {groups = "q2_0c_lanes"} : ...
    lowbit.qmatmul %hq, %hs, %w, %y {hyc.kernel = "gemv_q2_0c_a8", hyc.schedule = "default"} : ...
    ```
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::memref::MemRefDialect"];
}

def FuseNormQuantizePass : Pass<"lowbit-fuse-norm-quantize", "::mlir::func::FuncOp"> {
  let summary = "Fuse rms_norm into the activation quantization that follows it";
  let description = [{
    A `lowbit.rms_norm` (over whole rows, not in place) directly
    followed (only pure ops between) by a `lowbit.quantize` of its result
    becomes one `lowbit.rms_norm_quantize`, provided the result's
    `lowbit.buffer` is otherwise only written by rms_norms and read by
    quantizes: its float values are then never needed, and the buffer is
    removed once unused. The pre-attention and pre-FFN norms of decode (a
    vector) and of prefill chunks (M rows) are the case: the normalized
    hidden state is produced, rounded to int8 and consumed without a float32
    round trip through memory.

    ```mlir
    lowbit.rms_norm %x, %g, %h {eps = 1.0e-05 : f32} : ...
    lowbit.quantize %h, %hq, %hs {groups = "q2_0c_lanes"} : ...
    ```
    becomes
    ```mlir
    lowbit.rms_norm_quantize %x, %g, %hq, %hs {eps = 1.0e-05 : f32, groups = "q2_0c_lanes"} : ...
    ```
  }];
}

#endif // HYC_DIALECT_LOWBIT_PASSES
