// RUN: skim-opt %s -split-input-file -verify-diagnostics

// One case per verifier rule of the skim dialect (ARCHITECTURE.md §2), each
// naming the exact diagnostic. Type inference runs while parsing, so its
// errors carry the "'skim.xxx' op " prefix themselves.

//===----------------------------------------------------------------------===//
// skim.attention
//===----------------------------------------------------------------------===//

func.func @attention_query_rank(%q: tensor<128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                                %v: tensor<1x256x2x64xbf16>) {
  // expected-error @+1 {{'skim.attention' op query must have rank 4 [B, T, Hq, D], got rank 3}}
  %o, %lse = skim.attention %q, %k, %v
      : tensor<128x8x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @attention_key_rank(%q: tensor<1x128x8x64xbf16>, %k: tensor<256x2x64xbf16>,
                              %v: tensor<1x256x2x64xbf16>) {
  // expected-error @+1 {{'skim.attention' op key must have rank 4 [B, S, Hkv, D], got rank 3}}
  %o, %lse = skim.attention %q, %k, %v
      : tensor<1x128x8x64xbf16>, tensor<256x2x64xbf16>, tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @attention_value_rank(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                                %v: tensor<1x256x2x64x1xbf16>) {
  // expected-error @+1 {{'skim.attention' op value must have rank 4 [B, S, Hkv, Dv], got rank 5}}
  %o, %lse = skim.attention %q, %k, %v
      : tensor<1x128x8x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x2x64x1xbf16>
  return
}

// -----

func.func @attention_key_element_type(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xf16>,
                                      %v: tensor<1x256x2x64xbf16>) {
  // expected-error @+1 {{'skim.attention' op key element type 'f16' differs from query element type 'bf16'}}
  %o, %lse = skim.attention %q, %k, %v
      : tensor<1x128x8x64xbf16>, tensor<1x256x2x64xf16>, tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @attention_value_element_type(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                                        %v: tensor<1x256x2x64xf32>) {
  // expected-error @+1 {{'skim.attention' op value element type 'f32' differs from query element type 'bf16'}}
  %o, %lse = skim.attention %q, %k, %v
      : tensor<1x128x8x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x2x64xf32>
  return
}

// -----

func.func @attention_key_batch(%q: tensor<1x128x8x64xbf16>, %k: tensor<2x256x2x64xbf16>,
                               %v: tensor<2x256x2x64xbf16>) {
  // expected-error @+1 {{'skim.attention' op key dim 0 (B) is 2, expected 1 (B of query)}}
  %o, %lse = skim.attention %q, %k, %v
      : tensor<1x128x8x64xbf16>, tensor<2x256x2x64xbf16>, tensor<2x256x2x64xbf16>
  return
}

// -----

func.func @attention_value_batch(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                                 %v: tensor<3x256x2x64xbf16>) {
  // expected-error @+1 {{'skim.attention' op value dim 0 (B) is 3, expected 1 (B of query)}}
  %o, %lse = skim.attention %q, %k, %v
      : tensor<1x128x8x64xbf16>, tensor<1x256x2x64xbf16>, tensor<3x256x2x64xbf16>
  return
}

// -----

func.func @attention_key_head_dim(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x128xbf16>,
                                  %v: tensor<1x256x2x64xbf16>) {
  // expected-error @+1 {{'skim.attention' op key dim 3 (D) is 128, expected 64 (D of query)}}
  %o, %lse = skim.attention %q, %k, %v
      : tensor<1x128x8x64xbf16>, tensor<1x256x2x128xbf16>, tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @attention_value_tokens(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                                  %v: tensor<1x255x2x64xbf16>) {
  // expected-error @+1 {{'skim.attention' op value dim 1 (S) is 255, expected 256 (S of key)}}
  %o, %lse = skim.attention %q, %k, %v
      : tensor<1x128x8x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x255x2x64xbf16>
  return
}

// -----

func.func @attention_value_heads(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                                 %v: tensor<1x256x4x64xbf16>) {
  // expected-error @+1 {{'skim.attention' op value dim 2 (Hkv) is 4, expected 2 (Hkv of key)}}
  %o, %lse = skim.attention %q, %k, %v
      : tensor<1x128x8x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x4x64xbf16>
  return
}

// -----

func.func @attention_zero_kv_heads(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x0x64xbf16>,
                                   %v: tensor<1x256x0x64xbf16>) {
  // expected-error @+1 {{'skim.attention' op key dim 2 (Hkv) must be > 0, got 0}}
  %o, %lse = skim.attention %q, %k, %v
      : tensor<1x128x8x64xbf16>, tensor<1x256x0x64xbf16>, tensor<1x256x0x64xbf16>
  return
}

// -----

func.func @attention_gqa_group(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x3x64xbf16>,
                               %v: tensor<1x256x3x64xbf16>) {
  // expected-error @+1 {{'skim.attention' op query heads Hq = 8 must be a multiple of key heads Hkv = 3}}
  %o, %lse = skim.attention %q, %k, %v
      : tensor<1x128x8x64xbf16>, tensor<1x256x3x64xbf16>, tensor<1x256x3x64xbf16>
  return
}

// -----

func.func @attention_scale_infinite(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                                    %v: tensor<1x256x2x64xbf16>) {
  // expected-error @+1 {{'skim.attention' op scale must be finite and > 0, got INF}}
  %o, %lse = skim.attention %q, %k, %v {scale = 0x7F800000 : f32}
      : tensor<1x128x8x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @attention_scale_nonpositive(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                                       %v: tensor<1x256x2x64xbf16>) {
  // expected-error @+1 {{'skim.attention' op scale must be finite and > 0, got 0.000000e+00}}
  %o, %lse = skim.attention %q, %k, %v {scale = 0.0 : f32}
      : tensor<1x128x8x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @attention_softcap_nonpositive(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                                         %v: tensor<1x256x2x64xbf16>) {
  // expected-error @+1 {{'skim.attention' op softcap must be finite and > 0, got -3.000000e+01}}
  %o, %lse = skim.attention %q, %k, %v {softcap = -30.0 : f32}
      : tensor<1x128x8x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @attention_key_stride(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                                %v: tensor<1x256x2x64xbf16>) {
  // expected-error @+1 {{'skim.attention' op key_stride must be > 0, got 0}}
  %o, %lse = skim.attention %q, %k, %v {key_stride = 0}
      : tensor<1x128x8x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @attention_key_offset(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                                %v: tensor<1x256x2x64xbf16>) {
  // expected-error @+1 {{'skim.attention' op key_offset must be >= 0, got -1}}
  %o, %lse = skim.attention %q, %k, %v {key_offset = -1}
      : tensor<1x128x8x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @attention_q_block(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                             %v: tensor<1x256x2x64xbf16>) {
  // expected-error @+1 {{'skim.attention' op q_block must be > 0, got 0}}
  %o, %lse = skim.attention %q, %k, %v {q_block = 0}
      : tensor<1x128x8x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @attention_counts_without_indices(%q: tensor<1x128x8x64xbf16>,
    %k: tensor<1x256x2x64xbf16>, %v: tensor<1x256x2x64xbf16>, %cnt: tensor<1x128x2xi32>) {
  // expected-error @+1 {{'skim.attention' op counts given without indices}}
  %o, %lse = skim.attention %q, %k, %v counts(%cnt : tensor<1x128x2xi32>)
      : tensor<1x128x8x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @attention_kv_block_without_indices(%q: tensor<1x128x8x64xbf16>,
    %k: tensor<1x256x2x64xbf16>, %v: tensor<1x256x2x64xbf16>) {
  // expected-error @+1 {{'skim.attention' op kv_block given without a selection (indices)}}
  %o, %lse = skim.attention %q, %k, %v {kv_block = 64}
      : tensor<1x128x8x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @attention_indices_without_kv_block(%q: tensor<1x128x8x64xbf16>,
    %k: tensor<1x256x2x64xbf16>, %v: tensor<1x256x2x64xbf16>, %idx: tensor<1x128x2x4xi32>) {
  // expected-error @+1 {{'skim.attention' op a selection (indices) needs kv_block}}
  %o, %lse = skim.attention %q, %k, %v indices(%idx : tensor<1x128x2x4xi32>)
      : tensor<1x128x8x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @attention_kv_block(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                              %v: tensor<1x256x2x64xbf16>, %idx: tensor<1x128x2x4xi32>) {
  // expected-error @+1 {{'skim.attention' op kv_block must be > 0, got 0}}
  %o, %lse = skim.attention %q, %k, %v indices(%idx : tensor<1x128x2x4xi32>) {kv_block = 0}
      : tensor<1x128x8x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @attention_indices_rank(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                                  %v: tensor<1x256x2x64xbf16>, %idx: tensor<1x128x4xi32>) {
  // expected-error @+1 {{'skim.attention' op indices must have rank 4 [B, ceil(T / q_block), H', N], got rank 3}}
  %o, %lse = skim.attention %q, %k, %v indices(%idx : tensor<1x128x4xi32>) {kv_block = 64}
      : tensor<1x128x8x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @attention_indices_batch(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                                   %v: tensor<1x256x2x64xbf16>, %idx: tensor<2x128x2x4xi32>) {
  // expected-error @+1 {{'skim.attention' op indices dim 0 (B) is 2, expected 1 (B of query)}}
  %o, %lse = skim.attention %q, %k, %v indices(%idx : tensor<2x128x2x4xi32>) {kv_block = 64}
      : tensor<1x128x8x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @attention_indices_query_blocks(%q: tensor<1x130x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                                          %v: tensor<1x256x2x64xbf16>, %idx: tensor<1x2x2x4xi32>) {
  // expected-error @+1 {{'skim.attention' op indices dim 1 (ceil(T / q_block)) is 2, expected 3 (T of query over q_block = 64)}}
  %o, %lse = skim.attention %q, %k, %v indices(%idx : tensor<1x2x2x4xi32>)
      {kv_block = 64, q_block = 64}
      : tensor<1x130x8x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @attention_indices_heads(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                                   %v: tensor<1x256x2x64xbf16>, %idx: tensor<1x128x4x4xi32>) {
  // expected-error @+1 {{'skim.attention' op indices dim 2 (H') is 4, expected Hkv = 2 (shared by the GQA group) or Hq = 8 (per query head)}}
  %o, %lse = skim.attention %q, %k, %v indices(%idx : tensor<1x128x4x4xi32>) {kv_block = 64}
      : tensor<1x128x8x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @attention_indices_empty(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                                   %v: tensor<1x256x2x64xbf16>, %idx: tensor<1x128x2x0xi32>) {
  // expected-error @+1 {{'skim.attention' op indices dim 3 (N) must be > 0, got 0}}
  %o, %lse = skim.attention %q, %k, %v indices(%idx : tensor<1x128x2x0xi32>) {kv_block = 64}
      : tensor<1x128x8x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @attention_counts_rank(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                                 %v: tensor<1x256x2x64xbf16>, %idx: tensor<1x128x2x4xi32>,
                                 %cnt: tensor<1x128x2x1xi32>) {
  // expected-error @+1 {{'skim.attention' op counts must have rank 3 [B, ceil(T / q_block), H'], got rank 4}}
  %o, %lse = skim.attention %q, %k, %v indices(%idx : tensor<1x128x2x4xi32>)
      counts(%cnt : tensor<1x128x2x1xi32>) {kv_block = 64}
      : tensor<1x128x8x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @attention_counts_batch(%q: tensor<2x128x8x64xbf16>, %k: tensor<2x256x2x64xbf16>,
                                  %v: tensor<2x256x2x64xbf16>, %idx: tensor<2x128x2x4xi32>,
                                  %cnt: tensor<1x128x2xi32>) {
  // expected-error @+1 {{'skim.attention' op counts dim 0 (B) is 1, expected 2 (indices dim 0)}}
  %o, %lse = skim.attention %q, %k, %v indices(%idx : tensor<2x128x2x4xi32>)
      counts(%cnt : tensor<1x128x2xi32>) {kv_block = 64}
      : tensor<2x128x8x64xbf16>, tensor<2x256x2x64xbf16>, tensor<2x256x2x64xbf16>
  return
}

// -----

func.func @attention_counts_query_blocks(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                                         %v: tensor<1x256x2x64xbf16>, %idx: tensor<1x128x2x4xi32>,
                                         %cnt: tensor<1x64x2xi32>) {
  // expected-error @+1 {{'skim.attention' op counts dim 1 (T') is 64, expected 128 (indices dim 1)}}
  %o, %lse = skim.attention %q, %k, %v indices(%idx : tensor<1x128x2x4xi32>)
      counts(%cnt : tensor<1x64x2xi32>) {kv_block = 64}
      : tensor<1x128x8x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @attention_counts_heads(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                                  %v: tensor<1x256x2x64xbf16>, %idx: tensor<1x128x2x4xi32>,
                                  %cnt: tensor<1x128x8xi32>) {
  // expected-error @+1 {{'skim.attention' op counts dim 2 (H') is 8, expected 2 (indices dim 2)}}
  %o, %lse = skim.attention %q, %k, %v indices(%idx : tensor<1x128x2x4xi32>)
      counts(%cnt : tensor<1x128x8xi32>) {kv_block = 64}
      : tensor<1x128x8x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>
  return
}

// -----

//===----------------------------------------------------------------------===//
// skim.pool
//===----------------------------------------------------------------------===//

func.func @pool_input_rank(%k: tensor<256x2x64xbf16>) {
  // expected-error @+1 {{'skim.pool' op input must have rank 4 [B, S, H, D], got rank 3}}
  %p = skim.pool mean %k {block = 32, stride = 16} : tensor<256x2x64xbf16>
  return
}

// -----

func.func @pool_missing_stride(%k: tensor<1x256x2x64xbf16>) {
  // expected-error @+1 {{'skim.pool' op pool needs 'block' and 'stride'}}
  %p = skim.pool mean %k {block = 32} : tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @pool_block(%k: tensor<1x256x2x64xbf16>) {
  // expected-error @+1 {{'skim.pool' op block must be > 0, got 0}}
  %p = skim.pool mean %k {block = 0, stride = 16} : tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @pool_stride(%k: tensor<1x256x2x64xbf16>) {
  // expected-error @+1 {{'skim.pool' op stride must be > 0, got -16}}
  %p = skim.pool mean %k {block = 32, stride = -16} : tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @pool_mean_with_weights(%k: tensor<1x256x2x64xbf16>, %w: tensor<2048x64xbf16>) {
  // expected-error @+1 {{'skim.pool' op mean pooling takes no weights or pos_emb}}
  %p = skim.pool mean %k weights(%w : tensor<2048x64xbf16>) {block = 32, stride = 16}
      : tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @pool_mean_with_pos_emb(%k: tensor<1x256x2x64xbf16>, %pe: tensor<32x64xbf16>) {
  // expected-error @+1 {{'skim.pool' op mean pooling takes no weights or pos_emb}}
  %p = skim.pool mean %k pos_emb(%pe : tensor<32x64xbf16>) {block = 32, stride = 16}
      : tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @pool_linear_without_weights(%k: tensor<1x256x2x64xbf16>) {
  // expected-error @+1 {{'skim.pool' op linear pooling needs weights [block * D, Dout]}}
  %p = skim.pool linear %k {block = 32, stride = 16} : tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @pool_weights_rank(%k: tensor<1x256x2x64xbf16>, %w: tensor<32x64x64xbf16>) {
  // expected-error @+1 {{'skim.pool' op weights must have rank 2 [block * D, Dout], got rank 3}}
  %p = skim.pool linear %k weights(%w : tensor<32x64x64xbf16>) {block = 32, stride = 16}
      : tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @pool_weights_element_type(%k: tensor<1x256x2x64xbf16>, %w: tensor<2048x64xf32>) {
  // expected-error @+1 {{'skim.pool' op weights element type 'f32' differs from input element type 'bf16'}}
  %p = skim.pool linear %k weights(%w : tensor<2048x64xf32>) {block = 32, stride = 16}
      : tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @pool_weights_rows(%k: tensor<1x256x2x64xbf16>, %w: tensor<64x64xbf16>) {
  // expected-error @+1 {{'skim.pool' op weights dim 0 (block * D) is 64, expected 2048 (block = 32 times D of input)}}
  %p = skim.pool linear %k weights(%w : tensor<64x64xbf16>) {block = 32, stride = 16}
      : tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @pool_pos_emb_rank(%k: tensor<1x256x2x64xbf16>, %w: tensor<2048x64xbf16>,
                             %pe: tensor<2048xbf16>) {
  // expected-error @+1 {{'skim.pool' op pos_emb must have rank 2 [block, D], got rank 1}}
  %p = skim.pool linear %k weights(%w : tensor<2048x64xbf16>) pos_emb(%pe : tensor<2048xbf16>)
      {block = 32, stride = 16} : tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @pool_pos_emb_element_type(%k: tensor<1x256x2x64xbf16>, %w: tensor<2048x64xbf16>,
                                     %pe: tensor<32x64xf16>) {
  // expected-error @+1 {{'skim.pool' op pos_emb element type 'f16' differs from input element type 'bf16'}}
  %p = skim.pool linear %k weights(%w : tensor<2048x64xbf16>) pos_emb(%pe : tensor<32x64xf16>)
      {block = 32, stride = 16} : tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @pool_pos_emb_block(%k: tensor<1x256x2x64xbf16>, %w: tensor<2048x64xbf16>,
                              %pe: tensor<16x64xbf16>) {
  // expected-error @+1 {{'skim.pool' op pos_emb dim 0 (block) is 16, expected 32 (block attribute)}}
  %p = skim.pool linear %k weights(%w : tensor<2048x64xbf16>) pos_emb(%pe : tensor<16x64xbf16>)
      {block = 32, stride = 16} : tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @pool_pos_emb_head_dim(%k: tensor<1x256x2x64xbf16>, %w: tensor<2048x64xbf16>,
                                 %pe: tensor<32x128xbf16>) {
  // expected-error @+1 {{'skim.pool' op pos_emb dim 1 (D) is 128, expected 64 (D of input)}}
  %p = skim.pool linear %k weights(%w : tensor<2048x64xbf16>) pos_emb(%pe : tensor<32x128xbf16>)
      {block = 32, stride = 16} : tensor<1x256x2x64xbf16>
  return
}

// -----

//===----------------------------------------------------------------------===//
// skim.block_scores
//===----------------------------------------------------------------------===//

func.func @block_scores_query_rank(%q: tensor<128x8x64xbf16>, %kc: tensor<1x4x2x64xbf16>,
                                   %L: index) {
  // expected-error @+1 {{'skim.block_scores' op query must have rank 4 [B, T, Hq, D], got rank 3}}
  %s = skim.block_scores moba %q, %kc kv_tokens(%L) {block = 64}
      : tensor<128x8x64xbf16>, tensor<1x4x2x64xbf16> -> tensor<1x128x8x4xf32>
  return
}

// -----

func.func @block_scores_keys_rank(%q: tensor<1x128x8x64xbf16>, %kc: tensor<4x2x64xbf16>,
                                  %L: index) {
  // expected-error @+1 {{'skim.block_scores' op keys must have rank 4 [B, blocks, Hkv, D], got rank 3}}
  %s = skim.block_scores moba %q, %kc kv_tokens(%L) {block = 64}
      : tensor<1x128x8x64xbf16>, tensor<4x2x64xbf16> -> tensor<1x128x8x4xf32>
  return
}

// -----

func.func @block_scores_keys_element_type(%q: tensor<1x128x8x64xbf16>,
                                          %kc: tensor<1x4x2x64xf16>, %L: index) {
  // expected-error @+1 {{'skim.block_scores' op keys element type 'f16' differs from query element type 'bf16'}}
  %s = skim.block_scores moba %q, %kc kv_tokens(%L) {block = 64}
      : tensor<1x128x8x64xbf16>, tensor<1x4x2x64xf16> -> tensor<1x128x8x4xf32>
  return
}

// -----

func.func @block_scores_keys_batch(%q: tensor<1x128x8x64xbf16>, %kc: tensor<2x4x2x64xbf16>,
                                   %L: index) {
  // expected-error @+1 {{'skim.block_scores' op keys dim 0 (B) is 2, expected 1 (B of query)}}
  %s = skim.block_scores moba %q, %kc kv_tokens(%L) {block = 64}
      : tensor<1x128x8x64xbf16>, tensor<2x4x2x64xbf16> -> tensor<1x128x8x4xf32>
  return
}

// -----

func.func @block_scores_keys_head_dim(%q: tensor<1x128x8x64xbf16>, %kc: tensor<1x4x2x32xbf16>,
                                      %L: index) {
  // expected-error @+1 {{'skim.block_scores' op keys dim 3 (D) is 32, expected 64 (D of query)}}
  %s = skim.block_scores moba %q, %kc kv_tokens(%L) {block = 64}
      : tensor<1x128x8x64xbf16>, tensor<1x4x2x32xbf16> -> tensor<1x128x8x4xf32>
  return
}

// -----

func.func @block_scores_gqa_group(%q: tensor<1x128x8x64xbf16>, %kc: tensor<1x4x3x64xbf16>,
                                  %L: index) {
  // expected-error @+1 {{'skim.block_scores' op query heads Hq = 8 must be a multiple of keys heads Hkv = 3}}
  %s = skim.block_scores moba %q, %kc kv_tokens(%L) {block = 64}
      : tensor<1x128x8x64xbf16>, tensor<1x4x3x64xbf16> -> tensor<1x128x8x4xf32>
  return
}

// -----

func.func @block_scores_zero_kv_heads(%q: tensor<1x128x8x64xbf16>, %kc: tensor<1x4x0x64xbf16>,
                                      %L: index) {
  // expected-error @+1 {{'skim.block_scores' op query heads Hq = 8 must be a multiple of keys heads Hkv = 0}}
  %s = skim.block_scores moba %q, %kc kv_tokens(%L) {block = 64}
      : tensor<1x128x8x64xbf16>, tensor<1x4x0x64xbf16> -> tensor<1x128x8x4xf32>
  return
}

// -----

func.func @block_scores_block(%q: tensor<1x128x8x64xbf16>, %kc: tensor<1x4x2x64xbf16>,
                              %L: index) {
  // expected-error @+1 {{'skim.block_scores' op block must be > 0, got 0}}
  %s = skim.block_scores moba %q, %kc kv_tokens(%L) {block = 0}
      : tensor<1x128x8x64xbf16>, tensor<1x4x2x64xbf16> -> tensor<1x128x8x4xf32>
  return
}

// -----

func.func @block_scores_scale(%q: tensor<1x128x8x64xbf16>, %kc: tensor<1x4x2x64xbf16>,
                              %L: index) {
  // expected-error @+1 {{'skim.block_scores' op scale must be finite and > 0, got -1.250000e-01}}
  %s = skim.block_scores moba %q, %kc kv_tokens(%L) {block = 64, scale = -0.125 : f32}
      : tensor<1x128x8x64xbf16>, tensor<1x4x2x64xbf16> -> tensor<1x128x8x4xf32>
  return
}

// -----

func.func @block_scores_softcap(%q: tensor<1x128x8x64xbf16>, %kc: tensor<1x15x2x64xbf16>,
                                %lse: tensor<1x8x128xf32>, %L: index) {
  // expected-error @+1 {{'skim.block_scores' op softcap must be finite and > 0, got INF}}
  %s = skim.block_scores nsa %q, %kc lse(%lse : tensor<1x8x128xf32>) kv_tokens(%L)
      {block = 64, cmp_block = 32, cmp_stride = 16, softcap = 0x7F800000 : f32}
      : tensor<1x128x8x64xbf16>, tensor<1x15x2x64xbf16> -> tensor<1x128x2x4xf32>
  return
}

// -----

func.func @block_scores_nsa_without_lse(%q: tensor<1x128x8x64xbf16>, %kc: tensor<1x15x2x64xbf16>,
                                        %L: index) {
  // expected-error @+1 {{'skim.block_scores' op nsa scores need the compressed branch's lse [B, Hq, T]}}
  %s = skim.block_scores nsa %q, %kc kv_tokens(%L) {block = 64, cmp_block = 32, cmp_stride = 16}
      : tensor<1x128x8x64xbf16>, tensor<1x15x2x64xbf16> -> tensor<1x128x2x4xf32>
  return
}

// -----

func.func @block_scores_nsa_without_cmp_block(%q: tensor<1x128x8x64xbf16>,
    %kc: tensor<1x15x2x64xbf16>, %lse: tensor<1x8x128xf32>, %L: index) {
  // expected-error @+1 {{'skim.block_scores' op nsa scores need cmp_block and cmp_stride}}
  %s = skim.block_scores nsa %q, %kc lse(%lse : tensor<1x8x128xf32>) kv_tokens(%L)
      {block = 64, cmp_stride = 16}
      : tensor<1x128x8x64xbf16>, tensor<1x15x2x64xbf16> -> tensor<1x128x2x4xf32>
  return
}

// -----

func.func @block_scores_nsa_cmp_block(%q: tensor<1x128x8x64xbf16>, %kc: tensor<1x15x2x64xbf16>,
                                      %lse: tensor<1x8x128xf32>, %L: index) {
  // expected-error @+1 {{'skim.block_scores' op cmp_block must be > 0, got 0}}
  %s = skim.block_scores nsa %q, %kc lse(%lse : tensor<1x8x128xf32>) kv_tokens(%L)
      {block = 64, cmp_block = 0, cmp_stride = 16}
      : tensor<1x128x8x64xbf16>, tensor<1x15x2x64xbf16> -> tensor<1x128x2x4xf32>
  return
}

// -----

func.func @block_scores_nsa_cmp_stride(%q: tensor<1x128x8x64xbf16>, %kc: tensor<1x15x2x64xbf16>,
                                       %lse: tensor<1x8x128xf32>, %L: index) {
  // expected-error @+1 {{'skim.block_scores' op cmp_stride must be > 0, got 0}}
  %s = skim.block_scores nsa %q, %kc lse(%lse : tensor<1x8x128xf32>) kv_tokens(%L)
      {block = 64, cmp_block = 32, cmp_stride = 0}
      : tensor<1x128x8x64xbf16>, tensor<1x15x2x64xbf16> -> tensor<1x128x2x4xf32>
  return
}

// -----

func.func @block_scores_nsa_cmp_block_too_large(%q: tensor<1x128x8x64xbf16>,
    %kc: tensor<1x15x2x64xbf16>, %lse: tensor<1x8x128xf32>, %L: index) {
  // expected-error @+1 {{'skim.block_scores' op cmp_block l = 128 must be <= selection block l' = 64}}
  %s = skim.block_scores nsa %q, %kc lse(%lse : tensor<1x8x128xf32>) kv_tokens(%L)
      {block = 64, cmp_block = 128, cmp_stride = 16}
      : tensor<1x128x8x64xbf16>, tensor<1x15x2x64xbf16> -> tensor<1x128x2x4xf32>
  return
}

// -----

func.func @block_scores_nsa_stride_divides_cmp_block(%q: tensor<1x128x8x64xbf16>,
    %kc: tensor<1x15x2x64xbf16>, %lse: tensor<1x8x128xf32>, %L: index) {
  // expected-error @+1 {{'skim.block_scores' op cmp_stride d = 24 must divide cmp_block l = 32 and selection block l' = 96}}
  %s = skim.block_scores nsa %q, %kc lse(%lse : tensor<1x8x128xf32>) kv_tokens(%L)
      {block = 96, cmp_block = 32, cmp_stride = 24}
      : tensor<1x128x8x64xbf16>, tensor<1x15x2x64xbf16> -> tensor<1x128x2x?xf32>
  return
}

// -----

func.func @block_scores_nsa_stride_divides_block(%q: tensor<1x128x8x64xbf16>,
    %kc: tensor<1x15x2x64xbf16>, %lse: tensor<1x8x128xf32>, %L: index) {
  // expected-error @+1 {{'skim.block_scores' op cmp_stride d = 32 must divide cmp_block l = 32 and selection block l' = 48}}
  %s = skim.block_scores nsa %q, %kc lse(%lse : tensor<1x8x128xf32>) kv_tokens(%L)
      {block = 48, cmp_block = 32, cmp_stride = 32}
      : tensor<1x128x8x64xbf16>, tensor<1x15x2x64xbf16> -> tensor<1x128x2x?xf32>
  return
}

// -----

func.func @block_scores_nsa_lse_rank(%q: tensor<1x128x8x64xbf16>, %kc: tensor<1x15x2x64xbf16>,
                                     %lse: tensor<1x8x128x1xf32>, %L: index) {
  // expected-error @+1 {{'skim.block_scores' op lse must have rank 3 [B, Hq, T], got rank 4}}
  %s = skim.block_scores nsa %q, %kc lse(%lse : tensor<1x8x128x1xf32>) kv_tokens(%L)
      {block = 64, cmp_block = 32, cmp_stride = 16}
      : tensor<1x128x8x64xbf16>, tensor<1x15x2x64xbf16> -> tensor<1x128x2x4xf32>
  return
}

// -----

func.func @block_scores_nsa_lse_batch(%q: tensor<1x128x8x64xbf16>, %kc: tensor<1x15x2x64xbf16>,
                                      %lse: tensor<2x8x128xf32>, %L: index) {
  // expected-error @+1 {{'skim.block_scores' op lse dim 0 (B) is 2, expected 1 (B of query)}}
  %s = skim.block_scores nsa %q, %kc lse(%lse : tensor<2x8x128xf32>) kv_tokens(%L)
      {block = 64, cmp_block = 32, cmp_stride = 16}
      : tensor<1x128x8x64xbf16>, tensor<1x15x2x64xbf16> -> tensor<1x128x2x4xf32>
  return
}

// -----

func.func @block_scores_nsa_lse_heads(%q: tensor<1x128x8x64xbf16>, %kc: tensor<1x15x2x64xbf16>,
                                      %lse: tensor<1x2x128xf32>, %L: index) {
  // expected-error @+1 {{'skim.block_scores' op lse dim 1 (Hq) is 2, expected 8 (Hq of query)}}
  %s = skim.block_scores nsa %q, %kc lse(%lse : tensor<1x2x128xf32>) kv_tokens(%L)
      {block = 64, cmp_block = 32, cmp_stride = 16}
      : tensor<1x128x8x64xbf16>, tensor<1x15x2x64xbf16> -> tensor<1x128x2x4xf32>
  return
}

// -----

func.func @block_scores_nsa_lse_t(%q: tensor<1x128x8x64xbf16>, %kc: tensor<1x15x2x64xbf16>,
                                  %lse: tensor<1x8x64xf32>, %L: index) {
  // expected-error @+1 {{'skim.block_scores' op lse dim 2 (T) is 64, expected 128 (T of query)}}
  %s = skim.block_scores nsa %q, %kc lse(%lse : tensor<1x8x64xf32>) kv_tokens(%L)
      {block = 64, cmp_block = 32, cmp_stride = 16}
      : tensor<1x128x8x64xbf16>, tensor<1x15x2x64xbf16> -> tensor<1x128x2x4xf32>
  return
}

// -----

func.func @block_scores_moba_with_lse(%q: tensor<1x128x8x64xbf16>, %kc: tensor<1x4x2x64xbf16>,
                                      %lse: tensor<1x8x128xf32>, %L: index) {
  // expected-error @+1 {{'skim.block_scores' op moba scores take no lse}}
  %s = skim.block_scores moba %q, %kc lse(%lse : tensor<1x8x128xf32>) kv_tokens(%L) {block = 64}
      : tensor<1x128x8x64xbf16>, tensor<1x4x2x64xbf16> -> tensor<1x128x8x4xf32>
  return
}

// -----

func.func @block_scores_moba_with_cmp_block(%q: tensor<1x128x8x64xbf16>,
                                            %kc: tensor<1x4x2x64xbf16>, %L: index) {
  // expected-error @+1 {{'skim.block_scores' op moba scores take no cmp_block, cmp_stride or softcap}}
  %s = skim.block_scores moba %q, %kc kv_tokens(%L) {block = 64, cmp_block = 32}
      : tensor<1x128x8x64xbf16>, tensor<1x4x2x64xbf16> -> tensor<1x128x8x4xf32>
  return
}

// -----

func.func @block_scores_moba_with_softcap(%q: tensor<1x128x8x64xbf16>,
                                          %kc: tensor<1x4x2x64xbf16>, %L: index) {
  // expected-error @+1 {{'skim.block_scores' op moba scores take no cmp_block, cmp_stride or softcap}}
  %s = skim.block_scores moba %q, %kc kv_tokens(%L) {block = 64, softcap = 30.0 : f32}
      : tensor<1x128x8x64xbf16>, tensor<1x4x2x64xbf16> -> tensor<1x128x8x4xf32>
  return
}

// -----

func.func @block_scores_scores_rank(%q: tensor<1x128x8x64xbf16>, %kc: tensor<1x4x2x64xbf16>,
                                    %L: index) {
  // expected-error @+1 {{'skim.block_scores' op scores must have rank 4 [B, T, H', ceil(L / block)], got rank 3}}
  %s = skim.block_scores moba %q, %kc kv_tokens(%L) {block = 64}
      : tensor<1x128x8x64xbf16>, tensor<1x4x2x64xbf16> -> tensor<128x8x4xf32>
  return
}

// -----

func.func @block_scores_scores_batch(%q: tensor<1x128x8x64xbf16>, %kc: tensor<1x4x2x64xbf16>,
                                     %L: index) {
  // expected-error @+1 {{'skim.block_scores' op scores dim 0 (B) is 2, expected 1 (B of query)}}
  %s = skim.block_scores moba %q, %kc kv_tokens(%L) {block = 64}
      : tensor<1x128x8x64xbf16>, tensor<1x4x2x64xbf16> -> tensor<2x128x8x4xf32>
  return
}

// -----

func.func @block_scores_scores_tokens(%q: tensor<1x128x8x64xbf16>, %kc: tensor<1x4x2x64xbf16>,
                                      %L: index) {
  // expected-error @+1 {{'skim.block_scores' op scores dim 1 (T) is 1, expected 128 (T of query)}}
  %s = skim.block_scores moba %q, %kc kv_tokens(%L) {block = 64}
      : tensor<1x128x8x64xbf16>, tensor<1x4x2x64xbf16> -> tensor<1x1x8x4xf32>
  return
}

// -----

func.func @block_scores_nsa_scores_heads(%q: tensor<1x128x8x64xbf16>, %kc: tensor<1x15x2x64xbf16>,
                                         %lse: tensor<1x8x128xf32>, %L: index) {
  // expected-error @+1 {{'skim.block_scores' op scores dim 2 (H') is 8, expected 2 (Hkv: nsa scores are summed over the GQA group)}}
  %s = skim.block_scores nsa %q, %kc lse(%lse : tensor<1x8x128xf32>) kv_tokens(%L)
      {block = 64, cmp_block = 32, cmp_stride = 16}
      : tensor<1x128x8x64xbf16>, tensor<1x15x2x64xbf16> -> tensor<1x128x8x4xf32>
  return
}

// -----

func.func @block_scores_moba_scores_heads(%q: tensor<1x128x8x64xbf16>, %kc: tensor<1x4x2x64xbf16>,
                                          %L: index) {
  // expected-error @+1 {{'skim.block_scores' op scores dim 2 (H') is 2, expected 8 (Hq: moba scores are per query head)}}
  %s = skim.block_scores moba %q, %kc kv_tokens(%L) {block = 64}
      : tensor<1x128x8x64xbf16>, tensor<1x4x2x64xbf16> -> tensor<1x128x2x4xf32>
  return
}

// -----

func.func @block_scores_scores_blocks(%q: tensor<1x128x8x64xbf16>, %kc: tensor<1x4x2x64xbf16>) {
  %L = arith.constant 257 : index
  // expected-error @+1 {{'skim.block_scores' op scores dim 3 (blocks) is 4, expected 5 (ceil(kv_tokens / block))}}
  %s = skim.block_scores moba %q, %kc kv_tokens(%L) {block = 64}
      : tensor<1x128x8x64xbf16>, tensor<1x4x2x64xbf16> -> tensor<1x128x8x4xf32>
  return
}

// -----

func.func @block_scores_negative_kv_tokens(%q: tensor<1x128x8x64xbf16>, %kc: tensor<1x4x2x64xbf16>) {
  %L = arith.constant -1 : index
  // expected-error @+1 {{'skim.block_scores' op kv_tokens must be >= 0, got -1}}
  %s = skim.block_scores moba %q, %kc kv_tokens(%L) {block = 64}
      : tensor<1x128x8x64xbf16>, tensor<1x4x2x64xbf16> -> tensor<1x128x8x?xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// skim.topk
//===----------------------------------------------------------------------===//

func.func @topk_scores_rank(%s: tensor<128x2x4xf32>, %L: index) {
  // expected-error @+1 {{'skim.topk' op scores must have rank 4 [B, T, H, blocks], got rank 3}}
  %i, %c = skim.topk %s kv_tokens(%L) {block = 64, n = 2} : tensor<128x2x4xf32>
  return
}

// -----

func.func @topk_missing_n(%s: tensor<1x128x2x4xf32>, %L: index) {
  // expected-error @+1 {{'skim.topk' op topk needs 'n'}}
  %i, %c = skim.topk %s kv_tokens(%L) {block = 64} : tensor<1x128x2x4xf32>
  return
}

// -----

func.func @topk_n(%s: tensor<1x128x2x4xf32>, %L: index) {
  // expected-error @+1 {{'skim.topk' op n must be > 0, got 0}}
  %i, %c = skim.topk %s kv_tokens(%L) {block = 64, n = 0} : tensor<1x128x2x4xf32>
  return
}

// -----

func.func @topk_block(%s: tensor<1x128x2x4xf32>, %L: index) {
  // expected-error @+1 {{'skim.topk' op block must be > 0, got 0}}
  %i, %c = skim.topk %s kv_tokens(%L) {block = 0, n = 2} : tensor<1x128x2x4xf32>
  return
}

// -----

func.func @topk_force_first(%s: tensor<1x128x2x4xf32>, %L: index) {
  // expected-error @+1 {{'skim.topk' op force_first must be >= 0, got -1}}
  %i, %c = skim.topk %s kv_tokens(%L) {block = 64, n = 2, force_first = -1} : tensor<1x128x2x4xf32>
  return
}

// -----

func.func @topk_force_last(%s: tensor<1x128x2x4xf32>, %L: index) {
  // expected-error @+1 {{'skim.topk' op force_last must be >= 0, got -2}}
  %i, %c = skim.topk %s kv_tokens(%L) {block = 64, n = 2, force_last = -2} : tensor<1x128x2x4xf32>
  return
}

// -----

func.func @topk_forced_exceed_n(%s: tensor<1x128x2x4xf32>, %L: index) {
  // expected-error @+1 {{'skim.topk' op n = 2 is smaller than the forced blocks force_first + force_last = 3}}
  %i, %c = skim.topk %s kv_tokens(%L) {block = 64, n = 2, force_first = 1, force_last = 2}
      : tensor<1x128x2x4xf32>
  return
}

// -----

func.func @topk_scores_blocks(%s: tensor<1x128x2x4xf32>) {
  %L = arith.constant 512 : index
  // expected-error @+1 {{'skim.topk' op scores dim 3 (blocks) is 4, expected 8 (ceil(kv_tokens / block))}}
  %i, %c = skim.topk %s kv_tokens(%L) {block = 64, n = 2} : tensor<1x128x2x4xf32>
  return
}

// -----

func.func @topk_negative_kv_tokens(%s: tensor<1x128x2x4xf32>) {
  %L = arith.constant -64 : index
  // expected-error @+1 {{'skim.topk' op kv_tokens must be >= 0, got -64}}
  %i, %c = skim.topk %s kv_tokens(%L) {block = 64, n = 2} : tensor<1x128x2x4xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// skim.combine
//===----------------------------------------------------------------------===//

func.func @combine_output_types(%o0: tensor<1x128x8x64xbf16>, %o1: tensor<1x128x8x32xbf16>,
                                %g0: tensor<1x128x8xbf16>, %g1: tensor<1x128x8xbf16>) {
  // expected-error @+1 {{'skim.combine' op outputs #1 has type 'tensor<1x128x8x32xbf16>', expected 'tensor<1x128x8x64xbf16>' like outputs #0}}
  %o = skim.combine(%o0, %o1) gates(%g0, %g1)
      : (tensor<1x128x8x64xbf16>, tensor<1x128x8x32xbf16>), (tensor<1x128x8xbf16>, tensor<1x128x8xbf16>)
  return
}

// -----

func.func @combine_output_rank(%o0: tensor<128x8x64xbf16>, %g0: tensor<1x128x8xbf16>) {
  // expected-error @+1 {{'skim.combine' op outputs #0 must have rank 4 [B, T, Hq, Dv], got rank 3}}
  %o = skim.combine(%o0) gates(%g0) : (tensor<128x8x64xbf16>), (tensor<1x128x8xbf16>)
  return
}

// -----

func.func @combine_gate_rank(%o0: tensor<1x128x8x64xbf16>, %o1: tensor<1x128x8x64xbf16>,
                             %g0: tensor<1x128x8xbf16>, %g1: tensor<1x128x8x1xbf16>) {
  // expected-error @+1 {{'skim.combine' op gates #1 must have rank 3 [B, T, Hq], got rank 4}}
  %o = skim.combine(%o0, %o1) gates(%g0, %g1)
      : (tensor<1x128x8x64xbf16>, tensor<1x128x8x64xbf16>), (tensor<1x128x8xbf16>, tensor<1x128x8x1xbf16>)
  return
}

// -----

func.func @combine_gate_batch(%o0: tensor<1x128x8x64xbf16>, %g0: tensor<2x128x8xbf16>) {
  // expected-error @+1 {{'skim.combine' op gates #0 dim 0 (B) is 2, expected 1 (outputs #0 dim 0)}}
  %o = skim.combine(%o0) gates(%g0) : (tensor<1x128x8x64xbf16>), (tensor<2x128x8xbf16>)
  return
}

// -----

func.func @combine_gate_tokens(%o0: tensor<1x128x8x64xbf16>, %g0: tensor<1x64x8xbf16>) {
  // expected-error @+1 {{'skim.combine' op gates #0 dim 1 (T) is 64, expected 128 (outputs #0 dim 1)}}
  %o = skim.combine(%o0) gates(%g0) : (tensor<1x128x8x64xbf16>), (tensor<1x64x8xbf16>)
  return
}

// -----

func.func @combine_gate_heads(%o0: tensor<1x128x8x64xbf16>, %g0: tensor<1x128x2xbf16>) {
  // expected-error @+1 {{'skim.combine' op gates #0 dim 2 (Hq) is 2, expected 8 (outputs #0 dim 2)}}
  %o = skim.combine(%o0) gates(%g0) : (tensor<1x128x8x64xbf16>), (tensor<1x128x2xbf16>)
  return
}

// -----

//===----------------------------------------------------------------------===//
// skim.merge
//===----------------------------------------------------------------------===//

func.func @merge_output_types(%o0: tensor<1x1x8x64xbf16>, %o1: tensor<1x1x8x64xf16>,
                              %l0: tensor<1x8x1xf32>, %l1: tensor<1x8x1xf32>) {
  // expected-error @+1 {{'skim.merge' op outputs #1 has type 'tensor<1x1x8x64xf16>', expected 'tensor<1x1x8x64xbf16>' like outputs #0}}
  %o, %lse = skim.merge(%o0, %o1) lse(%l0, %l1)
      : (tensor<1x1x8x64xbf16>, tensor<1x1x8x64xf16>), (tensor<1x8x1xf32>, tensor<1x8x1xf32>)
  return
}

// -----

func.func @merge_output_rank(%o0: tensor<1x8x64xbf16>, %l0: tensor<1x8x1xf32>) {
  // expected-error @+1 {{'skim.merge' op outputs #0 must have rank 4 [B, T, Hq, Dv], got rank 3}}
  %o, %lse = skim.merge(%o0) lse(%l0) : (tensor<1x8x64xbf16>), (tensor<1x8x1xf32>)
  return
}

// -----

func.func @merge_lse_rank(%o0: tensor<1x1x8x64xbf16>, %o1: tensor<1x1x8x64xbf16>,
                          %l0: tensor<1x8x1xf32>, %l1: tensor<8x1xf32>) {
  // expected-error @+1 {{'skim.merge' op lse #1 must have rank 3 [B, Hq, T], got rank 2}}
  %o, %lse = skim.merge(%o0, %o1) lse(%l0, %l1)
      : (tensor<1x1x8x64xbf16>, tensor<1x1x8x64xbf16>), (tensor<1x8x1xf32>, tensor<8x1xf32>)
  return
}

// -----

func.func @merge_lse_batch(%o0: tensor<1x1x8x64xbf16>, %l0: tensor<4x8x1xf32>) {
  // expected-error @+1 {{'skim.merge' op lse #0 dim 0 (B) is 4, expected 1 (B of outputs)}}
  %o, %lse = skim.merge(%o0) lse(%l0) : (tensor<1x1x8x64xbf16>), (tensor<4x8x1xf32>)
  return
}

// -----

func.func @merge_lse_heads(%o0: tensor<1x1x8x64xbf16>, %l0: tensor<1x1x8xf32>) {
  // expected-error @+1 {{'skim.merge' op lse #0 dim 1 (Hq) is 1, expected 8 (Hq of outputs)}}
  %o, %lse = skim.merge(%o0) lse(%l0) : (tensor<1x1x8x64xbf16>), (tensor<1x1x8xf32>)
  return
}

// -----

func.func @merge_lse_tokens(%o0: tensor<1x1x8x64xbf16>, %l0: tensor<1x8x2xf32>) {
  // expected-error @+1 {{'skim.merge' op lse #0 dim 2 (T) is 2, expected 1 (T of outputs)}}
  %o, %lse = skim.merge(%o0) lse(%l0) : (tensor<1x1x8x64xbf16>), (tensor<1x8x2xf32>)
  return
}

// -----

//===----------------------------------------------------------------------===//
// skim.nsa
//===----------------------------------------------------------------------===//

func.func @nsa_query_rank(%q: tensor<128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                          %v: tensor<1x256x2x64xbf16>, %g: tensor<1x128x8xbf16>) {
  // expected-error @+1 {{'skim.nsa' op query must have rank 4 [B, T, Hq, D], got rank 3}}
  %o = skim.nsa %q, keys(%k), values(%v), gates(%g, %g, %g)
      : tensor<128x8x64xbf16>, keys(tensor<1x256x2x64xbf16>),
        values(tensor<1x256x2x64xbf16>), gates tensor<1x128x8xbf16>
  return
}

// -----

func.func @nsa_values_rank(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                           %v: tensor<256x2x64xbf16>, %g: tensor<1x128x8xbf16>) {
  // expected-error @+1 {{'skim.nsa' op values #0 must have rank 4 [B, S, Hkv, Dv], got rank 3}}
  %o = skim.nsa %q, keys(%k), values(%v), gates(%g, %g, %g)
      : tensor<1x128x8x64xbf16>, keys(tensor<1x256x2x64xbf16>),
        values(tensor<256x2x64xbf16>), gates tensor<1x128x8xbf16>
  return
}

// -----

func.func @nsa_keys_count(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                          %v: tensor<1x256x2x64xbf16>, %g: tensor<1x128x8xbf16>) {
  // expected-error @+1 {{'skim.nsa' op keys must hold 1 tensor (shared by all branches) or 3 (compressed, selected, window), got 2}}
  %o = skim.nsa %q, keys(%k, %k), values(%v, %v), gates(%g, %g, %g)
      : tensor<1x128x8x64xbf16>, keys(tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>),
        values(tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>), gates tensor<1x128x8xbf16>
  return
}

// -----

func.func @nsa_values_count(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                            %v: tensor<1x256x2x64xbf16>, %g: tensor<1x128x8xbf16>) {
  // expected-error @+1 {{'skim.nsa' op values must hold as many tensors as keys (1), got 3}}
  %o = skim.nsa %q, keys(%k), values(%v, %v, %v), gates(%g, %g, %g)
      : tensor<1x128x8x64xbf16>, keys(tensor<1x256x2x64xbf16>),
        values(tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>),
        gates tensor<1x128x8xbf16>
  return
}

// -----

func.func @nsa_branch_head_dim(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                               %k1: tensor<1x256x2x32xbf16>, %v: tensor<1x256x2x64xbf16>,
                               %g: tensor<1x128x8xbf16>) {
  // expected-error @+1 {{'skim.nsa' op keys #1 dim 3 (D) is 32, expected 64 (D of query)}}
  %o = skim.nsa %q, keys(%k, %k1, %k), values(%v, %v, %v), gates(%g, %g, %g)
      : tensor<1x128x8x64xbf16>,
        keys(tensor<1x256x2x64xbf16>, tensor<1x256x2x32xbf16>, tensor<1x256x2x64xbf16>),
        values(tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>),
        gates tensor<1x128x8xbf16>
  return
}

// -----

func.func @nsa_branch_value_dim(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                                %v: tensor<1x256x2x64xbf16>, %v2: tensor<1x256x2x32xbf16>,
                                %g: tensor<1x128x8xbf16>) {
  // expected-error @+1 {{'skim.nsa' op values #2 dim 3 (Dv) is 32, expected 64 (Dv of values #0)}}
  %o = skim.nsa %q, keys(%k, %k, %k), values(%v, %v, %v2), gates(%g, %g, %g)
      : tensor<1x128x8x64xbf16>,
        keys(tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>),
        values(tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x2x32xbf16>),
        gates tensor<1x128x8xbf16>
  return
}

// -----

func.func @nsa_branch_tokens(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                             %v: tensor<1x256x2x64xbf16>, %k1: tensor<1x128x2x64xbf16>,
                             %v1: tensor<1x128x2x64xbf16>, %g: tensor<1x128x8xbf16>) {
  // expected-error @+1 {{'skim.nsa' op keys #1 dim 1 (S) is 128, expected 256 (S of keys #0: every branch sees the same tokens)}}
  %o = skim.nsa %q, keys(%k, %k1, %k), values(%v, %v1, %v), gates(%g, %g, %g)
      : tensor<1x128x8x64xbf16>,
        keys(tensor<1x256x2x64xbf16>, tensor<1x128x2x64xbf16>, tensor<1x256x2x64xbf16>),
        values(tensor<1x256x2x64xbf16>, tensor<1x128x2x64xbf16>, tensor<1x256x2x64xbf16>),
        gates tensor<1x128x8xbf16>
  return
}

// -----

func.func @nsa_gate_rank(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                         %v: tensor<1x256x2x64xbf16>, %g: tensor<128x8xbf16>) {
  // expected-error @+1 {{'skim.nsa' op gate_cmp must have rank 3 [B, T, Hq], got rank 2}}
  %o = skim.nsa %q, keys(%k), values(%v), gates(%g, %g, %g)
      : tensor<1x128x8x64xbf16>, keys(tensor<1x256x2x64xbf16>),
        values(tensor<1x256x2x64xbf16>), gates tensor<128x8xbf16>
  return
}

// -----

func.func @nsa_gate_heads(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                          %v: tensor<1x256x2x64xbf16>, %g: tensor<1x128x2xbf16>) {
  // expected-error @+1 {{'skim.nsa' op gate_cmp dim 2 (Hq) is 2, expected 8 (query dim 2)}}
  %o = skim.nsa %q, keys(%k), values(%v), gates(%g, %g, %g)
      : tensor<1x128x8x64xbf16>, keys(tensor<1x256x2x64xbf16>),
        values(tensor<1x256x2x64xbf16>), gates tensor<1x128x2xbf16>
  return
}

// -----

func.func @nsa_cmp_block(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                         %v: tensor<1x256x2x64xbf16>, %g: tensor<1x128x8xbf16>) {
  // expected-error @+1 {{'skim.nsa' op cmp_block must be > 0, got 0}}
  %o = skim.nsa %q, keys(%k), values(%v), gates(%g, %g, %g) {cmp_block = 0}
      : tensor<1x128x8x64xbf16>, keys(tensor<1x256x2x64xbf16>),
        values(tensor<1x256x2x64xbf16>), gates tensor<1x128x8xbf16>
  return
}

// -----

func.func @nsa_cmp_stride(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                          %v: tensor<1x256x2x64xbf16>, %g: tensor<1x128x8xbf16>) {
  // expected-error @+1 {{'skim.nsa' op cmp_stride must be > 0, got 0}}
  %o = skim.nsa %q, keys(%k), values(%v), gates(%g, %g, %g) {cmp_stride = 0}
      : tensor<1x128x8x64xbf16>, keys(tensor<1x256x2x64xbf16>),
        values(tensor<1x256x2x64xbf16>), gates tensor<1x128x8xbf16>
  return
}

// -----

func.func @nsa_sel_block(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                         %v: tensor<1x256x2x64xbf16>, %g: tensor<1x128x8xbf16>) {
  // expected-error @+1 {{'skim.nsa' op sel_block must be > 0, got -64}}
  %o = skim.nsa %q, keys(%k), values(%v), gates(%g, %g, %g) {sel_block = -64}
      : tensor<1x128x8x64xbf16>, keys(tensor<1x256x2x64xbf16>),
        values(tensor<1x256x2x64xbf16>), gates tensor<1x128x8xbf16>
  return
}

// -----

func.func @nsa_num_selected(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                            %v: tensor<1x256x2x64xbf16>, %g: tensor<1x128x8xbf16>) {
  // expected-error @+1 {{'skim.nsa' op num_selected must be > 0, got 0}}
  %o = skim.nsa %q, keys(%k), values(%v), gates(%g, %g, %g) {num_selected = 0}
      : tensor<1x128x8x64xbf16>, keys(tensor<1x256x2x64xbf16>),
        values(tensor<1x256x2x64xbf16>), gates tensor<1x128x8xbf16>
  return
}

// -----

func.func @nsa_force_first(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                           %v: tensor<1x256x2x64xbf16>, %g: tensor<1x128x8xbf16>) {
  // expected-error @+1 {{'skim.nsa' op force_first must be >= 0, got -1}}
  %o = skim.nsa %q, keys(%k), values(%v), gates(%g, %g, %g) {force_first = -1}
      : tensor<1x128x8x64xbf16>, keys(tensor<1x256x2x64xbf16>),
        values(tensor<1x256x2x64xbf16>), gates tensor<1x128x8xbf16>
  return
}

// -----

func.func @nsa_force_last(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                          %v: tensor<1x256x2x64xbf16>, %g: tensor<1x128x8xbf16>) {
  // expected-error @+1 {{'skim.nsa' op force_last must be >= 0, got -1}}
  %o = skim.nsa %q, keys(%k), values(%v), gates(%g, %g, %g) {force_last = -1}
      : tensor<1x128x8x64xbf16>, keys(tensor<1x256x2x64xbf16>),
        values(tensor<1x256x2x64xbf16>), gates tensor<1x128x8xbf16>
  return
}

// -----

func.func @nsa_window(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                      %v: tensor<1x256x2x64xbf16>, %g: tensor<1x128x8xbf16>) {
  // expected-error @+1 {{'skim.nsa' op window must be > 0, got 0}}
  %o = skim.nsa %q, keys(%k), values(%v), gates(%g, %g, %g) {window = 0}
      : tensor<1x128x8x64xbf16>, keys(tensor<1x256x2x64xbf16>),
        values(tensor<1x256x2x64xbf16>), gates tensor<1x128x8xbf16>
  return
}

// -----

func.func @nsa_scale(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                     %v: tensor<1x256x2x64xbf16>, %g: tensor<1x128x8xbf16>) {
  // expected-error @+1 {{'skim.nsa' op scale must be finite and > 0, got INF}}
  %o = skim.nsa %q, keys(%k), values(%v), gates(%g, %g, %g) {scale = 0x7F800000 : f32}
      : tensor<1x128x8x64xbf16>, keys(tensor<1x256x2x64xbf16>),
        values(tensor<1x256x2x64xbf16>), gates tensor<1x128x8xbf16>
  return
}

// -----

func.func @nsa_cmp_block_too_large(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                                   %v: tensor<1x256x2x64xbf16>, %g: tensor<1x128x8xbf16>) {
  // expected-error @+1 {{'skim.nsa' op cmp_block l = 128 must be <= sel_block l' = 64}}
  %o = skim.nsa %q, keys(%k), values(%v), gates(%g, %g, %g) {cmp_block = 128}
      : tensor<1x128x8x64xbf16>, keys(tensor<1x256x2x64xbf16>),
        values(tensor<1x256x2x64xbf16>), gates tensor<1x128x8xbf16>
  return
}

// -----

func.func @nsa_cmp_stride_divides(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                                  %v: tensor<1x256x2x64xbf16>, %g: tensor<1x128x8xbf16>) {
  // expected-error @+1 {{'skim.nsa' op cmp_stride d = 24 must divide cmp_block l = 32 and sel_block l' = 64}}
  %o = skim.nsa %q, keys(%k), values(%v), gates(%g, %g, %g) {cmp_stride = 24}
      : tensor<1x128x8x64xbf16>, keys(tensor<1x256x2x64xbf16>),
        values(tensor<1x256x2x64xbf16>), gates tensor<1x128x8xbf16>
  return
}

// -----

func.func @nsa_num_selected_forced(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                                   %v: tensor<1x256x2x64xbf16>, %g: tensor<1x128x8xbf16>) {
  // expected-error @+1 {{'skim.nsa' op num_selected = 2 is smaller than the forced blocks force_first + force_last = 3}}
  %o = skim.nsa %q, keys(%k), values(%v), gates(%g, %g, %g) {num_selected = 2}
      : tensor<1x128x8x64xbf16>, keys(tensor<1x256x2x64xbf16>),
        values(tensor<1x256x2x64xbf16>), gates tensor<1x128x8xbf16>
  return
}

// -----

func.func @nsa_key_pool_weights_rank(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                                     %v: tensor<1x256x2x64xbf16>, %g: tensor<1x128x8xbf16>,
                                     %kw: tensor<32x64x64xbf16>, %vw: tensor<2048x64xbf16>) {
  // expected-error @+1 {{'skim.nsa' op key pool_weights must have rank 2 [cmp_block * D, D], got rank 3}}
  %o = skim.nsa %q, keys(%k), values(%v), gates(%g, %g, %g) pool_weights(%kw, %vw)
      : tensor<1x128x8x64xbf16>, keys(tensor<1x256x2x64xbf16>),
        values(tensor<1x256x2x64xbf16>), gates tensor<1x128x8xbf16>,
        pool_weights tensor<32x64x64xbf16>, tensor<2048x64xbf16>
  return
}

// -----

func.func @nsa_value_pool_weights_rank(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                                       %v: tensor<1x256x2x64xbf16>, %g: tensor<1x128x8xbf16>,
                                       %kw: tensor<2048x64xbf16>, %vw: tensor<2048xbf16>) {
  // expected-error @+1 {{'skim.nsa' op value pool_weights must have rank 2 [cmp_block * Dv, Dv], got rank 1}}
  %o = skim.nsa %q, keys(%k), values(%v), gates(%g, %g, %g) pool_weights(%kw, %vw)
      : tensor<1x128x8x64xbf16>, keys(tensor<1x256x2x64xbf16>),
        values(tensor<1x256x2x64xbf16>), gates tensor<1x128x8xbf16>,
        pool_weights tensor<2048x64xbf16>, tensor<2048xbf16>
  return
}

// -----

func.func @nsa_key_pool_weights_element_type(%q: tensor<1x128x8x64xbf16>,
    %k: tensor<1x256x2x64xbf16>, %v: tensor<1x256x2x64xbf16>, %g: tensor<1x128x8xbf16>,
    %kw: tensor<2048x64xf32>, %vw: tensor<2048x64xbf16>) {
  // expected-error @+1 {{'skim.nsa' op key pool_weights element type 'f32' differs from query element type 'bf16'}}
  %o = skim.nsa %q, keys(%k), values(%v), gates(%g, %g, %g) pool_weights(%kw, %vw)
      : tensor<1x128x8x64xbf16>, keys(tensor<1x256x2x64xbf16>),
        values(tensor<1x256x2x64xbf16>), gates tensor<1x128x8xbf16>,
        pool_weights tensor<2048x64xf32>, tensor<2048x64xbf16>
  return
}

// -----

func.func @nsa_value_pool_weights_element_type(%q: tensor<1x128x8x64xbf16>,
    %k: tensor<1x256x2x64xbf16>, %v: tensor<1x256x2x64xbf16>, %g: tensor<1x128x8xbf16>,
    %kw: tensor<2048x64xbf16>, %vw: tensor<2048x64xf16>) {
  // expected-error @+1 {{'skim.nsa' op value pool_weights element type 'f16' differs from query element type 'bf16'}}
  %o = skim.nsa %q, keys(%k), values(%v), gates(%g, %g, %g) pool_weights(%kw, %vw)
      : tensor<1x128x8x64xbf16>, keys(tensor<1x256x2x64xbf16>),
        values(tensor<1x256x2x64xbf16>), gates tensor<1x128x8xbf16>,
        pool_weights tensor<2048x64xbf16>, tensor<2048x64xf16>
  return
}

// -----

func.func @nsa_key_pool_weights_rows(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                                     %v: tensor<1x256x2x64xbf16>, %g: tensor<1x128x8xbf16>,
                                     %kw: tensor<1024x64xbf16>, %vw: tensor<2048x64xbf16>) {
  // expected-error @+1 {{'skim.nsa' op key pool_weights dim 0 (cmp_block * D) is 1024, expected 2048 (cmp_block times D)}}
  %o = skim.nsa %q, keys(%k), values(%v), gates(%g, %g, %g) pool_weights(%kw, %vw)
      : tensor<1x128x8x64xbf16>, keys(tensor<1x256x2x64xbf16>),
        values(tensor<1x256x2x64xbf16>), gates tensor<1x128x8xbf16>,
        pool_weights tensor<1024x64xbf16>, tensor<2048x64xbf16>
  return
}

// -----

func.func @nsa_key_pool_weights_cols(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                                     %v: tensor<1x256x2x64xbf16>, %g: tensor<1x128x8xbf16>,
                                     %kw: tensor<2048x32xbf16>, %vw: tensor<2048x64xbf16>) {
  // expected-error @+1 {{'skim.nsa' op key pool_weights dim 1 (D) is 32, expected 64 (D of query)}}
  %o = skim.nsa %q, keys(%k), values(%v), gates(%g, %g, %g) pool_weights(%kw, %vw)
      : tensor<1x128x8x64xbf16>, keys(tensor<1x256x2x64xbf16>),
        values(tensor<1x256x2x64xbf16>), gates tensor<1x128x8xbf16>,
        pool_weights tensor<2048x32xbf16>, tensor<2048x64xbf16>
  return
}

// -----

func.func @nsa_value_pool_weights_rows(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                                       %v: tensor<1x256x2x32xbf16>, %g: tensor<1x128x8xbf16>,
                                       %kw: tensor<2048x64xbf16>, %vw: tensor<2048x32xbf16>) {
  // expected-error @+1 {{'skim.nsa' op value pool_weights dim 0 (cmp_block * Dv) is 2048, expected 1024 (cmp_block times Dv)}}
  %o = skim.nsa %q, keys(%k), values(%v), gates(%g, %g, %g) pool_weights(%kw, %vw)
      : tensor<1x128x8x64xbf16>, keys(tensor<1x256x2x64xbf16>),
        values(tensor<1x256x2x32xbf16>), gates tensor<1x128x8xbf16>,
        pool_weights tensor<2048x64xbf16>, tensor<2048x32xbf16>
  return
}

// -----

func.func @nsa_value_pool_weights_cols(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                                       %v: tensor<1x256x2x32xbf16>, %g: tensor<1x128x8xbf16>,
                                       %kw: tensor<2048x64xbf16>, %vw: tensor<1024x64xbf16>) {
  // expected-error @+1 {{'skim.nsa' op value pool_weights dim 1 (Dv) is 64, expected 32 (Dv of values)}}
  %o = skim.nsa %q, keys(%k), values(%v), gates(%g, %g, %g) pool_weights(%kw, %vw)
      : tensor<1x128x8x64xbf16>, keys(tensor<1x256x2x64xbf16>),
        values(tensor<1x256x2x32xbf16>), gates tensor<1x128x8xbf16>,
        pool_weights tensor<2048x64xbf16>, tensor<1024x64xbf16>
  return
}

// -----

func.func @nsa_schedules_unknown_stage(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                                       %v: tensor<1x256x2x64xbf16>, %g: tensor<1x128x8xbf16>) {
  // expected-error @+1 {{'skim.nsa' op schedules has unknown stage 'scores' (stages: pool, compressed, selected, window)}}
  %o = skim.nsa %q, keys(%k), values(%v), gates(%g, %g, %g)
      {schedules = {pool = #skim.schedule<>, scores = #skim.schedule<>}}
      : tensor<1x128x8x64xbf16>, keys(tensor<1x256x2x64xbf16>),
        values(tensor<1x256x2x64xbf16>), gates tensor<1x128x8xbf16>
  return
}

// -----

func.func @nsa_schedules_entry(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                               %v: tensor<1x256x2x64xbf16>, %g: tensor<1x128x8xbf16>) {
  // expected-error @+1 {{'skim.nsa' op schedules entry 'window' must be a #skim.schedule, got #skim.sm90<>}}
  %o = skim.nsa %q, keys(%k), values(%v), gates(%g, %g, %g)
      {schedules = {window = #skim.sm90<>}}
      : tensor<1x128x8x64xbf16>, keys(tensor<1x256x2x64xbf16>),
        values(tensor<1x256x2x64xbf16>), gates tensor<1x128x8xbf16>
  return
}

// -----

//===----------------------------------------------------------------------===//
// skim.moba
//===----------------------------------------------------------------------===//

func.func @moba_value_rank(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                           %v: tensor<1x256x2xbf16>) {
  // expected-error @+1 {{'skim.moba' op value must have rank 4 [B, S, Hkv, Dv], got rank 3}}
  %o, %lse = skim.moba %q, %k, %v
      : tensor<1x128x8x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x2xbf16>
  return
}

// -----

func.func @moba_gqa_group(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x3x64xbf16>,
                          %v: tensor<1x256x3x64xbf16>) {
  // expected-error @+1 {{'skim.moba' op query heads Hq = 8 must be a multiple of key heads Hkv = 3}}
  %o, %lse = skim.moba %q, %k, %v
      : tensor<1x128x8x64xbf16>, tensor<1x256x3x64xbf16>, tensor<1x256x3x64xbf16>
  return
}

// -----

func.func @moba_block(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                      %v: tensor<1x256x2x64xbf16>) {
  // expected-error @+1 {{'skim.moba' op block must be > 0, got 0}}
  %o, %lse = skim.moba %q, %k, %v {block = 0}
      : tensor<1x128x8x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @moba_top_k(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                      %v: tensor<1x256x2x64xbf16>) {
  // expected-error @+1 {{'skim.moba' op top_k must be > 0, got 0}}
  %o, %lse = skim.moba %q, %k, %v {top_k = 0}
      : tensor<1x128x8x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @moba_scale(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                      %v: tensor<1x256x2x64xbf16>) {
  // expected-error @+1 {{'skim.moba' op scale must be finite and > 0, got -1.000000e+00}}
  %o, %lse = skim.moba %q, %k, %v {scale = -1.0 : f32}
      : tensor<1x128x8x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @moba_schedules_unknown_stage(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                                        %v: tensor<1x256x2x64xbf16>) {
  // expected-error @+1 {{'skim.moba' op schedules has unknown stage 'window' (stages: pool, scores, selected)}}
  %o, %lse = skim.moba %q, %k, %v {schedules = {window = #skim.schedule<>}}
      : tensor<1x128x8x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @moba_schedules_entry(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                                %v: tensor<1x256x2x64xbf16>) {
  // expected-error @+1 {{'skim.moba' op schedules entry 'scores' must be a #skim.schedule, got 64 : i64}}
  %o, %lse = skim.moba %q, %k, %v {schedules = {scores = 64}}
      : tensor<1x128x8x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>
  return
}

// -----

//===----------------------------------------------------------------------===//
// Attributes: #skim.mask, #skim.schedule, #skim.sm90, #skim.amd
//===----------------------------------------------------------------------===//

func.func @mask_window(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                       %v: tensor<1x256x2x64xbf16>) {
  // expected-error @+1 {{#skim.mask window must be >= 0 (0 = no window), got -1}}
  %o, %lse = skim.attention %q, %k, %v {mask = #skim.mask<causal, window = -1>}
      : tensor<1x128x8x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @mask_sink(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                     %v: tensor<1x256x2x64xbf16>) {
  // expected-error @+1 {{#skim.mask sink must be >= 0 (0 = no sink), got -4}}
  %o, %lse = skim.attention %q, %k, %v {mask = #skim.mask<window = 512, sink = -4>}
      : tensor<1x128x8x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @mask_duplicate(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                          %v: tensor<1x256x2x64xbf16>) {
  // expected-error @+1 {{'window' appears twice in #skim.mask}}
  %o, %lse = skim.attention %q, %k, %v {mask = #skim.mask<window = 512, window = 256>}
      : tensor<1x128x8x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @mask_unknown_field(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                              %v: tensor<1x256x2x64xbf16>) {
  // expected-error @+1 {{unknown #skim.mask field 'causl' (expected 'causal', 'window' or 'sink')}}
  %o, %lse = skim.attention %q, %k, %v {mask = #skim.mask<causl>}
      : tensor<1x128x8x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @schedule_block_m(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                            %v: tensor<1x256x2x64xbf16>) {
  // expected-error @+1 {{#skim.schedule block_m must be > 0, got 0}}
  %o, %lse = skim.attention %q, %k, %v {schedule = #skim.schedule<block_m = 0>}
      : tensor<1x128x8x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @schedule_block_n(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                            %v: tensor<1x256x2x64xbf16>) {
  // expected-error @+1 {{#skim.schedule block_n must be > 0, got 0}}
  %o, %lse = skim.attention %q, %k, %v {schedule = #skim.schedule<block_n = 0>}
      : tensor<1x128x8x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @schedule_warps(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                          %v: tensor<1x256x2x64xbf16>) {
  // expected-error @+1 {{#skim.schedule warps must be > 0, got 0}}
  %o, %lse = skim.attention %q, %k, %v {schedule = #skim.schedule<warps = 0>}
      : tensor<1x128x8x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @schedule_stages(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                           %v: tensor<1x256x2x64xbf16>) {
  // expected-error @+1 {{#skim.schedule stages must be > 0, got 0}}
  %o, %lse = skim.attention %q, %k, %v {schedule = #skim.schedule<stages = 0>}
      : tensor<1x128x8x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @schedule_tokens_per_tile(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                                    %v: tensor<1x256x2x64xbf16>) {
  // expected-error @+1 {{#skim.schedule tokens_per_tile must be > 0, got 0}}
  %o, %lse = skim.attention %q, %k, %v {schedule = #skim.schedule<tokens_per_tile = 0>}
      : tensor<1x128x8x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @schedule_split_kv(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                             %v: tensor<1x256x2x64xbf16>) {
  // expected-error @+1 {{#skim.schedule split_kv must be > 0, got 0}}
  %o, %lse = skim.attention %q, %k, %v {schedule = #skim.schedule<split_kv = 0>}
      : tensor<1x128x8x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @schedule_target(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                           %v: tensor<1x256x2x64xbf16>) {
  // expected-error @+1 {{#skim.schedule target must be #skim.sm90<...> or #skim.amd<...>, got #skim.mask<causal>}}
  %o, %lse = skim.attention %q, %k, %v {schedule = #skim.schedule<target = #skim.mask<causal>>}
      : tensor<1x128x8x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @sm90_consumer_warpgroups(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                                    %v: tensor<1x256x2x64xbf16>) {
  // expected-error @+2 {{#skim.sm90 consumer_warpgroups must be > 0, got 0}}
  // expected-error @+1 {{failed to parse Skim_ScheduleAttr parameter 'target' which is to be a `::mlir::Attribute`}}
  %o, %lse = skim.attention %q, %k, %v {schedule = #skim.schedule<target = #skim.sm90<consumer_warpgroups = 0>>}
      : tensor<1x128x8x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @sm90_cluster(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                        %v: tensor<1x256x2x64xbf16>) {
  // expected-error @+2 {{#skim.sm90 cluster must be > 0, got 0}}
  // expected-error @+1 {{failed to parse Skim_ScheduleAttr parameter 'target' which is to be a `::mlir::Attribute`}}
  %o, %lse = skim.attention %q, %k, %v {schedule = #skim.schedule<target = #skim.sm90<cluster = 0>>}
      : tensor<1x128x8x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @sm90_producer_regs_range(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                                    %v: tensor<1x256x2x64xbf16>) {
  // expected-error @+2 {{#skim.sm90 producer_regs must be a multiple of 8 in [24, 256] (setmaxnreg), got 16}}
  // expected-error @+1 {{failed to parse Skim_ScheduleAttr parameter 'target' which is to be a `::mlir::Attribute`}}
  %o, %lse = skim.attention %q, %k, %v {schedule = #skim.schedule<target = #skim.sm90<producer_regs = 16>>}
      : tensor<1x128x8x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @sm90_consumer_regs_multiple(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                                       %v: tensor<1x256x2x64xbf16>) {
  // expected-error @+2 {{#skim.sm90 consumer_regs must be a multiple of 8 in [24, 256] (setmaxnreg), got 236}}
  // expected-error @+1 {{failed to parse Skim_ScheduleAttr parameter 'target' which is to be a `::mlir::Attribute`}}
  %o, %lse = skim.attention %q, %k, %v {schedule = #skim.schedule<target = #skim.sm90<consumer_regs = 236>>}
      : tensor<1x128x8x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @amd_mma_shape(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                         %v: tensor<1x256x2x64xbf16>) {
  // expected-error @+2 {{#skim.amd mma shape 16x16x8 is not a bf16/f16 MFMA/WMMA shape (32x32x8 or 16x16x16)}}
  // expected-error @+1 {{failed to parse Skim_ScheduleAttr parameter 'target' which is to be a `::mlir::Attribute`}}
  %o, %lse = skim.attention %q, %k, %v {schedule = #skim.schedule<target = #skim.amd<mma_m = 16, mma_n = 16>>}
      : tensor<1x128x8x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @amd_waves_per_eu(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                            %v: tensor<1x256x2x64xbf16>) {
  // expected-error @+2 {{#skim.amd waves_per_eu must be > 0, got 0}}
  // expected-error @+1 {{failed to parse Skim_ScheduleAttr parameter 'target' which is to be a `::mlir::Attribute`}}
  %o, %lse = skim.attention %q, %k, %v {schedule = #skim.schedule<target = #skim.amd<waves_per_eu = 0>>}
      : tensor<1x128x8x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @amd_wave_size(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
                         %v: tensor<1x256x2x64xbf16>) {
  // expected-error @+2 {{#skim.amd wave_size must be 32 or 64, got 16}}
  // expected-error @+1 {{failed to parse Skim_ScheduleAttr parameter 'target' which is to be a `::mlir::Attribute`}}
  %o, %lse = skim.attention %q, %k, %v {schedule = #skim.schedule<target = #skim.amd<wave_size = 16>>}
      : tensor<1x128x8x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>
  return
}

// -----

func.func @combine_gate_count(%o0: tensor<1x128x8x64xf32>, %o1: tensor<1x128x8x64xf32>,
    %g: tensor<1x128x8xf32>) -> tensor<1x128x8x64xf32> {
  // expected-error @+1 {{'skim.combine' op has 2 outputs but 3 gates: one per output}}
  %o = skim.combine(%o0, %o1) gates(%g, %g, %g)
      : (tensor<1x128x8x64xf32>, tensor<1x128x8x64xf32>), (tensor<1x128x8xf32>, tensor<1x128x8xf32>, tensor<1x128x8xf32>)
  return %o : tensor<1x128x8x64xf32>
}

// -----

func.func @merge_lse_count(%o0: tensor<1x1x8x64xf32>, %l: tensor<1x8x1xf32>)
    -> tensor<1x1x8x64xf32> {
  // expected-error @+1 {{'skim.merge' op has 1 outputs but 2 lse: one per output}}
  %o, %lse = skim.merge(%o0) lse(%l, %l)
      : (tensor<1x1x8x64xf32>), (tensor<1x8x1xf32>, tensor<1x8x1xf32>)
  return %o : tensor<1x1x8x64xf32>
}

// -----

func.func @combine_empty_generic() -> tensor<1x128x8x64xf32> {
  // expected-error @+1 {{'skim.combine' op needs at least one output}}
  %o = "skim.combine"() <{operandSegmentSizes = array<i32: 0, 0>}> : () -> tensor<1x128x8x64xf32>
  return %o : tensor<1x128x8x64xf32>
}

// -----

func.func @nsa_one_pool_weight(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x256x2x64xbf16>,
    %g: tensor<1x128x8xbf16>, %w: tensor<2048x64xbf16>) -> tensor<1x128x8x64xbf16> {
  // expected-error @+1 {{'skim.nsa' op pool_weights needs both key and value weights}}
  %o = "skim.nsa"(%q, %k, %k, %g, %g, %g, %w) <{operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 0, 1>}> : (tensor<1x128x8x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x2x64xbf16>, tensor<1x128x8xbf16>, tensor<1x128x8xbf16>, tensor<1x128x8xbf16>, tensor<2048x64xbf16>) -> tensor<1x128x8x64xbf16>
  return %o : tensor<1x128x8x64xbf16>
}

// -----

func.func @pool_weights_rank0(%k: tensor<1x256x2x64xbf16>, %w: tensor<bf16>) -> tensor<1x15x2x64xbf16> {
  // expected-error @+1 {{'skim.pool' op weights must have rank 2 [block * D, Dout], got rank 0}}
  %p = "skim.pool"(%k, %w) <{block = 32 : i64, kind = 1 : i32, operandSegmentSizes = array<i32: 1, 1, 0>, stride = 16 : i64}> : (tensor<1x256x2x64xbf16>, tensor<bf16>) -> tensor<1x15x2x64xbf16>
  return %p : tensor<1x15x2x64xbf16>
}

// -----

func.func @attention_negative_kv_tokens(%q: tensor<1x4x2x8xf32>, %k: tensor<1x4x1x8xf32>,
    %v: tensor<1x4x1x8xf32>) -> tensor<1x4x2x8xf32> {
  %L = arith.constant -5 : index
  // expected-error @+1 {{'skim.attention' op kv_tokens must be >= 0, got -5}}
  %o, %lse = skim.attention %q, %k, %v kv_tokens(%L)
      : tensor<1x4x2x8xf32>, tensor<1x4x1x8xf32>, tensor<1x4x1x8xf32>
  return %o : tensor<1x4x2x8xf32>
}

// -----

func.func @topk_negative_n(%s: tensor<1x4x2x1xf32>, %L: index) {
  // expected-error @+1 {{'skim.topk' op n must be > 0, got -1}}
  %i, %c = skim.topk %s kv_tokens(%L) {n = -1, block = 64} : tensor<1x4x2x1xf32>
  return
}

// -----

func.func @mask_causal_value(%q: tensor<1x4x2x8xf32>, %k: tensor<1x4x1x8xf32>,
    %v: tensor<1x4x1x8xf32>) -> tensor<1x4x2x8xf32> {
  // expected-error @+1 {{'causal' is a flag: write #skim.mask<causal>, or leave it out}}
  %o, %lse = skim.attention %q, %k, %v {mask = #skim.mask<causal = true>}
      : tensor<1x4x2x8xf32>, tensor<1x4x1x8xf32>, tensor<1x4x1x8xf32>
  return %o : tensor<1x4x2x8xf32>
}

// -----

func.func @nsa_branch_heads(%q: tensor<1x128x8x64xf32>, %k2: tensor<1x256x2x64xf32>,
    %k4: tensor<1x256x4x64xf32>, %g: tensor<1x128x8xf32>) -> tensor<1x128x8x64xf32> {
  // expected-error @+1 {{'skim.nsa' op keys #1 dim 2 (Hkv) is 4, expected 2 (Hkv of keys #0: the selection is shared per KV head)}}
  %o = skim.nsa %q, keys(%k2, %k4, %k4), values(%k2, %k4, %k4), gates(%g, %g, %g)
      : tensor<1x128x8x64xf32>,
        keys(tensor<1x256x2x64xf32>, tensor<1x256x4x64xf32>, tensor<1x256x4x64xf32>),
        values(tensor<1x256x2x64xf32>, tensor<1x256x4x64xf32>, tensor<1x256x4x64xf32>),
        gates tensor<1x128x8xf32>
  return %o : tensor<1x128x8x64xf32>
}

// -----

func.func @block_scores_key_blocks(%q: tensor<1x100x4x64xf32>, %kc: tensor<1x7x2x64xf32>,
    %lse: tensor<1x4x100xf32>) -> tensor<1x100x2x2xf32> {
  %L = arith.constant 100 : index
  // expected-error @+1 {{'skim.block_scores' op keys dim 1 (blocks) is 7, expected 5 (complete compressed blocks of kv_tokens)}}
  %s = skim.block_scores nsa %q, %kc lse(%lse : tensor<1x4x100xf32>) kv_tokens(%L)
      {block = 64, cmp_block = 32, cmp_stride = 16}
      : tensor<1x100x4x64xf32>, tensor<1x7x2x64xf32> -> tensor<1x100x2x2xf32>
  return %s : tensor<1x100x2x2xf32>
}

// -----

func.func @topk_fewer_tokens_than_rows(%s: tensor<1x100x2x1xf32>) {
  %L = arith.constant 50 : index
  // expected-error @+1 {{'skim.topk' op kv_tokens = 50 is smaller than the T = 100 query rows it must contain}}
  %i, %c = skim.topk %s kv_tokens(%L) {n = 1, block = 64} : tensor<1x100x2x1xf32>
  return
}

// -----

func.func @nsa_softcap(%q: tensor<1x128x8x64xf32>, %k: tensor<1x256x2x64xf32>,
    %g: tensor<1x128x8xf32>) -> tensor<1x128x8x64xf32> {
  // expected-error @+1 {{'skim.nsa' op softcap must be finite and > 0, got 0.000000e+00}}
  %o = skim.nsa %q, keys(%k), values(%k), gates(%g, %g, %g) {softcap = 0.0 : f32}
      : tensor<1x128x8x64xf32>, keys(tensor<1x256x2x64xf32>),
        values(tensor<1x256x2x64xf32>), gates tensor<1x128x8xf32>
  return %o : tensor<1x128x8x64xf32>
}
