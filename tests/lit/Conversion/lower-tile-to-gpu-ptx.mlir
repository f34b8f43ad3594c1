// The NVIDIA path end to end: PTX from skim-opt (format=isa needs no
// ptxas), and an sm_90 artifact from skim compile whose plan carries the
// launch shape and names the image.
// REQUIRES: ptxas
// RUN: skim-opt %s --pass-pipeline='builtin.module(skim-expand-variants,skim-tile,skim-lower-tile-to-gpu,canonicalize,cse,lower-affine,convert-scf-to-cf,nvvm-attach-target{chip=sm_90 O=3},gpu.module(convert-gpu-to-nvvm{index-bitwidth=64},convert-nvvm-to-llvm,reconcile-unrealized-casts),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})' | FileCheck %s --check-prefix=PTX --implicit-check-not=__nv_
// RUN: skim compile --variant causal --heads 8/2 --dim 64 --target sm_90 -o %t.skim | FileCheck %s --check-prefix=COMPILE
// RUN: %python -c "import sys; [print(l.decode()) for l in open(sys.argv[1], 'rb').read().split(b'\n') if l.startswith((b'kernel ', b'binary '))]" %t.skim | FileCheck %s --check-prefix=PLAN
// RUN: not skim compile --variant moba --heads 8/2 --dim 64 --target sm_90 -o %t.moba.skim 2>&1 | FileCheck %s --check-prefix=MOBA
// RUN: not skim run --variant causal --heads 8/2 --dim 64 --seq 8 --target sm_90 2>&1 | FileCheck %s --check-prefix=LAUNCH

// PTX: gpu.binary @skim_kernels
// PTX-SAME: .target sm_90
// PTX-SAME: .entry skim_k0_attention
// PTX-SAME: bar.sync
// PTX-SAME: ex2.approx.f32

// COMPILE: wrote {{.*}}.skim ({{[0-9]+}} bytes, cuda:sm_90)

// PLAN: kernel skim_k0_attention grid d0.1,16,cdiv 2 d0.0 args 22 {{.*}} block 128 1 1 smem {{[0-9]+}} cluster 1 1 1
// PLAN: binary cuda.cubin

// MOBA: kernel '{{.+}}': per-tile score rows need workspace on the GPU: not supported yet

// LAUNCH: skim: error: {{(no CUDA device: .*|skim run does not launch GPU artifacts yet.*)}}

func.func @f(%q: tensor<?x?x4x32xf32>, %k: tensor<?x?x1x32xf32>, %v: tensor<?x?x1x32xf32>)
    -> (tensor<?x?x4x32xf32>, tensor<?x4x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v {mask = #skim.mask<causal>}
      : tensor<?x?x4x32xf32>, tensor<?x?x1x32xf32>, tensor<?x?x1x32xf32>
  return %o, %lse : tensor<?x?x4x32xf32>, tensor<?x4x?xf32>
}
