// RUN: skim-opt %s --skim-lower-tile-to-cpu=vector-width=8 --canonicalize | FileCheck %s --check-prefix=CPU
// RUN: skim-opt %s --skim-lower-tile-to-gpu --canonicalize | FileCheck %s --check-prefix=GPU

// A gathered load reads each row group's number from `rows` and starts it at
// offset + number · outer_stride; an accumulating store adds atomically
// (the grid's programs add partial rows of one output), on every target.

// CPU-LABEL: func.func @gather_scatter
// CPU: memref.load %{{.+}}[%{{.+}}] : memref<4xindex>
// CPU: vector.load %{{.+}} : memref<?xbf16>, vector<8xbf16>
// CPU: memref.load %{{.+}}[%{{.+}}] : memref<4xindex>
// CPU: memref.atomic_rmw addf %{{.+}}, %{{.+}}[%{{.+}}] : (f32, memref<?xf32>) -> f32
// CPU-NOT: vector.store %{{.+}}, %arg1

// GPU-LABEL: gpu.func @gather_scatter
// GPU: memref.load %{{.+}}[%{{.+}}] : memref<4xindex, #gpu.address_space<workgroup>>
// GPU: memref.load %{{.+}}[%{{.+}}] : memref<?xbf16>
// GPU: memref.atomic_rmw addf %{{.+}}, %{{.+}}[%{{.+}}] : (f32, memref<?xf32>) -> f32
func.func @gather_scatter(%q: memref<?xbf16>, %o: memref<?xf32>, %n: index, %stride: index) attributes {skim_tile.kernel} {
  %c0 = arith.constant 0 : index
  %c7 = arith.constant 7 : index
  %rows = memref.alloca() : memref<4xindex>
  memref.store %c7, %rows[%c0] : memref<4xindex>
  %t = skim_tile.alloc <fragment> : memref<16x32xf32>
  skim_tile.load %q[%c0] strides(%stride, %n) valid(%n) rows(%rows : memref<4xindex>) into %t {group = 4} : memref<?xbf16>, memref<16x32xf32>
  skim_tile.store %t into %o[%c0] strides(%stride, %n) valid(%n) rows(%rows : memref<4xindex>) {accumulate, group = 4} : memref<16x32xf32>, memref<?xf32>
  return
}
