// The KV-major order on sm_90a (NSA's group of 16, D = 128, 64-key blocks):
// both passes gather Q by cp.async into shared memory (one copy loop each)
// and read it with ldmatrix into wgmma's A registers; K (and in pass 2 V)
// arrive by TMA, once per work item; pass 1 is Q·Kᵀ (m64n64k16 × 8), pass 2
// Q·Kᵀ and P·V (m64n128k16 × 4); pass 2 adds its 64 × 128 partial O with 32
// red.global.v2.f32.add a thread (PTX 8.1). No kernel spills.
// REQUIRES: ptxas
// RUN: skim-opt %s --pass-pipeline='builtin.module(skim-expand-variants,skim-tile,skim-lower-tile-to-gpu{wgmma=true tma=true},canonicalize,cse,lower-affine,convert-scf-to-cf,nvvm-attach-target{chip=sm_90a features=+ptx81 O=3},gpu.module(convert-gpu-to-nvvm{index-bitwidth=64},skim-tensor-map-args,convert-nvvm-to-llvm,reconcile-unrealized-casts,skim-extern-dynamic-shared),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})' | %python %S/Inputs/ptx_stats.py --ptxas sm_90a | FileCheck %s

// CHECK: mma.sync: 0
// CHECK: ldmatrix: 16
// CHECK: cp.async: 2
// CHECK: wgmma: 20
// CHECK-NEXT: wgmma m64n128k16: 4
// CHECK-NEXT: wgmma m64n64k16: 16
// CHECK: cp.async.bulk.tensor: 6
// CHECK: red.global.v2.f32.add: 32
// CHECK: local memory: 0
// CHECK-NOT: spills: {{[1-9]}}
func.func @kv_major(%q: tensor<?x?x64x128xbf16>, %k: tensor<?x?x4x128xbf16>, %v: tensor<?x?x4x128xbf16>, %idx: tensor<?x?x4x16xi32>)
    -> (tensor<?x?x64x128xbf16>, tensor<?x64x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v indices(%idx : tensor<?x?x4x16xi32>) {mask = #skim.mask<causal>, kv_block = 64, schedule = #skim.schedule<order = kv_major>}
      : tensor<?x?x64x128xbf16>, tensor<?x?x4x128xbf16>, tensor<?x?x4x128xbf16>
  return %o, %lse : tensor<?x?x64x128xbf16>, tensor<?x64x?xf32>
}
