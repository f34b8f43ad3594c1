// The wgmma kernels in sm_90a PTX, and what ptxas makes of them: per kernel
// the KV loop's warpgroup MMAs (every wgmma of the kernel sits in that loop;
// cp.async: the first K before it, V and the next K in it), one
// wgmma.fence / commit / wait_group 0 per gemm, the
// async-proxy fence after each K/V copy lands, and no spills and no local
// memory. Counts for one chunk of block_n keys:
//   Q·Kᵀ: D/16 k-steps of m64n{block_n}k16 per 64-row slice
//   P·V:  block_n/16 k-steps of m64n{D}k16 per 64-row slice
// REQUIRES: ptxas
// RUN: skim-opt %s --split-input-file --pass-pipeline='builtin.module(skim-expand-variants,skim-tile,skim-lower-tile-to-gpu{wgmma=true},canonicalize,cse,lower-affine,convert-scf-to-cf,nvvm-attach-target{chip=sm_90a O=3},gpu.module(convert-gpu-to-nvvm{index-bitwidth=64},convert-nvvm-to-llvm,reconcile-unrealized-casts,skim-extern-dynamic-shared),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})' -o %t
// RUN: %python %S/Inputs/ptx_stats.py --ptxas sm_90a --module 0 < %t | FileCheck %s --check-prefix=D128
// RUN: %python %S/Inputs/ptx_stats.py --ptxas sm_90a --module 1 < %t | FileCheck %s --check-prefix=D192
// RUN: %python %S/Inputs/ptx_stats.py --ptxas sm_90a --module 2 < %t | FileCheck %s --check-prefix=W8

// D128: mma.sync: 0
// D128: cp.async: 3
// D128: wgmma: 12
// D128-NEXT:   wgmma m64n128k16: 4
// D128-NEXT:   wgmma m64n64k16: 8
// D128-NEXT: wgmma.fence: 2
// D128-NEXT: wgmma.wait_group: 2
// D128-NEXT: fence.proxy.async: 2
// D128-NEXT: cp.async.bulk.tensor: 0
// D128-NEXT: mbarrier.init: 0
// D128-NEXT: mbarrier.arrive.expect_tx: 0
// D128-NEXT: mbarrier.try_wait.parity: 0
// D128-NEXT: tensor-map params: 0
// D128-NEXT: red.global.v2.f32.add: 0
// D128-NEXT: local memory: 0
// D128-NEXT: spills: 0 stores, 0 loads
func.func @d128(%q: tensor<?x?x16x128xbf16>, %k: tensor<?x?x1x128xbf16>, %v: tensor<?x?x1x128xbf16>)
    -> (tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v {mask = #skim.mask<causal>}
      : tensor<?x?x16x128xbf16>, tensor<?x?x1x128xbf16>, tensor<?x?x1x128xbf16>
  return %o, %lse : tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>
}

// -----

// D = 192: Q past the register budget stays in shared memory and reaches
// wgmma's A registers through ldmatrix; N = 192 for P·V.
// D192: mma.sync: 0
// D192: ldmatrix x4: 12
// D192: wgmma: 16
// D192-NEXT:   wgmma m64n192k16: 4
// D192-NEXT:   wgmma m64n64k16: 12
// D192: local memory: 0
// D192-NEXT: spills: 0 stores, 0 loads
func.func @d192(%q: tensor<?x?x4x192xbf16>, %k: tensor<?x?x1x192xbf16>, %v: tensor<?x?x1x192xbf16>)
    -> (tensor<?x?x4x192xbf16>, tensor<?x4x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v {mask = #skim.mask<causal>}
      : tensor<?x?x4x192xbf16>, tensor<?x?x1x192xbf16>, tensor<?x?x1x192xbf16>
  return %o, %lse : tensor<?x?x4x192xbf16>, tensor<?x4x?xf32>
}

// -----

// Two warpgroups (block_m 128, 8 warps): the same instructions per thread.
// W8: mma.sync: 0
// W8: wgmma: 12
// W8: local memory: 0
// W8-NEXT: spills: 0 stores, 0 loads
func.func @warps8(%q: tensor<?x?x16x128xbf16>, %k: tensor<?x?x1x128xbf16>, %v: tensor<?x?x1x128xbf16>)
    -> (tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v {mask = #skim.mask<causal>, schedule = #skim.schedule<block_m = 128, block_n = 64, warps = 8>}
      : tensor<?x?x16x128xbf16>, tensor<?x?x1x128xbf16>, tensor<?x?x1x128xbf16>
  return %o, %lse : tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>
}
