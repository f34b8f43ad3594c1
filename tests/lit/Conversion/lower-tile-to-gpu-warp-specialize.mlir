// A TMA producer warpgroup (skim-lower-tile-to-gpu{wgmma tma
// warp-specialize}): the CTA gains one warpgroup, whose first thread runs a
// slice of the kernel that issues every K/V copy after waiting on the tile's
// empty barrier; the consumers (the original warpgroups) arrive on that
// barrier when done with a tile, wait on the full one as before, and sync
// among themselves with bar.sync 1 over their own threads. setmaxnreg moves
// registers from the producer (24) to the consumers: FlashAttention-3's
// 128-row tile of two consumer warpgroups launches at 168 registers (one CTA
// of 384 threads per SM) and its consumers rise to 240; the 64-row tile of
// one warpgroup launches at 128 (two CTAs of 256 per SM) and rises to 232.
// Kernels whose copy coordinates need memory the kernel writes (the
// selection walk's list in scratch) stay unsplit and say why.
// REQUIRES: ptxas

// RUN: skim-opt %s --split-input-file --pass-pipeline='builtin.module(skim-expand-variants,skim-tile{overlap-softmax=true},skim-lower-tile-to-gpu{wgmma=true tma=true overlap-wgmma=true warp-specialize=true})' | FileCheck %s --check-prefix=IR
// RUN: skim-opt %s --split-input-file --pass-pipeline='builtin.module(skim-expand-variants,skim-tile{wgmma-rows=64 prefetch-selections=true},skim-lower-tile-to-gpu{wgmma=true tma=true warp-specialize=true},canonicalize,cse,lower-affine,convert-scf-to-cf,nvvm-attach-target{chip=sm_90a O=3},gpu.module(convert-gpu-to-nvvm{index-bitwidth=64},skim-tensor-map-args,convert-nvvm-to-llvm,reconcile-unrealized-casts,skim-extern-dynamic-shared),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})' -o %t
// RUN: %python %S/Inputs/ptx_stats.py --ptxas sm_90a --warp-roles --module 0 < %t | FileCheck %s --check-prefix=FA3
// RUN: %python %S/Inputs/ptx_stats.py --ptxas sm_90a --warp-roles --module 1 < %t | FileCheck %s --check-prefix=ROWS64
// RUN: %python %S/Inputs/ptx_stats.py --ptxas sm_90a --warp-roles --module 2 < %t | FileCheck %s --check-prefix=UNSPLIT
// RUN: skim compile --variant causal --heads 16/1 --dim 128 --dtype bf16 --target sm_90a --warp-specialize -o %t.skim
// RUN: %python -c "import sys; [print(l.decode()) for l in open(sys.argv[1], 'rb').read().split(b'\n') if l.startswith(b'kernel ')]" %t.skim | FileCheck %s --check-prefix=PLAN

// IR: skim.gpu_blocks = {skim_k0_attention = 384 : i64}
// IR: gpu.func @skim_k0_attention({{.*}} kernel attributes {known_block_size = array<i32: 384, 1, 1>, nvvm.maxnreg = 168 : i32, {{.*}}skim.warp_specialized = "yes"}
// Each tile's full barrier takes thread 0's expect_tx, its empty barrier
// the 256 consumers' arrivals.
// IR: nvvm.mbarrier.init %[[KFULL:.+]], %c1_i32{{.*}}, predicate
// IR: nvvm.mbarrier.init %[[KEMPTY:.+]], %c256_i32{{.*}}, predicate
// IR: nvvm.mbarrier.init %[[VFULL:.+]], %c1_i32{{.*}}, predicate
// IR: nvvm.mbarrier.init %[[VEMPTY:.+]], %c256_i32{{.*}}, predicate
// IR: gpu.barrier
// IR: %[[CONSUMER:.+]] = arith.cmpi ult, %thread_id_x, %c256
// IR: scf.if %[[CONSUMER]] {
// IR-NEXT: nvvm.setmaxregister increase 240
// Consumers: no copy, no expect_tx, no CTA-wide barrier.
// IR-NOT: cp.async.bulk.tensor
// IR-NOT: expect_tx
// IR-NOT: gpu.barrier
// IR: nvvm.barrier id = %{{.+}} number_of_threads = %c256
// IR: nvvm.mbarrier.arrive %[[KEMPTY]]
// IR: nvvm.mbarrier.try_wait.parity %[[KFULL]]
// IR: nvvm.mbarrier.arrive %[[VEMPTY]]
// IR: nvvm.mbarrier.try_wait.parity %[[VFULL]]
// IR: nvvm.setmaxregister decrease 24
// IR: %[[PRODUCER:.+]] = arith.cmpi eq, %thread_id_x, %c256
// IR: scf.if %[[PRODUCER]] {
// The producer: no wgmma, no barrier; waits for the consumers, then copies.
// IR-NOT: wgmma
// IR-NOT: nvvm.barrier
// IR: nvvm.mbarrier.try_wait.parity %[[KEMPTY]]
// IR: arith.xori
// IR-NEXT: memref.store
// IR: nvvm.mbarrier.arrive.expect_tx %[[KFULL]], %c32768_i32 :
// IR: nvvm.cp.async.bulk.tensor.shared.cluster.global {{.*}}, %[[KFULL]], box
// IR: nvvm.cp.async.bulk.tensor.shared.cluster.global {{.*}}, %[[KFULL]], box
// IR: scf.for
// IR: nvvm.mbarrier.try_wait.parity %[[VEMPTY]]
// IR: nvvm.cp.async.bulk.tensor.shared.cluster.global {{.*}}, %[[VFULL]], box
// IR: gpu.return

