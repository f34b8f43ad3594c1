// K and V by TMA on sm_90a (skim-lower-tile-to-gpu{wgmma tma}): per kernel,
// two mbarriers (one per TMA tile) initialised by thread 0, one
// arrive.expect_tx per copy of a tile and one cp.async.bulk.tensor per
// 64-column panel of it (a 4-d box over [B, S, Hkv, D]), no cp.async and no
// async-proxy fence for K and V, the two tensor maps as 128-byte grid-constant
// parameters, and still no spills and no local memory. Copies of one chunk
// (D = 128: two panels per tile): the prologue's K, then V and the next K
// in the loop, so 3 expect_tx and 6 boxes; waits: K and V in the loop, and
// the drain of the last one-ahead K before the kernel returns. (sm_90a's
// default 128-row tile of one warpgroup, D = 128, sits at 255 registers with
// either copy; TMA tips it into a 32-byte spill: bench/NOTES.md.)
// REQUIRES: ptxas
// RUN: skim-opt %s --split-input-file --pass-pipeline='builtin.module(skim-expand-variants,skim-tile,skim-lower-tile-to-gpu{wgmma=true tma=true},canonicalize,cse,lower-affine,convert-scf-to-cf,nvvm-attach-target{chip=sm_90a O=3},gpu.module(convert-gpu-to-nvvm{index-bitwidth=64},skim-tensor-map-args,convert-nvvm-to-llvm,reconcile-unrealized-casts,skim-extern-dynamic-shared),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})' -o %t
// RUN: %python %S/Inputs/ptx_stats.py --ptxas sm_90a --module 0 < %t | FileCheck %s --check-prefix=D128
// RUN: %python %S/Inputs/ptx_stats.py --ptxas sm_90a --module 1 < %t | FileCheck %s --check-prefix=D64
// RUN: %python %S/Inputs/ptx_stats.py --ptxas sm_90a --module 2 < %t | FileCheck %s --check-prefix=W8
// RUN: %python %S/Inputs/ptx_stats.py --ptxas sm_90a --module 3 < %t | FileCheck %s --check-prefix=SEL
// RUN: skim-opt %s --split-input-file --pass-pipeline='builtin.module(skim-expand-variants,skim-tile,skim-lower-tile-to-gpu{wgmma=true tma=true})' | FileCheck %s --check-prefix=IR

// D128: mma.sync: 0
// D128: cp.async: 0
// D128: wgmma: 12
// D128: fence.proxy.async: 0
// D128-NEXT: cp.async.bulk.tensor: 6
// D128-NEXT:   cp.async.bulk.tensor 4: 6
// D128-NEXT: mbarrier.init: 2
// D128-NEXT: mbarrier.arrive.expect_tx: 3
// D128-NEXT: mbarrier.try_wait.parity: 3
// D128-NEXT: tensor-map params: 2
// D128-NEXT: red.global.v2.f32.add: 0
// D128-NEXT: local memory: 0
// D128-NEXT: spills: 0 stores, 0 loads

// The module records each kernel's maps for the plan: K and V, boxes of
// 1 batch × block_n 64 keys × 1 head × one 64-element panel.
// IR: skim.gpu_tensor_maps = {skim_k0_attention = "m1:1x64x1x64:128 m2:1x64x1x64:128"}
// IR: gpu.func @skim_k0_attention({{.*}}, %{{.+}}: !llvm.ptr, %{{.+}}: !llvm.ptr) kernel attributes {{{.*}}skim.tensor_map_args = array<i64: 22, 23>
func.func @d128(%q: tensor<?x?x16x128xbf16>, %k: tensor<?x?x1x128xbf16>, %v: tensor<?x?x1x128xbf16>)
    -> (tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v {mask = #skim.mask<causal>}
      : tensor<?x?x16x128xbf16>, tensor<?x?x1x128xbf16>, tensor<?x?x1x128xbf16>
  return %o, %lse : tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>
}

// -----

// D = 64: one panel per tile.
// D64: cp.async: 0
// D64: cp.async.bulk.tensor: 3
// D64-NEXT:   cp.async.bulk.tensor 4: 3
// D64-NEXT: mbarrier.init: 2
// D64-NEXT: mbarrier.arrive.expect_tx: 3
// D64: local memory: 0
// D64-NEXT: spills: 0 stores, 0 loads
func.func @d64(%q: tensor<?x?x8x64xbf16>, %k: tensor<?x?x2x64xbf16>, %v: tensor<?x?x2x64xbf16>)
    -> (tensor<?x?x8x64xbf16>, tensor<?x8x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v {mask = #skim.mask<causal, window = 256>}
      : tensor<?x?x8x64xbf16>, tensor<?x?x2x64xbf16>, tensor<?x?x2x64xbf16>
  return %o, %lse : tensor<?x?x8x64xbf16>, tensor<?x8x?xf32>
}

// -----

// Two warpgroups (block_m 128, 8 warps): one barrier wait per tile serves
// both.
// W8: cp.async: 0
// W8: wgmma: 12
// W8: cp.async.bulk.tensor: 6
// W8-NEXT:   cp.async.bulk.tensor 4: 6
// W8-NEXT: mbarrier.init: 2
// W8: local memory: 0
// W8-NEXT: spills: 0 stores, 0 loads
func.func @warps8(%q: tensor<?x?x16x128xbf16>, %k: tensor<?x?x1x128xbf16>, %v: tensor<?x?x1x128xbf16>)
    -> (tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v {mask = #skim.mask<causal>, schedule = #skim.schedule<block_m = 128, block_n = 64, warps = 8>}
      : tensor<?x?x16x128xbf16>, tensor<?x?x1x128xbf16>, tensor<?x?x1x128xbf16>
  return %o, %lse : tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>
}

// -----

// A block selection shared by a 64-token query tile: the selection loop's K
// and V come by TMA too (the chunk is the selected block's).
// SEL: cp.async: 0
// SEL: mbarrier.init: 2
// SEL: local memory: 0
// SEL-NEXT: spills: 0 stores, 0 loads
func.func @selected(%q: tensor<?x?x16x128xbf16>, %k: tensor<?x?x1x128xbf16>, %v: tensor<?x?x1x128xbf16>,
                    %idx: tensor<?x?x1x8xi32>) -> (tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v indices(%idx : tensor<?x?x1x8xi32>) {mask = #skim.mask<causal>, kv_block = 64, q_block = 64}
      : tensor<?x?x16x128xbf16>, tensor<?x?x1x128xbf16>, tensor<?x?x1x128xbf16>
  return %o, %lse : tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>
}
