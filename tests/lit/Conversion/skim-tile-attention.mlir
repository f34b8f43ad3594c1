// RUN: skim-opt %s --skim-tile --split-input-file --verify-diagnostics | FileCheck %s

// A causal window attention becomes one kernel: the plan has the three
// inputs, O and LSE as outputs with sizes over the inputs' dims, and a grid
// of (⌈T / tokens⌉, Hq / G, B). The inputs must agree on B and S (checked
// by the runtime before any kernel runs). With block_m = 64 and G = 2, a
// tile packs 32 tokens × 2 heads.

// CHECK: module attributes {skim.gpu_warps = 4 : i64, skim.plan = "skim-plan 1\0Abuffer 0 input 0 f32 4 d0.0 d0.1 4 32\0Abuffer 1 input 1 f32 4 d1.0 d1.1 2 32\0Abuffer 2 input 2 f32 4 d2.0 d2.1 2 32\0Abuffer 3 output 0 f32 4 d0.0 d0.1 4 32\0Abuffer 4 output 1 f32 3 d0.0 4 d0.1\0Arequire d1.0 d0.0 key.B=query.B\0Arequire d2.0 d0.0 value.B=query.B\0Arequire d2.1 d1.1 value.S=key.S\0Akernel skim_k0_attention grid d0.1,32,cdiv 2 d0.0 args 22
// CHECK-SAME: skim.variant = "f"
// CHECK-LABEL: func.func @skim_k0_attention
// CHECK-SAME: attributes {skim_tile.kernel}
// CHECK-DAG: %[[Q:.+]] = skim_tile.alloc <fragment> : memref<64x32xf32>
// CHECK-DAG: %[[ACC:.+]] = skim_tile.alloc <fragment> : memref<64x32xf32>
// CHECK-DAG: %[[S:.+]] = skim_tile.alloc <fragment> : memref<64x64xf32>
// CHECK-DAG: %[[K:.+]] = skim_tile.alloc <shared> : memref<32x64xf32>
// CHECK-DAG: %[[V:.+]] = skim_tile.alloc <shared> : memref<64x32xf32>
// CHECK: skim_tile.load %{{.+}} into %[[Q]] {group = 2 : i64}
// The KV loop, K one chunk ahead: the prologue asks for the first chunk's
// K (stage 0); each chunk asks for its V (stage 1), runs Q·Kᵀ, then asks
// for the next chunk's K while the mask, the online softmax and P·V run.
// K and V name their rows by (batch, key, KV head, 0) coordinates, rows
// along dim 1, so a target may copy them as TMA boxes.
// CHECK: skim_tile.load %{{.+}} coords(%[[B:.+]], %{{.+}}, %[[H:.+]], %{{.+}}) into %[[K]] {row_dim = 1 : i64, stage = 0 : i64, transpose}
// CHECK-NEXT: scf.for %[[C0:[^ ]+]] =
// CHECK: skim_tile.load %{{.+}} coords(%[[B]], %[[C0]], %[[H]], %{{.+}}) into %[[V]] {row_dim = 1 : i64, stage = 1 : i64}
// CHECK: skim_tile.gemm %[[Q]], %[[K]], %[[S]] :
// CHECK: skim_tile.load %{{.+}} coords(%[[B]], %{{.+}}, %[[H]], %{{.+}}) into %[[K]] {row_dim = 1 : i64, stage = 0 : i64, transpose}
// CHECK: skim_tile.reduce max %[[S]]
// CHECK: math.exp2
// CHECK: skim_tile.reduce sum %[[S]]
// CHECK: skim_tile.gemm %[[S]], %{{.+}}, %[[ACC]] :
// CHECK: skim_tile.store %[[ACC]] into
// CHECK-NOT: skim.attention
func.func @f(%q: tensor<?x?x4x32xf32>, %k: tensor<?x?x2x32xf32>, %v: tensor<?x?x2x32xf32>)
    -> (tensor<?x?x4x32xf32>, tensor<?x4x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v {mask = #skim.mask<causal, window = 100>}
      : tensor<?x?x4x32xf32>, tensor<?x?x2x32xf32>, tensor<?x?x2x32xf32>
  return %o, %lse : tensor<?x?x4x32xf32>, tensor<?x4x?xf32>
}

// -----

// Kernels are specialised on head counts and head dims.
func.func @dynamic_heads(%q: tensor<?x?x?x32xf32>, %k: tensor<?x?x2x32xf32>, %v: tensor<?x?x2x32xf32>)
    -> tensor<?x?x?x32xf32> {
  // expected-error @+1 {{'skim.attention' op needs a static Hq: kernels are specialised on it}}
  %o, %lse = skim.attention %q, %k, %v
      : tensor<?x?x?x32xf32>, tensor<?x?x2x32xf32>, tensor<?x?x2x32xf32>
  return %o : tensor<?x?x?x32xf32>
}

// -----

func.func @variant_not_expanded(%q: tensor<?x?x4x32xf32>, %k: tensor<?x?x2x32xf32>, %v: tensor<?x?x2x32xf32>)
    -> tensor<?x?x4x32xf32> {
  // expected-error @+1 {{'skim.moba' op is a variant op: run skim-expand-variants first}}
  %o, %lse = skim.moba %q, %k, %v : tensor<?x?x4x32xf32>, tensor<?x?x2x32xf32>, tensor<?x?x2x32xf32>
  return %o : tensor<?x?x4x32xf32>
}

// -----

func.func @argument_returned(%q: tensor<?x?x4x32xf32>) -> tensor<?x?x4x32xf32> {
  // expected-error @+1 {{'func.return' op result #0 must be computed by the variant and returned once (not an argument, not twice)}}
  return %q : tensor<?x?x4x32xf32>
}

// -----

// expected-error @+1 {{skim-tile expects exactly one variant function, found 2}}
module {
  func.func @a() { return }
  func.func @b() { return }
}

// -----

// Tokens of one query tile share their selection (q_block = 64, a multiple
// of the tile's 4 tokens): the union loop writes no per-row mask, and its
// chunks take the whole-chunk test (only the causal edge is masked; the
// other chunks' scores stay raw, their scale applied in the exponent).
// CHECK-LABEL: func.func @skim_k0_attention
// CHECK: scf.for
// CHECK-NOT: memref.store {{.+}} : memref<64xf32>
// CHECK: skim_tile.gemm
// CHECK: %[[PARTIAL:.+]] = arith.xori
// CHECK-NEXT: scf.if %[[PARTIAL]] {
// CHECK-NEXT: skim_tile.map
// CHECK: math.fma
func.func @shared_selection(%q: tensor<?x?x16x64xbf16>, %k: tensor<?x?x1x64xbf16>, %v: tensor<?x?x1x64xbf16>,
                            %idx: tensor<?x?x1x8xi32>) -> (tensor<?x?x16x64xbf16>, tensor<?x16x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v indices(%idx : tensor<?x?x1x8xi32>) {mask = #skim.mask<causal>, kv_block = 64, q_block = 64}
      : tensor<?x?x16x64xbf16>, tensor<?x?x1x64xbf16>, tensor<?x?x1x64xbf16>
  return %o, %lse : tensor<?x?x16x64xbf16>, tensor<?x16x?xf32>
}

// -----

// A tile of per-token selections records which of its tokens chose each
// block in one 64-bit word: more tokens than that are refused by name.
func.func @too_many_tokens(%q: tensor<?x?x4x64xbf16>, %k: tensor<?x?x1x64xbf16>, %v: tensor<?x?x1x64xbf16>, %idx: tensor<?x?x1x8xi32>)
    -> (tensor<?x?x4x64xbf16>, tensor<?x4x?xf32>) {
  // expected-error @+1 {{schedule tokens_per_tile = 65: a tile of per-token selections takes at most 64 tokens}}
  %o, %lse = skim.attention %q, %k, %v indices(%idx : tensor<?x?x1x8xi32>) {mask = #skim.mask<causal>, kv_block = 64, q_block = 1, schedule = #skim.schedule<tokens_per_tile = 65>}
      : tensor<?x?x4x64xbf16>, tensor<?x?x1x64xbf16>, tensor<?x?x1x64xbf16>
  return %o, %lse : tensor<?x?x4x64xbf16>, tensor<?x4x?xf32>
}
