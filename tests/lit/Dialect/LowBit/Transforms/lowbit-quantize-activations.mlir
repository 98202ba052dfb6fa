// RUN: hyc-opt %s -pass-pipeline='builtin.module(func.func(lowbit-quantize-activations))' -split-input-file | FileCheck %s

// Int8-activation GEMVs with any schedule (default or tuned): quantize +
// qmatmul, one buffer pair per activation shape (the decode matmuls share
// it); the float-activation one is left alone.
// CHECK-LABEL: func.func @decode
// CHECK-DAG: %[[SB:.+]] = lowbit.buffer {name = "a8.steps.1024"} : memref<128xi8>
// CHECK-DAG: %[[QB:.+]] = lowbit.buffer {name = "a8.q.1024"} : memref<1024xi8>
// CHECK-DAG: %[[Q:.+]] = memref.view %[[QB]][%{{.+}}][] : memref<1024xi8> to memref<1024xi8>
// CHECK-DAG: %[[S:.+]] = memref.view %[[SB]][%{{.+}}][] : memref<128xi8> to memref<32xf32>
// CHECK: lowbit.quantize %[[X:.+]], %[[Q]], %[[S]] {groups = "q2_0c_lanes"}
// CHECK-NEXT: lowbit.qmatmul %[[Q]], %[[S]], %{{.+}}, %{{.+}} {hyc.kernel = "gemv_q2_0c_a8", hyc.schedule = "default"}
// CHECK: lowbit.quantize %[[X]], %[[Q]], %[[S]]
// CHECK-NEXT: lowbit.qmatmul %[[Q]], %[[S]]
// CHECK: lowbit.quantize %[[X]], %[[Q]], %[[S]]
// CHECK-NEXT: lowbit.qmatmul %[[Q]], %[[S]], %{{.+}}, %{{.+}} {hyc.kernel = "gemv_q2_0c_a8", hyc.schedule = "rows_per_task=64"}
// CHECK: lowbit.matmul %[[X]], %{{.+}}, %{{.+}} {hyc.kernel = "gemv_q2_0c", hyc.schedule = "default"}
// CHECK-NOT: lowbit.quantize
func.func @decode(%x: memref<1024xf32>, %w: !lowbit.packed<q2_0c, 64x1024>, %y: memref<64xf32>) {
  lowbit.matmul %x, %w, %y {hyc.kernel = "gemv_q2_0c_a8", hyc.schedule = "default"} : memref<1024xf32>, !lowbit.packed<q2_0c, 64x1024>, memref<64xf32>
  lowbit.matmul %x, %w, %y {hyc.kernel = "gemv_q2_0c_a8", hyc.schedule = "default"} : memref<1024xf32>, !lowbit.packed<q2_0c, 64x1024>, memref<64xf32>
  lowbit.matmul %x, %w, %y {hyc.kernel = "gemv_q2_0c_a8", hyc.schedule = "rows_per_task=64"} : memref<1024xf32>, !lowbit.packed<q2_0c, 64x1024>, memref<64xf32>
  lowbit.matmul %x, %w, %y {hyc.kernel = "gemv_q2_0c", hyc.schedule = "default"} : memref<1024xf32>, !lowbit.packed<q2_0c, 64x1024>, memref<64xf32>
  return
}

// -----

// A prefill GEMM: rank-2 buffers, M rows of K int8 and K / 32 steps.
// CHECK-LABEL: func.func @prefill
// CHECK-DAG: lowbit.buffer {name = "a8.q.4x512"} : memref<2048xi8>
// CHECK-DAG: lowbit.buffer {name = "a8.steps.4x512"} : memref<256xi8>
// CHECK: lowbit.quantize %{{.+}} : memref<4x512xf32>, memref<4x512xi8>, memref<4x16xf32>
// CHECK-NEXT: lowbit.qmatmul %{{.+}} {hyc.kernel = "gemm_q2_0c_a8", hyc.schedule = "default"} : memref<4x512xi8>, memref<4x16xf32>
func.func @prefill(%x: memref<4x512xf32>, %w: !lowbit.packed<q2_0c, 8x512>, %y: memref<4x8xf32>) {
  lowbit.matmul %x, %w, %y {hyc.kernel = "gemm_q2_0c_a8", hyc.schedule = "default"} : memref<4x512xf32>, !lowbit.packed<q2_0c, 8x512>, memref<4x8xf32>
  return
}

