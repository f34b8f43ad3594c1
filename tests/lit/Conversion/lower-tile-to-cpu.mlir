// RUN: skim-opt %s --skim-lower-tile-to-cpu=vector-width=8 --canonicalize | FileCheck %s
// RUN: skim-opt %s --skim-lower-tile-to-cpu --canonicalize --skim-cpu-math-approx | FileCheck %s --check-prefix=APPROX

// Tiles become stack buffers, block ids trailing index arguments, and every
// tile op a loop over vector<8xf32>.

// CHECK-LABEL: func.func @k
// CHECK-SAME: (%{{.+}}: memref<?xbf16>, %{{.+}}: memref<?xf32>, %[[N:.+]]: index, %[[X:.+]]: index, %{{.+}}: index, %{{.+}}: index)
// CHECK-DAG: memref.alloca() : memref<16x32xf32>
// CHECK-DAG: memref.alloca() : memref<8x32xf32>
// CHECK-DAG: memref.alloca() : memref<16x8xf32>
// CHECK-NOT: skim_tile.
// The bf16 load widens 8 lanes at a time, rows past `valid` get the padding.
// CHECK: vector.load %{{.+}} : memref<?xbf16>, vector<8xbf16>
// CHECK: arith.extf %{{.+}} : vector<8xbf16> to vector<8xf32>
// gemm with transpose_b: dot products, four at a time, then horizontal adds.
// CHECK: vector.fma
// CHECK: vector.fma
// CHECK: vector.fma
// CHECK: vector.fma
// CHECK: vector.reduction <add>
// The map body is vectorised: the column index is a vector.step.
// CHECK: vector.step : vector<8xindex>
// CHECK: arith.cmpi ult, %{{.+}}, %{{.+}} : vector<8xindex>
// CHECK: math.exp2 %{{.+}} : vector<8xf32>
// CHECK: vector.reduction <maximumf>

// exp2(x) = exp(x · ln 2), and exp is a polynomial of vectors: no libm call.
// APPROX-LABEL: func.func @k
// APPROX: arith.constant dense<0.693147182> : vector<8xf32>
// APPROX-NOT: math.exp
func.func @k(%q: memref<?xbf16>, %o: memref<?xf32>, %n: index) attributes {skim_tile.kernel} {
  %x = skim_tile.block_id 0
  %qt = skim_tile.alloc <fragment> : memref<16x32xf32>
  %kt = skim_tile.alloc <shared> : memref<8x32xf32>
  %st = skim_tile.alloc <fragment> : memref<16x8xf32>
  %m = skim_tile.alloc <fragment> : memref<16xf32>
  skim_tile.load %q[%x] strides(%n, %n) valid(%n) into %qt {group = 2} : memref<?xbf16>, memref<16x32xf32>
  skim_tile.load %q[%x] strides(%n, %n) valid(%n) into %kt : memref<?xbf16>, memref<8x32xf32>
  skim_tile.fill %st, 0.0 : memref<16x8xf32>
  skim_tile.gemm %qt, %kt, %st {transpose_b} : memref<16x32xf32>, memref<8x32xf32>, memref<16x8xf32>
  skim_tile.map outs(%st : memref<16x8xf32>) attributes {indexing = []} {
  ^bb0(%i: index, %j: index, %s: f32):
    %ok = arith.cmpi ult, %j, %n : index
    %e = math.exp2 %s : f32
    %ninf = arith.constant 0xFF800000 : f32
    %r = arith.select %ok, %e, %ninf : f32
    skim_tile.yield %r : f32
  }
  skim_tile.fill %m, 0xFF800000 : memref<16xf32>
  skim_tile.reduce max %st into %m : memref<16x8xf32>, memref<16xf32>
  skim_tile.store %st into %o[%x] strides(%n, %n) valid(%n) : memref<16x8xf32>, memref<?xf32>
  return
}
