// A schedule's #skim.sm90 part asks the sm_90a lowering for a producer
// warpgroup with its register split (no --warp-specialize needed): the
// launch count is the per-thread average of the split, rounded up to 8
// ((232 · 256 + 40 · 128) / 384 → 168 for FlashAttention-3's tile). When
// the kernel cannot have one, that is an error naming why; targets without
// wgmma ignore the part.
// RUN: skim-opt %s --split-input-file --pass-pipeline='builtin.module(skim-expand-variants,skim-tile,skim-lower-tile-to-gpu{wgmma=true tma=true})' --verify-diagnostics | FileCheck %s
// RUN: not skim-opt %s --split-input-file --pass-pipeline='builtin.module(skim-expand-variants,skim-tile,skim-lower-tile-to-gpu{wgmma=true})' -o /dev/null 2>&1 | FileCheck %s --check-prefix=CPASYNC
// RUN: skim-opt %s --split-input-file --pass-pipeline='builtin.module(skim-expand-variants,skim-tile,skim-lower-tile-to-gpu)' 2>/dev/null | FileCheck %s --check-prefix=SM80

// CHECK: gpu.func @skim_k0_attention({{.*}} kernel attributes {known_block_size = array<i32: 384, 1, 1>, nvvm.maxnreg = 168 : i32, {{.*}}skim.warp_specialized = "yes"}
// CHECK: nvvm.setmaxregister increase 232
// CHECK: nvvm.setmaxregister decrease 40
// CPASYNC: the schedule asks for a producer warpgroup (#skim.sm90<>) but it needs TMA copies (--tma=false keeps cp.async)
// sm_80 (no wgmma): the part is ignored, every kernel keeps its warps.
// SM80: gpu.func @skim_k0_attention({{.*}} kernel attributes {known_block_size = array<i32: 256, 1, 1>
// SM80-NOT: setmaxregister
// SM80-NOT: warp_specialized
func.func @fa3(%q: tensor<?x?x16x128xbf16>, %k: tensor<?x?x1x128xbf16>, %v: tensor<?x?x1x128xbf16>)
    -> (tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v {mask = #skim.mask<causal>, schedule = #skim.schedule<block_m = 128, block_n = 128, warps = 8, target = #skim.sm90<>>}
      : tensor<?x?x16x128xbf16>, tensor<?x?x1x128xbf16>, tensor<?x?x1x128xbf16>
  return %o, %lse : tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>
}

// -----

// One consumer warpgroup at 24 / 232: (232 + 24) · 128 / 256 = 128 a thread
// at launch, two CTAs per SM.
// CHECK: known_block_size = array<i32: 256, 1, 1>, nvvm.maxnreg = 128 : i32
// CHECK: nvvm.setmaxregister increase 232
// CHECK: nvvm.setmaxregister decrease 24
func.func @rows64(%q: tensor<?x?x16x128xbf16>, %k: tensor<?x?x1x128xbf16>, %v: tensor<?x?x1x128xbf16>)
    -> (tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v {mask = #skim.mask<causal>, schedule = #skim.schedule<target = #skim.sm90<consumer_warpgroups = 1, producer_regs = 24, consumer_regs = 232>>}
      : tensor<?x?x16x128xbf16>, tensor<?x?x1x128xbf16>, tensor<?x?x1x128xbf16>
  return %o, %lse : tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>
}

// -----

func.func @too_many_registers(%q: tensor<?x?x16x128xbf16>, %k: tensor<?x?x1x128xbf16>, %v: tensor<?x?x1x128xbf16>)
    -> (tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>) {
  // expected-error @+1 {{the schedule asks for a producer warpgroup (#skim.sm90<producer_regs = 256, consumer_regs = 256>) but the split needs 256 registers per thread for 384 threads at launch; an SM has 65536 and a thread at most 255}}
  %o, %lse = skim.attention %q, %k, %v {mask = #skim.mask<causal>, schedule = #skim.schedule<block_m = 128, warps = 8, target = #skim.sm90<producer_regs = 256, consumer_regs = 256>>}
      : tensor<?x?x16x128xbf16>, tensor<?x?x1x128xbf16>, tensor<?x?x1x128xbf16>
  return %o, %lse : tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>
}

// -----

func.func @producer_above_consumers(%q: tensor<?x?x16x128xbf16>, %k: tensor<?x?x1x128xbf16>, %v: tensor<?x?x1x128xbf16>)
    -> (tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>) {
  // expected-error @+1 {{producer_regs 64 exceeds consumer_regs 56}}
  %o, %lse = skim.attention %q, %k, %v {mask = #skim.mask<causal>, schedule = #skim.schedule<target = #skim.sm90<consumer_warpgroups = 1, producer_regs = 64, consumer_regs = 56>>}
      : tensor<?x?x16x128xbf16>, tensor<?x?x1x128xbf16>, tensor<?x?x1x128xbf16>
  return %o, %lse : tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>
}

// -----

// Shared selections walked from a list the kernel builds in scratch.
func.func @selected(%q: tensor<?x?x16x128xbf16>, %k: tensor<?x?x1x128xbf16>, %v: tensor<?x?x1x128xbf16>, %idx: tensor<?x?x1x8xi32>)
    -> (tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>) {
  // expected-error @+1 {{but the TMA coordinates need a scratch buffer the consumers fill (the selection list)}}
  %o, %lse = skim.attention %q, %k, %v indices(%idx : tensor<?x?x1x8xi32>) {mask = #skim.mask<causal>, kv_block = 128, q_block = 64, schedule = #skim.schedule<target = #skim.sm90<consumer_warpgroups = 1>>}
      : tensor<?x?x16x128xbf16>, tensor<?x?x1x128xbf16>, tensor<?x?x1x128xbf16>
  return %o, %lse : tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>
}

// -----

func.func @warps(%q: tensor<?x?x16x128xbf16>, %k: tensor<?x?x1x128xbf16>, %v: tensor<?x?x1x128xbf16>)
    -> (tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>) {
  // expected-error @+1 {{but the module's CTAs have 4 warps (the largest schedule's `warps`), not its 2 consumer warpgroups' 8}}
  %o, %lse = skim.attention %q, %k, %v {mask = #skim.mask<causal>, schedule = #skim.schedule<block_m = 128, target = #skim.sm90<consumer_warpgroups = 2>>}
      : tensor<?x?x16x128xbf16>, tensor<?x?x1x128xbf16>, tensor<?x?x1x128xbf16>
  return %o, %lse : tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>
}

// -----

func.func @cluster(%q: tensor<?x?x16x128xbf16>, %k: tensor<?x?x1x128xbf16>, %v: tensor<?x?x1x128xbf16>)
    -> (tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>) {
  // expected-error @+1 {{but thread-block clusters (cluster = 2) are not implemented yet}}
  %o, %lse = skim.attention %q, %k, %v {mask = #skim.mask<causal>, schedule = #skim.schedule<target = #skim.sm90<consumer_warpgroups = 1, cluster = 2>>}
      : tensor<?x?x16x128xbf16>, tensor<?x?x1x128xbf16>, tensor<?x?x1x128xbf16>
  return %o, %lse : tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>
}
