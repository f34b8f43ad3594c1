// The schedule's sm_90a toggles (#skim.schedule's `prefetch` and
// `overlap`), which the autotuner turns per stage: the pass options say what
// the target can do (skim-tile{prefetch-selections} and wgmma-rows, set by
// the sm_90a pipeline), the schedule whether a stage does it.
// RUN: skim-opt %s --split-input-file --skim-tile="wgmma-rows=64 prefetch-selections=true" | FileCheck %s --check-prefix=TILE
// RUN: skim-opt %s --split-input-file --skim-tile="wgmma-rows=64 prefetch-selections=true" --skim-lower-tile-to-gpu="wgmma=true" | FileCheck %s --check-prefix=GPU
// RUN: skim-opt %s --split-input-file --skim-tile | FileCheck %s --check-prefix=CPU

// Per-token selections, four tokens a tile (64 rows): by default the walk
// is one flattened loop that asks for the next chunk's K early (two K
// loads: the first chunk's and the next one's); `prefetch = false` keeps
// the nested loop (one K load).
// TILE-LABEL: func.func @skim_k0_attention
// TILE-COUNT-2: skim_tile.load %arg1[
// TILE-NOT: skim_tile.load %arg1[
// TILE-LABEL: func.func @skim_k0_attention
// TILE: skim_tile.load %arg1[
// TILE-NOT: skim_tile.load %arg1[
func.func @prefetched(%q: tensor<1x?x16x64xbf16>, %k: tensor<1x?x1x64xbf16>, %v: tensor<1x?x1x64xbf16>, %idx: tensor<1x?x1x4xi32>)
    -> (tensor<1x?x16x64xbf16>, tensor<1x16x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v indices(%idx : tensor<1x?x1x4xi32>)
      {mask = #skim.mask<causal>, kv_block = 64, schedule = #skim.schedule<tokens_per_tile = 4>}
      : tensor<1x?x16x64xbf16>, tensor<1x?x1x64xbf16>, tensor<1x?x1x64xbf16>
  return %o, %lse : tensor<1x?x16x64xbf16>, tensor<1x16x?xf32>
}

// -----

func.func @nested(%q: tensor<1x?x16x64xbf16>, %k: tensor<1x?x1x64xbf16>, %v: tensor<1x?x1x64xbf16>, %idx: tensor<1x?x1x4xi32>)
    -> (tensor<1x?x16x64xbf16>, tensor<1x16x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v indices(%idx : tensor<1x?x1x4xi32>)
      {mask = #skim.mask<causal>, kv_block = 64, schedule = #skim.schedule<tokens_per_tile = 4, prefetch = false>}
      : tensor<1x?x16x64xbf16>, tensor<1x?x1x64xbf16>, tensor<1x?x1x64xbf16>
  return %o, %lse : tensor<1x?x16x64xbf16>, tensor<1x16x?xf32>
}

// -----

// `overlap = true`: the kernel keeps a second score tile and is marked for
// the wgmma lowering, which then leaves P·V in flight under the softmax
// (wait_group 1), without the pass-wide overlap options. The CPU (no
// wgmma-rows) ignores it.
// TILE-LABEL: func.func @skim_k0_attention
// TILE-SAME: skim.overlap_wgmma
// TILE-COUNT-2: skim_tile.alloc <fragment> : memref<64x64xf32>
// GPU: nvvm.wgmma.wait.group.sync.aligned 1
// CPU: func.func @skim_k0_attention
// CPU-NOT: skim.overlap_wgmma
func.func @overlapped(%q: tensor<?x?x16x128xbf16>, %k: tensor<?x?x1x128xbf16>, %v: tensor<?x?x1x128xbf16>)
    -> (tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v {mask = #skim.mask<causal>, schedule = #skim.schedule<overlap = true>}
      : tensor<?x?x16x128xbf16>, tensor<?x?x1x128xbf16>, tensor<?x?x1x128xbf16>
  return %o, %lse : tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>
}
