// RUN: hyc-opt %s -lowbit-plan-memory -split-input-file -verify-diagnostics

// expected-error @below {{lowbit-plan-memory: @no_arena has activation buffers but no argument marked lowbit.arena}}
func.func @no_arena(%arena: memref<?xi8>) {
  %a = lowbit.buffer {name = "a"} : memref<64xi8>
  return
}

// -----

// expected-error @below {{@two_arenas has activation buffers but more than one argument marked lowbit.arena}}
func.func @two_arenas(%a0: memref<?xi8> {lowbit.arena}, %a1: memref<?xi8> {lowbit.arena}) {
  %a = lowbit.buffer {name = "a"} : memref<64xi8>
  return
}

// -----

func.func @f(%arena: memref<?xi8> {lowbit.arena}) {
  %x = lowbit.buffer {name = "x", shared} : memref<64xi8>
  return
}
func.func @g(%arena: memref<?xi8> {lowbit.arena}) {
  // expected-error @below {{shared buffer 'x' has 128 bytes here but 64 elsewhere}}
  %x = lowbit.buffer {name = "x", shared} : memref<128xi8>
  return
}

// -----

// expected-error @below {{lowbit-plan-memory: recursive call to @r}}
func.func @r(%arena: memref<?xi8> {lowbit.arena}) {
  call @r(%arena) : (memref<?xi8>) -> ()
  return
}

// -----

// expected-error @below {{the lowbit.arena argument of @wrong_type must be a rank-1 i8 memref, got 'memref<?xf32>'}}
func.func @wrong_type(%arena: memref<?xf32> {lowbit.arena}) {
  return
}
