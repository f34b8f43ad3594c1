// RUN: skim-opt %s | skim-opt | FileCheck %s

// CHECK-LABEL: func @kernel
func.func @kernel(%q: memref<?xbf16>, %o: memref<?xf32>, %n: index) attributes {skim_tile.kernel} {
  // CHECK: %[[X:.+]] = skim_tile.block_id 0
  %x = skim_tile.block_id 0
  // CHECK: %[[Q:.+]] = skim_tile.alloc <fragment> : memref<16x64xf32>
  %qt = skim_tile.alloc <fragment> : memref<16x64xf32>
  // CHECK: %[[K:.+]] = skim_tile.alloc <shared, smem_swizzle_128b> : memref<32x64xf32>
  %kt = skim_tile.alloc <shared, smem_swizzle_128b> : memref<32x64xf32>
  // CHECK: %[[S:.+]] = skim_tile.alloc <fragment, mma_m16n8k16_c> : memref<16x32xf32>
  %st = skim_tile.alloc <fragment, mma_m16n8k16_c> : memref<16x32xf32>
  %m = skim_tile.alloc <fragment> : memref<16xf32>
  // CHECK: skim_tile.load %{{.+}}[%[[X]]] strides(%{{.+}}, %{{.+}}) valid(%{{.+}}) into %[[Q]] {group = 4 : i64, padding = 1.000000e+00 : f32, stage = 1 : i64} : memref<?xbf16>, memref<16x64xf32>
  skim_tile.load %q[%x] strides(%n, %n) valid(%n) into %qt {group = 4, padding = 1.0 : f32, stage = 1} : memref<?xbf16>, memref<16x64xf32>
  // CHECK: skim_tile.load %{{.+}}[%[[X]]] strides(%{{.+}}, %{{.+}}) valid(%{{.+}}) coords(%[[X]], %{{.+}}, %[[X]], %[[X]]) into %[[K]] {row_dim = 1 : i64, stage = 0 : i64} : memref<?xbf16>, memref<32x64xf32>
  skim_tile.load %q[%x] strides(%n, %n) valid(%n) coords(%x, %n, %x, %x) into %kt {row_dim = 1, stage = 0} : memref<?xbf16>, memref<32x64xf32>
  // A gather by token number, and the accumulating scatter back.
  %tok = memref.alloca() : memref<4xindex>
  // CHECK: skim_tile.load %{{.+}}[%[[X]]] strides(%{{.+}}, %{{.+}}) valid(%{{.+}}) rows(%{{.+}} : memref<4xindex>) into %[[Q]] {group = 4 : i64} : memref<?xbf16>, memref<16x64xf32>
  skim_tile.load %q[%x] strides(%n, %n) valid(%n) rows(%tok : memref<4xindex>) into %qt {group = 4} : memref<?xbf16>, memref<16x64xf32>
  // CHECK: skim_tile.store %[[Q]] into %{{.+}}[%[[X]]] strides(%{{.+}}, %{{.+}}) valid(%{{.+}}) rows(%{{.+}} : memref<4xindex>) {accumulate, group = 4 : i64} : memref<16x64xf32>, memref<?xf32>
  skim_tile.store %qt into %o[%x] strides(%n, %n) valid(%n) rows(%tok : memref<4xindex>) {accumulate, group = 4} : memref<16x64xf32>, memref<?xf32>
  // CHECK: skim_tile.fill %[[S]], 0.000000e+00 : memref<16x32xf32>
  skim_tile.fill %st, 0.0 : memref<16x32xf32>
  // CHECK: skim_tile.gemm %[[Q]], %[[K]], %[[S]] {transpose_b} : memref<16x64xf32>, memref<32x64xf32>, memref<16x32xf32>
  skim_tile.gemm %qt, %kt, %st {transpose_b} : memref<16x64xf32>, memref<32x64xf32>, memref<16x32xf32>
  // CHECK: skim_tile.reduce max %[[S]] into %{{.+}} : memref<16x32xf32>, memref<16xf32>
  skim_tile.reduce max %st into %m : memref<16x32xf32>, memref<16xf32>
  // CHECK: skim_tile.map ins(%{{.+}} : memref<16xf32>) outs(%[[S]] : memref<16x32xf32>) attributes {indexing = ["i"]}
  // CHECK: math.exp2
  // CHECK: skim_tile.yield
  skim_tile.map ins(%m : memref<16xf32>) outs(%st : memref<16x32xf32>) attributes {indexing = ["i"]} {
  ^bb0(%i: index, %j: index, %mi: f32, %s: f32):
    %d = arith.subf %s, %mi : f32
    %e = math.exp2 %d : f32
    skim_tile.yield %e : f32
  }
  // CHECK: skim_tile.store %[[S]] into %{{.+}}[%{{.+}}] strides(%{{.+}}, %{{.+}}) valid(%{{.+}}) : memref<16x32xf32>, memref<?xf32>
  skim_tile.store %st into %o[%x] strides(%n, %n) valid(%n) : memref<16x32xf32>, memref<?xf32>
  return
}
