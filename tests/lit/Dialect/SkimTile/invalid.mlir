// RUN: skim-opt %s -split-input-file -verify-diagnostics

func.func @gemm_k(%a: memref<16x64xf32>, %b: memref<32x32xf32>, %c: memref<16x32xf32>) {
  // expected-error @+1 {{'skim_tile.gemm' op contraction size differs: a is 16x64, b gives K = 32}}
  skim_tile.gemm %a, %b, %c {transpose_b} : memref<16x64xf32>, memref<32x32xf32>, memref<16x32xf32>
  return
}

// -----

func.func @gemm_acc(%a: memref<16x64xf32>, %b: memref<64x32xf32>, %c: memref<16x16xf32>) {
  // expected-error @+1 {{'skim_tile.gemm' op acc is 16x16, expected 16x32}}
  skim_tile.gemm %a, %b, %c : memref<16x64xf32>, memref<64x32xf32>, memref<16x16xf32>
  return
}

// -----

func.func @reduce_shape(%s: memref<16x32xf32>, %m: memref<32xf32>) {
  // expected-error @+1 {{'skim_tile.reduce' op reduces an MxN tile into an M row vector}}
  skim_tile.reduce sum %s into %m : memref<16x32xf32>, memref<32xf32>
  return
}

// -----

func.func @load_rank(%g: memref<?xf32>, %t: memref<16xf32>, %n: index) {
  // expected-error @+1 {{'skim_tile.load' op transfers rank-2 tiles, got 'memref<16xf32>'}}
  skim_tile.load %g[%n] strides(%n, %n) valid(%n) into %t : memref<?xf32>, memref<16xf32>
  return
}

// -----

func.func @load_group(%g: memref<?xf32>, %t: memref<16x8xf32>, %n: index) {
  // expected-error @+1 {{'skim_tile.load' op group must be > 0, got 0}}
  skim_tile.load %g[%n] strides(%n, %n) valid(%n) into %t {group = 0} : memref<?xf32>, memref<16x8xf32>
  return
}

// -----

func.func @load_coords_without_row_dim(%g: memref<?xbf16>, %t: memref<64x64xf32>, %n: index) {
  // expected-error @+1 {{'skim_tile.load' op takes `coords` and `row_dim` together}}
  skim_tile.load %g[%n] strides(%n, %n) valid(%n) coords(%n, %n, %n, %n) into %t : memref<?xbf16>, memref<64x64xf32>
  return
}

// -----

func.func @load_row_dim_innermost(%g: memref<?xbf16>, %t: memref<64x64xf32>, %n: index) {
  // expected-error @+1 {{'skim_tile.load' op row_dim 3 must name an outer dimension of the rank-4 coordinates}}
  skim_tile.load %g[%n] strides(%n, %n) valid(%n) coords(%n, %n, %n, %n) into %t {row_dim = 3} : memref<?xbf16>, memref<64x64xf32>
  return
}

// -----

func.func @load_coords_group(%g: memref<?xbf16>, %t: memref<64x64xf32>, %n: index) {
  // expected-error @+1 {{'skim_tile.load' op with coordinates needs group 1}}
  skim_tile.load %g[%n] strides(%n, %n) valid(%n) coords(%n, %n, %n, %n) into %t {group = 4, row_dim = 1} : memref<?xbf16>, memref<64x64xf32>
  return
}

// -----

func.func @map_indexing(%m: memref<32xf32>, %s: memref<16x32xf32>) {
  // expected-error @+1 {{'skim_tile.map' op input #0 of shape 'memref<32xf32>' cannot be read with indexing "i"}}
  skim_tile.map ins(%m : memref<32xf32>) outs(%s : memref<16x32xf32>) attributes {indexing = ["i"]} {
  ^bb0(%i: index, %j: index, %a: f32, %b: f32):
    skim_tile.yield %a : f32
  }
  return
}

// -----

func.func @map_arguments(%s: memref<16x32xf32>) {
  // expected-error @+1 {{'skim_tile.map' op body takes 2 indices, one f32 per input and the current element: expected 3 arguments, got 2}}
  skim_tile.map outs(%s : memref<16x32xf32>) attributes {indexing = []} {
  ^bb0(%i: index, %b: f32):
    skim_tile.yield %b : f32
  }
  return
}

// -----

func.func @map_indexing_count(%m: memref<16xf32>, %s: memref<16x32xf32>) {
  // expected-error @+1 {{'skim_tile.map' op needs one indexing entry per input, got 0 for 1}}
  skim_tile.map ins(%m : memref<16xf32>) outs(%s : memref<16x32xf32>) attributes {indexing = []} {
  ^bb0(%i: index, %j: index, %a: f32, %b: f32):
    skim_tile.yield %a : f32
  }
  return
}

// -----

func.func @block_id_dim() {
  // expected-error @+1 {{'skim_tile.block_id' op attribute 'dim' failed to satisfy constraint}}
  %x = skim_tile.block_id 3
  return
}

// -----

func.func @gather_transposed(%g: memref<?xbf16>, %n: index, %rows: memref<4xindex>) {
  %t = skim_tile.alloc <shared> : memref<64x16xf32>
  // expected-error @+1 {{'skim_tile.load' op gathers rows (row_offsets) without coordinates or transpose}}
  skim_tile.load %g[%n] strides(%n, %n) valid(%n) rows(%rows : memref<4xindex>) into %t {transpose} : memref<?xbf16>, memref<64x16xf32>
  return
}

// -----

func.func @accumulate_bf16(%g: memref<?xbf16>, %n: index) {
  %t = skim_tile.alloc <fragment> : memref<16x16xf32>
  // expected-error @+1 {{'skim_tile.store' op accumulates (atomic adds) into f32 tensors only, got 'memref<?xbf16>'}}
  skim_tile.store %t into %g[%n] strides(%n, %n) valid(%n) {accumulate} : memref<16x16xf32>, memref<?xbf16>
  return
}
