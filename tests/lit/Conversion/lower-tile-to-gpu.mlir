// RUN: skim-opt %s --skim-expand-variants --skim-tile --skim-lower-tile-to-gpu | FileCheck %s

// The SIMT distribution (f32 inputs; lower-tile-to-gpu-mma.mlir has the
// tensor-core one): a skim_tile kernel
// becomes a gpu.func in gpu.module @skim_kernels, taking one pointer per
// tensor and index scalars; tiles are views of dynamic shared memory; each
// tile op is a loop strided by the thread id between barriers; exp2 and log2
// become NVVM intrinsics, never libdevice calls.

// CHECK: module attributes {gpu.container_module, skim.gpu_block = 128 : i64, skim.gpu_shared_bytes = {skim_k0_attention = [[BYTES:[0-9]+]] : i64}
// CHECK-NOT: func.func
// CHECK: gpu.module @skim_kernels {
// CHECK: gpu.func @skim_k0_attention(%{{.+}}: !llvm.ptr, %{{.+}}: !llvm.ptr, %{{.+}}: !llvm.ptr, %{{.+}}: index,
// CHECK-SAME: kernel attributes {known_block_size = array<i32: 128, 1, 1>, skim.distribution = "simt: a gemm operand not loaded from bf16 or f16"}
// CHECK: %[[TID:.+]] = gpu.thread_id  x
// CHECK: %[[SMEM:.+]] = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
// CHECK: memref.view %[[SMEM]][%{{.+}}][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<64x32xf32, #gpu.address_space<workgroup>>
// CHECK: builtin.unrealized_conversion_cast %{{.+}} : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)> to memref<?xf32>
// CHECK: gpu.block_id  x
// CHECK: gpu.barrier
// A copy (Q: 64 × 32 elements) keeps 8 of a thread's elements in flight:
// eight guarded loads, then their eight stores, per 1024 elements.
// CHECK: scf.for %[[E:.+]] = %[[TID]] to %c2048 step %c1024 {
// CHECK-COUNT-8: memref.load %{{.+}} : memref<?xf32>
// CHECK-NOT: memref.store
// CHECK: memref.store %{{.+}}, %{{.+}} : memref<64x32xf32, #gpu.address_space<workgroup>>
// CHECK-COUNT-7: memref.store %{{.+}}, %{{.+}} : memref<64x32xf32, #gpu.address_space<workgroup>>
// CHECK: scf.for %{{.+}} = %[[TID]] to %{{.+}} step %c128
// CHECK: gpu.barrier
// CHECK: llvm.call_intrinsic "llvm.nvvm.ex2.approx.f32"
// CHECK: llvm.intr.fma
// CHECK: llvm.call_intrinsic "llvm.nvvm.lg2.approx.f"
// CHECK: gpu.return
// CHECK-NOT: math.
// CHECK-NOT: func.call
// CHECK-NOT: skim_tile.
func.func @f(%q: tensor<?x?x4x32xf32>, %k: tensor<?x?x1x32xf32>, %v: tensor<?x?x1x32xf32>)
    -> (tensor<?x?x4x32xf32>, tensor<?x4x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v {mask = #skim.mask<causal>}
      : tensor<?x?x4x32xf32>, tensor<?x?x1x32xf32>, tensor<?x?x1x32xf32>
  return %o, %lse : tensor<?x?x4x32xf32>, tensor<?x4x?xf32>
}
