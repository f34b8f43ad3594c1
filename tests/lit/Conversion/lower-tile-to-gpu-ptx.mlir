// The NVIDIA path end to end: PTX from skim-opt (format=isa needs no
// ptxas), and an sm_90 artifact from skim compile whose plan carries the
// launch shape and names the image.
// REQUIRES: ptxas
// RUN: skim-opt %s --pass-pipeline='builtin.module(skim-expand-variants,skim-tile,skim-lower-tile-to-gpu,canonicalize,cse,lower-affine,convert-scf-to-cf,nvvm-attach-target{chip=sm_90 O=3},gpu.module(convert-gpu-to-nvvm{index-bitwidth=64},convert-nvvm-to-llvm,reconcile-unrealized-casts,skim-extern-dynamic-shared),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})' | FileCheck %s --check-prefix=PTX --implicit-check-not=__nv_
// RUN: skim compile --variant causal --heads 8/2 --dim 64 --target sm_90 -o %t.skim | FileCheck %s --check-prefix=COMPILE
// RUN: %python -c "import sys; [print(l.decode()) for l in open(sys.argv[1], 'rb').read().split(b'\n') if l.startswith((b'kernel ', b'binary '))]" %t.skim | FileCheck %s --check-prefix=PLAN
// RUN: skim compile --variant moba --heads 8/2 --dim 64 --target sm_90 -o %t.moba.skim
// RUN: %python -c "import sys; [print(l.decode()) for l in open(sys.argv[1], 'rb').read().split(b'\n') if l.startswith((b'kernel ', b'buffer '))]" %t.moba.skim | FileCheck %s --check-prefix=MOBA
// RUN: skim compile --variant nsa --heads 16/1 --dim 64 --target sm_90 -o %t.nsa.skim
// RUN: %python -c "import sys; [print(l.decode()) for l in open(sys.argv[1], 'rb').read().split(b'\n') if l.startswith((b'kernel ', b'buffer '))]" %t.nsa.skim | FileCheck %s --check-prefix=NSA
// RUN: not skim run --variant causal --heads 8/2 --dim 64 --seq 8 --target sm_90 2>&1 | FileCheck %s --check-prefix=LAUNCH

// PTX: gpu.binary @skim_kernels
// PTX-SAME: .target sm_90
// Dynamic shared memory of unknown size, as CUDA C++'s extern __shared__,
// aligned for the wgmma swizzle atoms.
// PTX-SAME: .extern .shared .align 1024 .b8 __dynamic_shmem__0[];
// PTX-SAME: .entry skim_k0_attention
// PTX-SAME: bar.sync
// PTX-SAME: ex2.approx.f32

// COMPILE: wrote {{.*}}.skim ({{[0-9]+}} bytes, cuda:sm_90)

// PLAN: kernel skim_k0_attention grid d0.1,16,cdiv 2 d0.0 args 22 {{.*}} block 128 1 1 smem {{[0-9]+}} cluster 1 1 1
// PLAN: binary cuda.cubin

// Kernels whose scratch grows with the sequence (MoBA's fused scores +
// top-k, NSA's fused compressed attention + top-n: the score row of
// ⌈L / block⌉ × rows, MoBA's rounded up to whole 64-key chunks) keep that part in a global scratch pool: lock words
// zeroed before each run, and min(grid, 1024) slots of the kernel's words,
// passed after the plan's own arguments with the slot count and the words
// per slot. Static scratch (selection lists, membership flags, top-k state)
// lives in shared memory, so attention over selections needs no pool.
// MOBA: buffer 8 workspace -1 i32 1 [[SLOTS:d0.1,16,cdiv,2,\*,d0.0,\*,1024,min]] zero
// MOBA-NEXT: buffer 9 workspace -1 f32 2 [[SLOTS]] [[WORDS:0,d1.1,512,cdiv,64,cdiv,64,\*,64,\*,0,max,4,\*,64,cdiv,16,\*,\+]]
// MOBA-NOT: buffer 10
// MOBA: kernel skim_k1_moba_select grid d0.1,16,cdiv 2 d0.0 args 26 {{.*}} t8 t9 e[[SLOTS]] e[[WORDS]] block 128 1 1 smem {{[0-9]+}} cluster 1 1 1
// MOBA: kernel skim_k2_attention grid d0.1,16,cdiv 8 d0.0 args 31 {{.*}} es7.2 block 128
// (The NVIDIA pipeline gives the compressed stage 32 x 32 tiles: 2 tokens
// of 16 heads, and one chunk of padding after their rows.)
// NSA: buffer 17 workspace -1 i32 1 [[SLOTS:d0.1,2,cdiv,d0.0,\*,1024,min]] zero
// NSA-NEXT: buffer 18 workspace -1 f32 2 [[SLOTS]] [[WORDS:0,d1.1,64,cdiv,2,\*,32,\+,0,max,4,\*,64,cdiv,16,\*,\+]]
// NSA: kernel skim_k2_nsa_compressed grid d0.1,2,cdiv 1 d0.0 args 37 {{.*}} t17 t18 e[[SLOTS]] e[[WORDS]] block 128

// LAUNCH: skim: error: {{(no CUDA device: .*|skim run does not launch GPU artifacts yet.*)}}

func.func @f(%q: tensor<?x?x4x32xf32>, %k: tensor<?x?x1x32xf32>, %v: tensor<?x?x1x32xf32>)
    -> (tensor<?x?x4x32xf32>, tensor<?x4x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v {mask = #skim.mask<causal>}
      : tensor<?x?x4x32xf32>, tensor<?x?x1x32xf32>, tensor<?x?x1x32xf32>
  return %o, %lse : tensor<?x?x4x32xf32>, tensor<?x4x?xf32>
}
