// RUN: skim-opt %s --skim-lower-tile-to-gpu --cse | FileCheck %s

// Which thread runs what (ScalarCode.cpp), on hand-written kernels.

// A statement that writes memory and defines a value: thread 0 runs it,
// then hands the value to every thread through shared memory.
// CHECK-LABEL: gpu.func @results
// CHECK: %[[TID:.+]] = gpu.thread_id  x
// CHECK: %[[FIRST:.+]] = arith.cmpi eq, %[[TID]], %{{.+}} : index
// CHECK: %[[CELL:.+]] = memref.view %{{.+}} to memref<1xindex, #gpu.address_space<workgroup>>
// CHECK: gpu.barrier
// CHECK-NEXT: scf.if %[[FIRST]] {
// CHECK-NEXT: %[[R:.+]] = scf.for
// CHECK: memref.store %[[R]], %[[CELL]]
// CHECK-NEXT: }
// CHECK-NEXT: gpu.barrier
// CHECK-NEXT: %[[SHARED:.+]] = memref.load %[[CELL]]
// CHECK: scf.if %[[FIRST]] {
// CHECK-NEXT: memref.store %{{.+}}, %{{.+}}[%[[SHARED]]] : memref<?xf32>
module attributes {skim.plan = "skim-plan 1\nkernel results grid 1 1 1 args 2 t0 ed0.0\nkernel rows grid 1 1 1 args 2 ed0.0 ed0.1\nkernel loop grid 1 1 1 args 2 t0 ed0.0\n"} {
  func.func @results(%g: memref<?xf32>, %n: index) attributes {skim_tile.kernel} {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %f = arith.constant 1.0 : f32
    %r = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %c0) -> index {
      memref.store %f, %g[%i] : memref<?xf32>
      %next = arith.addi %acc, %c1 : index
      scf.yield %next : index
    }
    memref.store %f, %g[%r] : memref<?xf32>
    return
  }

// Two rows of scratch: the pool's slot holds both, each 64-byte aligned.
// CHECK-LABEL: gpu.func @rows
// CHECK-SAME: (%[[A:arg0]]: index, %[[B:arg1]]: index, %{{.+}}: !llvm.ptr, %{{.+}}: !llvm.ptr, %{{.+}}: index, %[[WORDS:arg5]]: index)
// CHECK: %[[BYTES:.+]] = arith.muli %[[WORDS]], %[[C4:.+]] : index
// CHECK: %[[BASE:.+]] = arith.muli %{{.+}}, %[[BYTES]] : index
// CHECK: %[[FIRSTAT:.+]] = arith.addi %[[BASE]], %c0 : index
// CHECK: %[[SIZE:.+]] = arith.muli %[[A]], %[[C4]] : index
// CHECK: %[[UP:.+]] = arith.ceildivsi %[[SIZE]], %[[C64:.+]] : index
// CHECK: %[[ALIGNED:.+]] = arith.muli %[[UP]], %[[C64]] : index
// CHECK: %[[NEXTAT:.+]] = arith.addi %[[FIRSTAT]], %[[ALIGNED]] : index
// CHECK: memref.view %[[POOL:.+]][%[[FIRSTAT]]][%[[A]]] : memref<?xi8> to memref<?xf32>
// CHECK: memref.view %[[POOL]][%[[NEXTAT]]][%{{.+}}] : memref<?xi8> to memref<?xf32>
  func.func @rows(%a: index, %b: index) attributes {skim_tile.kernel} {
    %c2 = arith.constant 2 : index
    %f = arith.constant 1.0 : f32
    %r0 = memref.alloca(%a) : memref<?xf32>
    %n = arith.muli %b, %c2 : index
    %r1 = memref.alloca(%n) : memref<?xf32>
    memref.store %f, %r0[%a] : memref<?xf32>
    memref.store %f, %r1[%b] : memref<?xf32>
    return
  }

// Control flow around tile ops stays on every thread; the statements in it
// that write memory are guarded one by one.
// CHECK-LABEL: gpu.func @loop
// CHECK: %[[TID:.+]] = gpu.thread_id  x
// CHECK: %[[FIRST:.+]] = arith.cmpi eq, %[[TID]]
// CHECK: scf.for
// CHECK-NOT: scf.if %[[FIRST]]
// CHECK: scf.for %{{.+}} = %[[TID]] to %{{.+}} step %c128
// CHECK: gpu.barrier
// CHECK-NEXT: memref.load
// CHECK-NEXT: gpu.barrier
// CHECK-NEXT: scf.if %[[FIRST]] {
// CHECK-NEXT: memref.store %{{.+}} : memref<?xf32>
// CHECK-NEXT: }
// CHECK-NEXT: gpu.barrier
// CHECK-NEXT: }
// CHECK-NEXT: gpu.return
  func.func @loop(%g: memref<?xf32>, %n: index) attributes {skim_tile.kernel} {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %t = skim_tile.alloc <fragment> : memref<4x8xf32>
    scf.for %i = %c0 to %n step %c1 {
      skim_tile.fill %t, 0.000000e+00 : memref<4x8xf32>
      %x = memref.load %t[%c0, %c1] : memref<4x8xf32>
      memref.store %x, %g[%i] : memref<?xf32>
    }
    return
  }
}