// -----

// A tuned GEMM too.
// CHECK-LABEL: func.func @tuned_gemm
// CHECK: lowbit.quantize
// CHECK-NEXT: lowbit.qmatmul %{{.+}} {hyc.kernel = "gemm_q2_0c_a8", hyc.schedule = "rows=4"}
func.func @tuned_gemm(%x: memref<4x512xf32>, %w: !lowbit.packed<q2_0c, 8x512>, %y: memref<4x8xf32>) {
  lowbit.matmul %x, %w, %y {hyc.kernel = "gemm_q2_0c_a8", hyc.schedule = "rows=4"} : memref<4x512xf32>, !lowbit.packed<q2_0c, 8x512>, memref<4x8xf32>
  return
}

// -----

// Three GEMMs on one input (a prefill chunk's q, k, v): one quantize. After
// a matmul that writes that input, it is quantized again.
// CHECK-LABEL: func.func @shared_input
// CHECK: lowbit.quantize %[[H:[^,]+]], %[[Q:[^,]+]], %[[S:[^ ]+]] {groups
// CHECK-NEXT: lowbit.qmatmul %[[Q]], %[[S]], %{{[^,]+}}, %[[O:[^ ]+]] {
// CHECK-NEXT: lowbit.qmatmul %[[Q]], %[[S]], %{{[^,]+}}, %[[O]] {
// CHECK-NEXT: lowbit.qmatmul %[[Q]], %[[S]], %{{[^,]+}}, %[[O]] {
// CHECK-NEXT: lowbit.quantize %[[O]], %[[Q]], %[[S]]
// CHECK-NEXT: lowbit.qmatmul %[[Q]], %[[S]], %{{[^,]+}}, %[[H]] {
// CHECK-NEXT: lowbit.quantize %[[H]], %[[Q]], %[[S]]
// CHECK-NEXT: lowbit.qmatmul
func.func @shared_input(%w: !lowbit.packed<q2_0c, 512x512>) {
  %c0 = arith.constant 0 : index
  %hb = lowbit.buffer {name = "h"} : memref<8192xi8>
  %ob = lowbit.buffer {name = "o"} : memref<8192xi8>
  %h = memref.view %hb[%c0][] : memref<8192xi8> to memref<4x512xf32>
  %o = memref.view %ob[%c0][] : memref<8192xi8> to memref<4x512xf32>
  lowbit.matmul %h, %w, %o {hyc.kernel = "gemm_q2_0c_a8", hyc.schedule = "default"} : memref<4x512xf32>, !lowbit.packed<q2_0c, 512x512>, memref<4x512xf32>
  lowbit.matmul %h, %w, %o {hyc.kernel = "gemm_q2_0c_a8", hyc.schedule = "default"} : memref<4x512xf32>, !lowbit.packed<q2_0c, 512x512>, memref<4x512xf32>
  lowbit.matmul %h, %w, %o {hyc.kernel = "gemm_q2_0c_a8", hyc.schedule = "default"} : memref<4x512xf32>, !lowbit.packed<q2_0c, 512x512>, memref<4x512xf32>
  lowbit.matmul %o, %w, %h {hyc.kernel = "gemm_q2_0c_a8", hyc.schedule = "default"} : memref<4x512xf32>, !lowbit.packed<q2_0c, 512x512>, memref<4x512xf32>
  lowbit.matmul %h, %w, %o {hyc.kernel = "gemm_q2_0c_a8", hyc.schedule = "default"} : memref<4x512xf32>, !lowbit.packed<q2_0c, 512x512>, memref<4x512xf32>
  return
}
