// RUN: skim-opt %s --skim-tile --skim-lower-tile-to-gpu --cse | FileCheck %s
// RUN: skim-opt %s --skim-tile --skim-lower-tile-to-gpu=scratch-slots=8 | FileCheck %s --check-prefix=CAP

// Scalar code on a CTA of 128 threads (ScalarCode.cpp, ScratchPool.cpp), on
// standalone top-k: its static scratch (the selection list and count) lives
// in shared memory, and the score row sized by the number of blocks becomes
// a view of a global scratch slot the CTA takes at entry and frees at exit;
// every statement that writes memory runs on thread 0 between barriers; the
// slot's number reaches every thread through shared memory.

// The plan expression of the words per slot (the row, 64-byte aligned, after
// no static words), and the slot cap.
// CHECK: module attributes {gpu.container_module, skim.gpu_block = 128 : i64,
// CHECK-SAME: skim.gpu_scratch = {skim_k0_topk = "0,d0.3,0,max,4,*,64,cdiv,16,*,+"}, skim.gpu_scratch_slots = 1024 : i64
// CAP: skim.gpu_scratch_slots = 8 : i64

// Four arguments more than the plan's 17: locks, pool, slot count, words per slot.
// CHECK: gpu.func @skim_k0_topk(
// CHECK-SAME: %arg17: !llvm.ptr, %arg18: !llvm.ptr, %[[NSLOT:arg19]]: index, %[[WORDS:arg20]]: index)
// CHECK-NOT: memref.alloca
// CHECK: %[[TID:.+]] = gpu.thread_id  x
// CHECK: %[[FIRST:.+]] = arith.cmpi eq, %[[TID]], %{{.+}} : index
// CHECK: %[[CELL:.+]] = memref.view %{{.+}} to memref<1xindex, #gpu.address_space<workgroup>>

// Thread 0 takes the first free slot from a start its block id picks.
// CHECK: scf.if %[[FIRST]] {
// CHECK: %[[START:.+]] = arith.remui %{{.+}}, %[[NSLOT]] : index
// CHECK: %[[TAKEN:.+]] = scf.while (%[[S:.+]] = %[[START]]) : (index) -> index {
// CHECK: %[[OLD:.+]] = memref.atomic_rmw assign %{{.+}}, %[[LOCKS:.+]][%[[S]]] : (i32, memref<?xi32>) -> i32
// CHECK: %[[BUSY:.+]] = arith.cmpi ne, %[[OLD]]
// CHECK: scf.condition(%[[BUSY]])
// CHECK: llvm.fence acq_rel
// CHECK-NEXT: memref.store %[[TAKEN]], %[[CELL]]
// CHECK: gpu.barrier
// CHECK: %[[SLOT:.+]] = memref.load %[[CELL]]
// CHECK: %[[BYTES:.+]] = arith.muli %[[WORDS]], %c4 : index
// CHECK: %[[BASE:.+]] = arith.muli %[[SLOT]], %[[BYTES]] : index
// CHECK: %[[ROWAT:.+]] = arith.addi %[[BASE]], %c0 : index
// CHECK: %[[ROW:.+]] = memref.view %[[POOL:.+]][%[[ROWAT]]][%{{.+}}] : memref<?xi8> to memref<?xf32>

// The row is filled from the scores by thread 0, between barriers.
// CHECK: gpu.barrier
// CHECK-NOT: memref.store
// CHECK: scf.if %[[FIRST]] {
// CHECK-NEXT: scf.for
// CHECK: memref.store %{{.+}}, %[[ROW]]
// CHECK: gpu.barrier

// The selection list and its count: shared memory after the cells of the
// slot and of the scored pass's two results.
// CHECK: %[[CHOSEN:.+]] = memref.view %{{.+}}[%c48][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<4xindex, #gpu.address_space<workgroup>>
// CHECK: %[[COUNT:.+]] = memref.view %{{.+}}[%c80][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<1xindex, #gpu.address_space<workgroup>>
// Thread 0 zeroes the count: the barrier before it is the row's (only index
// arithmetic in between, so no second one), the one after publishes it.
// CHECK-NEXT: scf.if %[[FIRST]] {
// CHECK-NEXT: memref.store %{{.+}}, %[[COUNT]]
// CHECK-NEXT: }
// CHECK-NEXT: gpu.barrier

// Forced blocks, first and last: read-modify-writes of the list, on thread 0.
// CHECK-NOT: memref.store
// CHECK: scf.if %[[FIRST]] {
// CHECK-NEXT: scf.for
// CHECK-NEXT: memref.load %[[COUNT]]
// CHECK-NEXT: memref.store %{{.+}}, %[[CHOSEN]]

// CHECK: gpu.barrier
// CHECK-NOT: memref.store
// CHECK: scf.if %[[FIRST]] {
// CHECK-NEXT: scf.for

// Every thread reads the count of forced blocks after the barrier that
// publishes it; thread 0 then picks the rest by score in one pass over the
// row, keeping the best so far in a list (shared memory) and the score to
// beat in the loop.
// CHECK: }
// CHECK-NEXT: }
// CHECK-NEXT: gpu.barrier
// CHECK-NEXT: %[[FORCED:.+]] = memref.load %[[COUNT]]
// CHECK-NEXT: %[[ROOM:.+]] = arith.subi %c4, %[[FORCED]]
// CHECK: memref.view {{.+}} to memref<4xindex, #gpu.address_space<workgroup>>
// CHECK: memref.view {{.+}} to memref<4xf32, #gpu.address_space<workgroup>>
// CHECK: gpu.barrier
// CHECK-NEXT: scf.if %[[FIRST]] {
// CHECK-NEXT: scf.for %{{.+}} = %c0 to %{{.+}} step %c1 iter_args(%{{.+}} = %c0, %{{.+}} = %{{.+}}) -> (index, f32) {
// CHECK: memref.load %[[ROW]]
// CHECK-NEXT: arith.cmpf ogt

// The index and count stores (global) stay on thread 0. Then the slot is
// freed, once every thread is past its last use.
// CHECK: memref.store %{{.+}}, %{{.+}} : memref<?xi32>
// CHECK: memref.store %{{.+}}, %{{.+}} : memref<?xi32>
// CHECK-NEXT: }
// CHECK-NEXT: gpu.barrier
// CHECK-NEXT: scf.if %[[FIRST]] {
// CHECK-NEXT: llvm.fence acq_rel
// CHECK: memref.atomic_rmw assign %{{.+}}, %[[LOCKS]][%[[SLOT]]]
// CHECK-NEXT: }
// CHECK-NEXT: gpu.return

func.func @topk(%s: tensor<?x?x3x?xf32>, %raw: tensor<?x?xf32>)
    -> (tensor<?x?x3x4xi32>, tensor<?x?x3xi32>) {
  %c1 = arith.constant 1 : index
  %L = tensor.dim %raw, %c1 : tensor<?x?xf32>
  %i, %c = skim.topk %s kv_tokens(%L) {n = 4, block = 64, force_first = 1, force_last = 2}
      : tensor<?x?x3x?xf32>
  return %i, %c : tensor<?x?x3x4xi32>, tensor<?x?x3xi32>
}
