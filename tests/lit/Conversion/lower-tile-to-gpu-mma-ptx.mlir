// The mma.sync kernels in PTX, and what ptxas makes of them: per kernel the
// KV loop's tensor-core work (every mma.sync and ldmatrix of the kernel sits
// in that loop), the row-max/row-sum shuffles, and no spills and no local
// memory for the default schedule (block_m 64, block_n 64). cp.async: the
// first chunk's K before the loop, V and the next chunk's K in it.
// Counts for one 64-key chunk:
//   Q·Kᵀ: D/16 k-steps × 8 n-tiles mma, D/16 × 4 ldmatrix.x4 (two n-tiles each)
//   P·V:  4 k-steps × Dv/8 n-tiles mma, 4 × Dv/16 ldmatrix.x4.trans
// REQUIRES: ptxas
// RUN: skim-opt %s --split-input-file --pass-pipeline='builtin.module(skim-expand-variants,skim-tile,skim-lower-tile-to-gpu,canonicalize,cse,lower-affine,convert-scf-to-cf,nvvm-attach-target{chip=sm_90 O=3},gpu.module(convert-gpu-to-nvvm{index-bitwidth=64},convert-nvvm-to-llvm,reconcile-unrealized-casts,skim-extern-dynamic-shared),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})' -o %t
// RUN: %python %S/Inputs/ptx_stats.py --ptxas sm_90 --module 0 < %t | FileCheck %s --check-prefix=D128
// RUN: %python %S/Inputs/ptx_stats.py --ptxas sm_90 --module 1 < %t | FileCheck %s --check-prefix=D64
// RUN: %python %S/Inputs/ptx_stats.py --ptxas sm_90 --module 2 < %t | FileCheck %s --check-prefix=D192

// D128: mma.sync: 128
// D128-NEXT: mma.sync bf16: 128
// D128-NEXT: ldmatrix: 64
// D128-NEXT: ldmatrix x4: 32
// D128-NEXT: ldmatrix x4.trans: 32
// D128-NEXT: cp.async: 3
// D128-NEXT: shfl.bfly: 8
// D128: local memory: 0
// D128-NEXT: spills: 0 stores, 0 loads
func.func @d128(%q: tensor<?x?x16x128xbf16>, %k: tensor<?x?x1x128xbf16>, %v: tensor<?x?x1x128xbf16>)
    -> (tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v {mask = #skim.mask<causal>}
      : tensor<?x?x16x128xbf16>, tensor<?x?x1x128xbf16>, tensor<?x?x1x128xbf16>
  return %o, %lse : tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>
}

// -----

// D64: mma.sync: 64
// D64-NEXT: mma.sync f16: 64
// D64-NEXT: ldmatrix: 32
// D64-NEXT: ldmatrix x4: 16
// D64-NEXT: ldmatrix x4.trans: 16
// D64-NEXT: cp.async: 3
// D64: local memory: 0
// D64-NEXT: spills: 0 stores, 0 loads
func.func @d64(%q: tensor<?x?x8x64xf16>, %k: tensor<?x?x2x64xf16>, %v: tensor<?x?x2x64xf16>)
    -> (tensor<?x?x8x64xf16>, tensor<?x8x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v {mask = #skim.mask<causal, window = 512>}
      : tensor<?x?x8x64xf16>, tensor<?x?x2x64xf16>, tensor<?x?x2x64xf16>
  return %o, %lse : tensor<?x?x8x64xf16>, tensor<?x8x?xf32>
}

// -----

// Q in shared memory (the register budget): Q·Kᵀ takes A by ldmatrix too
// (D/16 = 12 more), and Q is a fourth cp.async.
// D192: mma.sync: 192
// D192-NEXT: mma.sync bf16: 192
// D192-NEXT: ldmatrix: 108
// D192-NEXT: ldmatrix x4: 60
// D192-NEXT: ldmatrix x4.trans: 48
// D192-NEXT: cp.async: 4
// D192: local memory: 0
// D192-NEXT: spills: 0 stores, 0 loads
func.func @d192(%q: tensor<?x?x4x192xbf16>, %k: tensor<?x?x1x192xbf16>, %v: tensor<?x?x1x192xbf16>)
    -> (tensor<?x?x4x192xbf16>, tensor<?x4x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v {mask = #skim.mask<causal>}
      : tensor<?x?x4x192xbf16>, tensor<?x?x1x192xbf16>, tensor<?x?x1x192xbf16>
  return %o, %lse : tensor<?x?x4x192xbf16>, tensor<?x4x?xf32>
}
