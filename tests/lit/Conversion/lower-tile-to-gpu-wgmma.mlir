// The sm_90a form of the tensor-core distribution (skim-lower-tile-to-gpu
// with wgmma): gemms whose accumulator rows make whole 64-row warpgroup
// slices become inline `wgmma.mma_async` m64nNk16 with A in registers (the
// mma.sync A fragment) and B in 128-byte swizzled shared memory through a
// matrix descriptor; the B tiles lose their row padding and sit at
// 1024-byte offsets; cp.async writes reach wgmma through fence.proxy.async.
// Gemms that do not fit keep mma.sync.
// RUN: skim-opt %s --split-input-file --skim-expand-variants --skim-tile --skim-lower-tile-to-gpu=wgmma=true | FileCheck %s

// CHECK-LABEL: gpu.func @skim_k0_attention
// CHECK-SAME: skim.distribution = "wgmma"
// K (64 keys × 128) and V (64 × 128): flat, unpadded, 16 KiB apart.
// CHECK-DAG: memref.view %{{.+}}[%c0{{.*}}][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<8192xbf16, #gpu.address_space<workgroup>>
// CHECK-DAG: memref.view %{{.+}}[%c16384{{.*}}][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<8192xbf16, #gpu.address_space<workgroup>>
// CHECK-NOT: strided<
// K and V land in 16-byte chunks, 1024 per 64 × 128 tile, each at its
// swizzled place: chunk c of row r at c ^ (r % 8). The first K before the
// KV loop, then V in it.
// CHECK: scf.for %[[CHUNK:.+]] = %thread_id_x to %c1024 step %c128
// CHECK: arith.xori
// CHECK: nvvm.cp.async.shared.global {{.+}}, 16, cache = cg
// CHECK: scf.for
// CHECK: scf.for %{{.+}} = %thread_id_x to %c1024 step %c128
// Q·Kᵀ waits for K, fences it for the async proxy, then one m64n64k16 per
// 16 of D: K is K-major (imm-trans-b 0). The scores were zero-filled, so the
// first overwrites them (scale-d 0, no accumulator inputs) and the rest add.
// CHECK: nvvm.cp.async.wait.group 1
// CHECK-NEXT: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// CHECK-NEXT: gpu.barrier
// CHECK: nvvm.wgmma.fence.aligned
// CHECK: llvm.inline_asm has_side_effects "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {{.+}}, 0, 1, 1, 0;", "=f,{{(=f,)+}}r,r,r,r,l"
// CHECK-COUNT-7: llvm.inline_asm has_side_effects "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {{.+}}, 1, 1, 1, 0;"
// CHECK-NEXT: llvm.extractvalue
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NEXT: nvvm.wgmma.wait.group.sync.aligned 0
// The next chunk's K is asked for, the softmax runs, then P·V: P from the S
// registers, V N-major (imm-trans-b 1), N = D.
// CHECK: nvvm.cp.async.commit.group
// CHECK-NOT: nvvm.cp.async.wait.group
// CHECK: gpu.shuffle  xor
// CHECK: nvvm.cp.async.wait.group 1
// CHECK-NEXT: nvvm.fence.proxy
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-COUNT-4: llvm.inline_asm has_side_effects "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {{.+}}, 1, 1, 1, 1;"
// CHECK-NEXT: llvm.extractvalue
// CHECK: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK-NOT: nvvm.mma.sync
func.func @bf16(%q: tensor<?x?x16x128xbf16>, %k: tensor<?x?x1x128xbf16>, %v: tensor<?x?x1x128xbf16>)
    -> (tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v {mask = #skim.mask<causal>}
      : tensor<?x?x16x128xbf16>, tensor<?x?x1x128xbf16>, tensor<?x?x1x128xbf16>
  return %o, %lse : tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>
}

// -----

// f16, and two warpgroups of 8 warps for 128-row tiles: each issues its own
// 64-row slice.
// CHECK: skim.gpu_block = 256
// CHECK-LABEL: gpu.func @skim_k0_attention
// CHECK-SAME: skim.distribution = "wgmma"
// CHECK-COUNT-4: "wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16
// CHECK: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK-COUNT-4: "wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16 {{.+}}, 1, 1, 1, 1;"
func.func @f16_warps8(%q: tensor<?x?x8x64xf16>, %k: tensor<?x?x2x64xf16>, %v: tensor<?x?x2x64xf16>)
    -> (tensor<?x?x8x64xf16>, tensor<?x8x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v {mask = #skim.mask<causal>, schedule = #skim.schedule<block_m = 128, warps = 8>}
      : tensor<?x?x8x64xf16>, tensor<?x?x2x64xf16>, tensor<?x?x2x64xf16>
  return %o, %lse : tensor<?x?x8x64xf16>, tensor<?x8x?xf32>
}

// -----

// One warpgroup, 128-row tiles: two slices per gemm, one commit for both.
// CHECK-LABEL: gpu.func @skim_k0_attention
// CHECK-SAME: skim.distribution = "wgmma"
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-COUNT-16: "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16
// CHECK: nvvm.wgmma.commit.group.sync.aligned
func.func @bm128_warps4(%q: tensor<?x?x16x128xbf16>, %k: tensor<?x?x1x128xbf16>, %v: tensor<?x?x1x128xbf16>)
    -> (tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v {mask = #skim.mask<causal>, schedule = #skim.schedule<block_m = 128, warps = 4>}
      : tensor<?x?x16x128xbf16>, tensor<?x?x1x128xbf16>, tensor<?x?x1x128xbf16>
  return %o, %lse : tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>
}

// -----

// D = 32: a row of K is 64 bytes, not a 128-byte swizzle panel; the gemms
// keep mma.sync and the padded layout.
// CHECK-LABEL: gpu.func @skim_k0_attention
// CHECK-SAME: skim.distribution = "mma.sync"
// CHECK-NOT: wgmma
// CHECK: nvvm.mma.sync
func.func @d32(%q: tensor<?x?x4x32xbf16>, %k: tensor<?x?x1x32xbf16>, %v: tensor<?x?x1x32xbf16>)
    -> (tensor<?x?x4x32xbf16>, tensor<?x4x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v {mask = #skim.mask<causal>}
      : tensor<?x?x4x32xbf16>, tensor<?x?x1x32xbf16>, tensor<?x?x1x32xbf16>
  return %o, %lse : tensor<?x?x4x32xbf16>, tensor<?x4x?xf32>
}

// -----

// Per-token selections: a token's GQA group is 16 rows, a quarter of a
// warpgroup slice; those gemms keep mma.sync.
// CHECK-LABEL: gpu.func @skim_k0_attention
// CHECK-SAME: skim.distribution = "mma.sync"
// CHECK-NOT: wgmma
// CHECK: nvvm.mma.sync
func.func @token_selection(%q: tensor<?x?x16x128xbf16>, %k: tensor<?x?x1x128xbf16>, %v: tensor<?x?x1x128xbf16>,
                           %idx: tensor<?x?x1x8xi32>) -> (tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v indices(%idx : tensor<?x?x1x8xi32>) {mask = #skim.mask<causal>, kv_block = 64, q_block = 1}
      : tensor<?x?x16x128xbf16>, tensor<?x?x1x128xbf16>, tensor<?x?x1x128xbf16>
  return %o, %lse : tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>
}
