// RUN: hyc-opt %s -lowbit-plan-memory -split-input-file | FileCheck %s
// RUN: not hyc-opt %s -lowbit-plan-memory=alignment=48 -split-input-file 2>&1 | FileCheck %s --check-prefix=ALIGN

// Shared x first (bytes 0..64). In @callee, a and b are live together; c is
// first used after a's last use, so it takes a's bytes. @caller's d lives
// across the call, so it goes above everything @callee uses (448). Every
// arena argument becomes memref<512xi8>, recorded on the module.
// CHECK: module attributes {lowbit.arena_bytes = 512 : i64}
// CHECK-LABEL: func.func @callee
// CHECK-SAME: (%[[A:.+]]: memref<512xi8>)
// CHECK-NOT: lowbit.buffer
// CHECK-DAG: %[[C64:.+]] = arith.constant 64 : index
// CHECK-DAG: %[[C320:.+]] = arith.constant 320 : index
// CHECK-DAG: %[[AV:.+]] = memref.view %[[A]][%[[C64]]][] : memref<512xi8> to memref<64xf32>
// CHECK-DAG: %[[BV:.+]] = memref.view %[[A]][%[[C320]]][] : memref<512xi8> to memref<32xf32>
// CHECK-DAG: %[[CV:.+]] = memref.view %[[A]][%{{.+}}][] : memref<512xi8> to memref<50xf32>
// CHECK-DAG: %[[XV:.+]] = memref.view %[[A]][%{{.+}}][] : memref<512xi8> to memref<16xf32>
// CHECK: lowbit.add %[[AV]]
// CHECK: lowbit.add %[[BV]]
// CHECK: lowbit.add %[[AV]]
// CHECK: lowbit.add %[[CV]]
// CHECK-LABEL: func.func @caller
// CHECK-SAME: (%[[A2:.+]]: memref<512xi8>)
// CHECK: %[[C448:.+]] = arith.constant 448 : index
// CHECK: memref.view %[[A2]][%[[C448]]][] : memref<512xi8> to memref<16xf32>
// CHECK: call @callee(%[[A2]]) : (memref<512xi8>) -> ()
// CHECK: %[[C0:.+]] = arith.constant 0 : index
// CHECK: memref.view %[[A2]][%[[C0]]][] : memref<512xi8> to memref<16xf32>

// ALIGN: lowbit-plan-memory: alignment must be a power of two, got 48
func.func private @use(memref<16xf32>)

func.func @callee(%arena: memref<?xi8> {lowbit.arena}) {
  %c0 = arith.constant 0 : index
  %x = lowbit.buffer {name = "x", shared} : memref<64xi8>
  %a = lowbit.buffer {name = "a"} : memref<256xi8>
  %b = lowbit.buffer {name = "b"} : memref<128xi8>
  %c = lowbit.buffer {name = "c"} : memref<200xi8>
  %av = memref.view %a[%c0][] : memref<256xi8> to memref<64xf32>
  %bv = memref.view %b[%c0][] : memref<128xi8> to memref<32xf32>
  %cv = memref.view %c[%c0][] : memref<200xi8> to memref<50xf32>
  %xv = memref.view %x[%c0][] : memref<64xi8> to memref<16xf32>
  lowbit.add %av, %av, %av : memref<64xf32>, memref<64xf32>, memref<64xf32>
  lowbit.add %bv, %bv, %bv : memref<32xf32>, memref<32xf32>, memref<32xf32>
  lowbit.add %av, %av, %av : memref<64xf32>, memref<64xf32>, memref<64xf32>
  lowbit.add %cv, %cv, %cv : memref<50xf32>, memref<50xf32>, memref<50xf32>
  lowbit.add %bv, %bv, %bv : memref<32xf32>, memref<32xf32>, memref<32xf32>
  lowbit.add %xv, %xv, %xv : memref<16xf32>, memref<16xf32>, memref<16xf32>
  return
}

func.func @caller(%arena: memref<?xi8> {lowbit.arena}) {
  %c0 = arith.constant 0 : index
  %d = lowbit.buffer {name = "d"} : memref<64xi8>
  %dv = memref.view %d[%c0][] : memref<64xi8> to memref<16xf32>
  lowbit.add %dv, %dv, %dv : memref<16xf32>, memref<16xf32>, memref<16xf32>
  call @callee(%arena) : (memref<?xi8>) -> ()
  lowbit.add %dv, %dv, %dv : memref<16xf32>, memref<16xf32>, memref<16xf32>
  %x = lowbit.buffer {name = "x", shared} : memref<64xi8>
  %xv = memref.view %x[%c0][] : memref<64xi8> to memref<16xf32>
  call @use(%xv) : (memref<16xf32>) -> ()
  return
}

// -----

// A buffer used inside a loop is live for the whole loop: e and f overlap.
// Rows of a buffer viewed at a dynamic shift keep a view of the buffer.
// CHECK-LABEL: func.func @loop
// CHECK-SAME: (%[[A:.+]]: memref<128xi8>)
// CHECK: %[[E:.+]] = memref.view %[[A]][%{{.+}}][] : memref<128xi8> to memref<64xi8>
// CHECK: scf.for
// CHECK: memref.view %[[E]][%{{.+}}][] : memref<64xi8> to memref<4xf32>
func.func @loop(%arena: memref<?xi8> {lowbit.arena}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c16 = arith.constant 16 : index
  %e = lowbit.buffer {name = "e"} : memref<64xi8>
  %f = lowbit.buffer {name = "f"} : memref<64xi8>
  %fv = memref.view %f[%c0][] : memref<64xi8> to memref<16xf32>
  scf.for %i = %c0 to %c4 step %c1 {
    %at = arith.muli %i, %c16 : index
    %row = memref.view %e[%at][] : memref<64xi8> to memref<4xf32>
    lowbit.add %row, %row, %row : memref<4xf32>, memref<4xf32>, memref<4xf32>
    lowbit.add %fv, %fv, %fv : memref<16xf32>, memref<16xf32>, memref<16xf32>
  }
  return
}
