// The sm_90a launch plan with TMA (compileToArtifact's plan assembly): the
// attention kernel takes two more arguments after the plan's own, the
// tensor maps of K (buffer 1) and V (buffer 2), each a box of one batch,
// 64 keys, one KV head and one 64-element panel with the 128-byte swizzle;
// with cp.async (--tma=false) there are none and the tile is 128 rows.
// Selection kernels add their maps after the scalar arguments too.
// RUN: skim compile --variant causal --heads 16/1 --dim 128 --dtype bf16 --target sm_90a -o %t.tma.skim
// RUN: %python -c "import sys; [print(l.decode()) for l in open(sys.argv[1], 'rb').read().split(b'\n') if l.startswith(b'kernel ')]" %t.tma.skim | FileCheck %s --check-prefix=TMA
// RUN: skim compile --variant causal --heads 16/1 --dim 128 --dtype bf16 --target sm_90a --tma=false -o %t.cp.skim
// RUN: %python -c "import sys; [print(l.decode()) for l in open(sys.argv[1], 'rb').read().split(b'\n') if l.startswith(b'kernel ')]" %t.cp.skim | FileCheck %s --check-prefix=CPASYNC
// RUN: skim compile --variant nsa --heads 64/4 --dim 128 --dtype bf16 --target sm_90a -o %t.nsa.skim
// RUN: %python -c "import sys; [print(l.decode()) for l in open(sys.argv[1], 'rb').read().split(b'\n') if l.startswith(b'kernel ')]" %t.nsa.skim | FileCheck %s --check-prefix=NSA
// RUN: skim compile --variant causal --heads 16/1 --dim 64 --dtype bf16 --target sm_80 -o %t.sm80.skim
// RUN: %python -c "import sys; [print(l.decode()) for l in open(sys.argv[1], 'rb').read().split(b'\n') if l.startswith(b'kernel ')]" %t.sm80.skim | FileCheck %s --check-prefix=SM80

// TMA: kernel skim_k0_attention grid d0.1,4,cdiv 1 d0.0 args 24 t0 t1 t2 {{.*}} es4.2 m1:1x64x1x64:128 m2:1x64x1x64:128 block 128 1 1 smem {{[0-9]+}} cluster 1 1 1

// 128-row tiles (two warpgroup slices) and no maps with cp.async.
// CPASYNC: kernel skim_k0_attention grid d0.1,8,cdiv 1 d0.0 args 22 t0 t1 t2 {{.*}} es4.2 block 128 1 1
// CPASYNC-NOT: m1:

// In the NSA preset the selected branch (per-token blocks, 4 tokens × 16
// heads) and the window branch read K and V by TMA as well; the SIMT
// compressed stage does not.
// NSA: kernel skim_k2_nsa_compressed
// NSA-NOT: :128
// NSA: kernel skim_k3_attention {{.*}} m1:1x64x1x64:128 m2:1x64x1x64:128 block
// NSA: kernel skim_k4_attention {{.*}} m1:1x64x1x64:128 m2:1x64x1x64:128 block

// sm_80 has no TMA.
// SM80-NOT: :128