// FA3: wgmma: 16
// FA3: cp.async.bulk.tensor: 6
// FA3: local memory: 0
// FA3-NEXT: maxnreg: 1
// FA3-NEXT:   maxnreg 168: 1
// FA3-NEXT: maxntid: 1
// FA3-NEXT:   maxntid 384: 1
// FA3-NEXT: setmaxnreg: 2
// FA3-NEXT:   setmaxnreg dec24: 1
// FA3-NEXT:   setmaxnreg inc240: 1
// FA3-NEXT: bar.sync consumers: {{[1-9][0-9]*}}
// FA3-NEXT:   bar.sync consumers 256: {{[1-9][0-9]*}}
// FA3-NEXT: mbarrier.arrive: {{[1-9][0-9]*}}
// FA3-NEXT: spills: 0 stores, 0 loads
func.func @fa3(%q: tensor<?x?x16x128xbf16>, %k: tensor<?x?x1x128xbf16>, %v: tensor<?x?x1x128xbf16>)
    -> (tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v {mask = #skim.mask<causal>, schedule = #skim.schedule<block_m = 128, block_n = 128, warps = 8>}
      : tensor<?x?x16x128xbf16>, tensor<?x?x1x128xbf16>, tensor<?x?x1x128xbf16>
  return %o, %lse : tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>
}

// -----

// ROWS64: wgmma: 12
// ROWS64: cp.async.bulk.tensor: 6
// ROWS64: local memory: 0
// ROWS64-NEXT: maxnreg: 1
// ROWS64-NEXT:   maxnreg 128: 1
// ROWS64-NEXT: maxntid: 1
// ROWS64-NEXT:   maxntid 256: 1
// ROWS64-NEXT: setmaxnreg: 2
// ROWS64-NEXT:   setmaxnreg dec24: 1
// ROWS64-NEXT:   setmaxnreg inc232: 1
// One consumer warpgroup whose shared tiles are all TMA tiles orders every
// access through mbarriers: no consumer barrier is left.
// ROWS64-NEXT: bar.sync consumers: 0
// ROWS64-NEXT: mbarrier.arrive: {{[1-9][0-9]*}}
// ROWS64-NEXT: spills: 0 stores, 0 loads
// IR: // {{-----}}
// IR: gpu.func @skim_k0_attention
// IR-SAME: known_block_size = array<i32: 256, 1, 1>, nvvm.maxnreg = 128
func.func @rows64(%q: tensor<?x?x16x128xbf16>, %k: tensor<?x?x1x128xbf16>, %v: tensor<?x?x1x128xbf16>)
    -> (tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v {mask = #skim.mask<causal>, schedule = #skim.schedule<block_m = 64, block_n = 64, warps = 4>}
      : tensor<?x?x16x128xbf16>, tensor<?x?x1x128xbf16>, tensor<?x?x1x128xbf16>
  return %o, %lse : tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>
}

// -----

// Shared selections walked from a list the kernel writes in scratch: the
// producer could not compute its coordinates alone, so the kernel keeps
// its 128 threads and its thread-0 copies.
// UNSPLIT: cp.async.bulk.tensor: {{[1-9][0-9]*}}
// UNSPLIT: maxnreg: 0
// UNSPLIT-NEXT: maxntid: 1
// UNSPLIT-NEXT:   maxntid 128: 1
// UNSPLIT-NEXT: setmaxnreg: 0
// UNSPLIT-NEXT: bar.sync consumers: 0
// UNSPLIT-NEXT: mbarrier.arrive: 0
// IR: // {{-----}}
// IR: gpu.func @skim_k0_attention
// IR-SAME: known_block_size = array<i32: 128, 1, 1>
// IR-SAME: skim.warp_specialized = "no: the TMA coordinates need a scratch buffer the consumers fill (the selection list)"
func.func @selected(%q: tensor<?x?x16x128xbf16>, %k: tensor<?x?x1x128xbf16>, %v: tensor<?x?x1x128xbf16>, %idx: tensor<?x?x1x8xi32>)
    -> (tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v indices(%idx : tensor<?x?x1x8xi32>) {mask = #skim.mask<causal>, kv_block = 128, q_block = 128}
      : tensor<?x?x16x128xbf16>, tensor<?x?x1x128xbf16>, tensor<?x?x1x128xbf16>
  return %o, %lse : tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>
}

// The plan launches the split kernel with its producer warpgroup.
// PLAN: kernel skim_k0_attention {{.*}} block 256 1 1 smem
