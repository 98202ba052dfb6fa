// RUN: hyc-opt %s -lowbit-select-kernels="tuning-db=%S/Inputs/tuning.json target=x86-64-avx512" | FileCheck %s
// RUN: hyc-opt %s -lowbit-select-kernels | FileCheck %s --check-prefix=NODB
// RUN: not hyc-opt %s -lowbit-select-kernels="tuning-db=%S/Inputs/bad-version.json target=x86-64-avx512" 2>&1 | FileCheck %s --check-prefix=VERSION
// RUN: not hyc-opt %s -lowbit-select-kernels="tuning-db=%S/Inputs/bad-entry.json target=x86-64-avx512" 2>&1 | FileCheck %s --check-prefix=ENTRY
// RUN: not hyc-opt %s -lowbit-select-kernels="tuning-db=%S/Inputs/missing.json target=x86-64-avx512" 2>&1 | FileCheck %s --check-prefix=MISSING

// The (64, 512) matmul has an entry for this target: its schedule, with the
// parameters in name order. The (32, 512) one only has an avx2 entry: default.
// The f16 matmul has no kernel family: untouched.
// CHECK-LABEL: func.func @select
// CHECK: lowbit.matmul {{.*}} {hyc.kernel = "gemv_q2_0c", hyc.schedule = "rows_per_task=16,unroll=2"} : memref<512xf32>, !lowbit.packed<q2_0c, 64x512
// CHECK: lowbit.matmul {{.*}} {hyc.kernel = "gemv_q2_0c", hyc.schedule = "default"} : memref<512xf32>, !lowbit.packed<q2_0c, 32x512
// CHECK: lowbit.matmul %{{[^{]*}} : memref<512xf32>, !lowbit.packed<f16, 8x512>

// NODB-COUNT-2: hyc.schedule = "default"

// VERSION: unsupported version (this hyc reads version 1)
// ENTRY: entry #0 needs kernel, target, n, k and schedule
// MISSING: cannot read tuning database '{{.*}}missing.json'
func.func @select(%a: !lowbit.packed<q2_0c, 64x512>, %b: !lowbit.packed<q2_0c, 32x512>,
                  %c: !lowbit.packed<f16, 8x512>, %x: memref<512xf32>,
                  %y: memref<64xf32>, %z: memref<32xf32>, %u: memref<8xf32>) {
  lowbit.matmul %x, %a, %y : memref<512xf32>, !lowbit.packed<q2_0c, 64x512>, memref<64xf32>
  lowbit.matmul %x, %b, %z : memref<512xf32>, !lowbit.packed<q2_0c, 32x512>, memref<32xf32>
  lowbit.matmul %x, %c, %u : memref<512xf32>, !lowbit.packed<f16, 8x512>, memref<8xf32>
  return
}

// Prefill (several activation rows): a GEMM on targets that have one for the
// format (x86-64-avx512, aarch64-neon, aarch64-sme2: gemm_q2_0c), one GEMV per
// row elsewhere.
// RUN: hyc-opt %s -lowbit-select-kernels="target=x86-64-avx512" | FileCheck %s --check-prefix=GEMM
// RUN: hyc-opt %s -lowbit-select-kernels="target=aarch64-neon" | FileCheck %s --check-prefix=GEMM
// RUN: hyc-opt %s -lowbit-select-kernels="target=aarch64-sme2" | FileCheck %s --check-prefix=GEMM
// RUN: hyc-opt %s -lowbit-select-kernels="target=x86-64-avx2" | FileCheck %s --check-prefix=NOGEMM
// GEMM-LABEL: func.func @prefill
// GEMM: lowbit.matmul {{.*}} {hyc.kernel = "gemm_q2_0c", hyc.schedule = "default"} : memref<4x512xf32>
// GEMM: lowbit.matmul {{.*}} {hyc.kernel = "gemv_q2_0c", hyc.schedule = "default"} : memref<1x512xf32>
// NOGEMM-LABEL: func.func @prefill
// NOGEMM: lowbit.matmul {{.*}} {hyc.kernel = "gemv_q2_0c", hyc.schedule = "default"} : memref<4x512xf32>
func.func @prefill(%a: !lowbit.packed<q2_0c, 64x512>, %x: memref<4x512xf32>,
                   %y: memref<4x64xf32>, %x1: memref<1x512xf32>, %y1: memref<1x64xf32>) {
  lowbit.matmul %x, %a, %y : memref<4x512xf32>, !lowbit.packed<q2_0c, 64x512>, memref<4x64xf32>
  lowbit.matmul %x1, %a, %y1 : memref<1x512xf32>, !lowbit.packed<q2_0c, 64x512>, memref<1x64xf32>
  return
}

