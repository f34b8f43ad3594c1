// FlashAttention-3's order on sm_90a (skim-tile{overlap-softmax} +
// skim-lower-tile-to-gpu{wgmma}): the key-range loop is software-pipelined
// with a second score tile, and a wgmma group stays in flight until an op
// touches one of its tiles. In the loop: Q·Kᵀ of chunk c and P·V of chunk
// c − bn are both issued; the next K copy (Q·Kᵀ's B) waits for all but the
// newest group (wait_group 1: P·V keeps running); the softmax of c runs
// under P·V; the rescale of the accumulator waits for P·V (wait_group 0);
// then V of c is asked for and the scores move to the first tile.
// RUN: skim-opt %s --skim-expand-variants --skim-tile=overlap-softmax=true | FileCheck %s --check-prefix=TILE
// RUN: skim-opt %s --skim-expand-variants --skim-tile=overlap-softmax=true --skim-lower-tile-to-gpu="wgmma=true overlap-wgmma=true" | FileCheck %s

// The tile kernel: a prologue (the first chunk's scores and softmax, its V
// asked for), the steady loop, and the last chunk's P·V after it.
// TILE: %[[S:.+]] = skim_tile.alloc <fragment> : memref<64x64xf32>
// TILE: %[[S2:.+]] = skim_tile.alloc <fragment> : memref<64x64xf32>
// TILE: scf.if
// TILE: skim_tile.gemm %[[Q:.+]], %[[K:.+]], %[[S]] :
// TILE: skim_tile.load {{.+}} into %[[V:[^ ]+]] {row_dim = 1 : i64, stage = 1 : i64}
// TILE: scf.for
// TILE: skim_tile.fill %[[S2]]
// TILE-NEXT: skim_tile.gemm %[[Q]], %[[K]], %[[S2]] :
// TILE-NEXT: skim_tile.gemm %[[S]], %[[V]], %[[ACC:[^ ]+]] :
// TILE: skim_tile.reduce max %[[S2]]
// TILE: skim_tile.reduce sum %[[S2]]
// TILE: skim_tile.map ins(%{{.+}} : memref<64xf32>) outs(%[[ACC]] : memref<64x128xf32>)
// TILE: skim_tile.load {{.+}} into %[[V]] {row_dim = 1 : i64, stage = 1 : i64}
// TILE: skim_tile.map ins(%[[S2]] : memref<64x64xf32>) outs(%[[S]] : memref<64x64xf32>)
// TILE: skim_tile.gemm %[[S]], %[[V]], %[[ACC]] :
// TILE-NEXT: }

// The loop body in the lowering (the KV loop carries the next chunk).
// CHECK: scf.for {{.+}} iter_args(
// CHECK: "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NOT: nvvm.wgmma.wait.group
// CHECK: "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NOT: nvvm.wgmma.wait.group
// CHECK: nvvm.wgmma.wait.group.sync.aligned 1
// CHECK-NOT: nvvm.wgmma.wait.group
// CHECK: gpu.shuffle  xor
// CHECK-NOT: nvvm.wgmma.wait.group
// CHECK: llvm.call_intrinsic "llvm.nvvm.ex2.approx.f32"
// CHECK: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK: scf.yield
func.func @causal(%q: tensor<?x?x16x128xbf16>, %k: tensor<?x?x1x128xbf16>, %v: tensor<?x?x1x128xbf16>)
    -> (tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v {mask = #skim.mask<causal>}
      : tensor<?x?x16x128xbf16>, tensor<?x?x1x128xbf16>, tensor<?x?x1x128xbf16>
  return %o, %lse : tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>
}