// Int8 activations: the Q2_0C matmuls get the _a8 families (GEMM for several
// rows on avx512), looked up in the database under that name; other formats
// keep theirs. An unknown precision is an error.
// RUN: hyc-opt %s -lowbit-select-kernels="tuning-db=%S/Inputs/tuning.json target=x86-64-avx512 activations=int8" | FileCheck %s --check-prefix=INT8
// RUN: not hyc-opt %s -lowbit-select-kernels="activations=int4" 2>&1 | FileCheck %s --check-prefix=BADACT
// INT8-LABEL: func.func @select
// INT8: lowbit.matmul {{.*}} {hyc.kernel = "gemv_q2_0c_a8", hyc.schedule = "prefetch=16,rows_per_task=64"} : memref<512xf32>, !lowbit.packed<q2_0c, 64x512
// INT8: lowbit.matmul {{.*}} {hyc.kernel = "gemv_q2_0c_a8", hyc.schedule = "default"} : memref<512xf32>, !lowbit.packed<q2_0c, 32x512
// INT8: lowbit.matmul %{{[^{]*}} : memref<512xf32>, !lowbit.packed<f16, 8x512>
// INT8-LABEL: func.func @prefill
// INT8: lowbit.matmul {{.*}} {hyc.kernel = "gemm_q2_0c_a8", hyc.schedule = "default"} : memref<4x512xf32>
// INT8: lowbit.matmul {{.*}} {hyc.kernel = "gemv_q2_0c_a8", hyc.schedule = "prefetch=16,rows_per_task=64"} : memref<1x512xf32>
// BADACT: unknown activations 'int4' (expected f32 or int8)
// INT8-LABEL: func.func @lm_head
// INT8: lowbit.matmul {{.*}} {hyc.kernel = "gemv_q8_0_a8", hyc.schedule = "default"}
// NODB-LABEL: func.func @lm_head
// NODB: lowbit.matmul {{.*}} {hyc.kernel = "gemv_q8_0", hyc.schedule = "default"}
func.func @lm_head(%e: !lowbit.packed<q8_0, 64x512>, %x: memref<512xf32>, %y: memref<64xf32>) {
  lowbit.matmul %x, %e, %y : memref<512xf32>, !lowbit.packed<q8_0, 64x512>, memref<64xf32>
  return
}

// ggml's Q2_K and TQ2_0: the float GEMVs on x86 and AArch64 (also for prefill
// rows and with int8 activations: they have no int8 form or GEMM); a target
// name hyc does not know gets no kernel (the loops).
// RUN: hyc-opt %s -lowbit-select-kernels="target=x86-64-avx2" | FileCheck %s --check-prefix=K2
// RUN: hyc-opt %s -lowbit-select-kernels="target=x86-64-avx512 activations=int8" | FileCheck %s --check-prefix=K2
// RUN: hyc-opt %s -lowbit-select-kernels="target=aarch64-neon" | FileCheck %s --check-prefix=K2
// RUN: hyc-opt %s -lowbit-select-kernels="target=aarch64-sme2" | FileCheck %s --check-prefix=K2
// RUN: hyc-opt %s -lowbit-select-kernels="target=riscv64" | FileCheck %s --check-prefix=K2NONE
// K2-LABEL: func.func @ggml_two_bit
// K2: lowbit.matmul {{.*}} {hyc.kernel = "gemv_q2_k", hyc.schedule = "default"}
// K2: lowbit.matmul {{.*}} {hyc.kernel = "gemv_tq2_0", hyc.schedule = "default"}
// K2NONE-LABEL: func.func @ggml_two_bit
// K2NONE-NOT: hyc.kernel
func.func @ggml_two_bit(%a: !lowbit.packed<q2_k, 64x512>, %b: !lowbit.packed<tq2_0, 64x512>,
                        %x: memref<4x512xf32>, %y: memref<4x64xf32>) {
  lowbit.matmul %x, %a, %y : memref<4x512xf32>, !lowbit.packed<q2_k, 64x512>, memref<4x64xf32>
  lowbit.matmul %x, %b, %y : memref<4x512xf32>, !lowbit.packed<tq2_0, 64x512>, memref<4x64xf32>
  return
}
