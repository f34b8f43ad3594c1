// The AMD path as far as it is built: every kernel SIMT (the MFMA/WMMA
// distribution does not exist yet), exp2 as v_exp_f32 with no ROCm device
// library call, default tiles inside the 64 KB of LDS a workgroup has, and
// a code object linked by LLVM 22's lld for each chip. Nothing here runs on
// an AMD GPU; the kernels' numerics are checked through the lane emulator
// (tests/emulator, [amd]).
//
// RUN: skim compile %s --target gfx942 -o %t.942.skim | FileCheck %s --check-prefix=COMPILE
// COMPILE: wrote {{.*}} bytes, hip:gfx942)
// RUN: %python %S/Inputs/artifact_section.py %t.942.skim hip.hsaco %t.942.hsaco
// RUN: llvm-readelf --notes %t.942.hsaco | FileCheck %s --check-prefix=NOTES
// NOTES: .name: skim_k0_attention
// NOTES: .private_segment_fixed_size: 0
// NOTES: .vgpr_count: {{[0-9]$|[0-9][0-9]$|1[0-9][0-9]$|2[0-4][0-9]$}}
// NOTES: .wavefront_size: 64
// NOTES: amdhsa.target: amdgcn-amd-amdhsa--gfx942
// RUN: llvm-objdump -d --mcpu=gfx942 %t.942.hsaco | FileCheck %s --check-prefix=ISA \
// RUN:   --implicit-check-not=scratch_ --implicit-check-not=s_swappc
// ISA: <skim_k0_attention>:
// ISA: v_exp_f32
// ISA: s_barrier
// ISA: s_endpgm
// The plan names the image and gives the kernel its dynamic LDS.
// RUN: %python -c "import sys; [print(l.decode()) for l in open(sys.argv[1], 'rb').read().split(b'\n') if l.startswith((b'kernel ', b'binary '))]" %t.942.skim | FileCheck %s --check-prefix=PLAN
// PLAN: kernel skim_k0_attention {{.*}} block 128 1 1 smem {{[0-9]+}}
// PLAN: binary hip.hsaco
//
// gfx90a (wave64) and gfx1100 (wave32) too, and the presets whose pools
// read 512-key blocks (in 64-row chunks).
// RUN: skim compile %s --target gfx90a -o %t.90a.skim
// RUN: %python %S/Inputs/artifact_section.py %t.90a.skim hip.hsaco %t.90a.hsaco
// RUN: llvm-readelf --notes %t.90a.hsaco | FileCheck %s --check-prefix=GFX90A
// GFX90A: amdhsa.target: amdgcn-amd-amdhsa--gfx90a
// RUN: skim compile %s --target gfx1100 -o %t.1100.skim
// RUN: %python %S/Inputs/artifact_section.py %t.1100.skim hip.hsaco %t.1100.hsaco
// RUN: llvm-readelf --notes %t.1100.hsaco | FileCheck %s --check-prefix=GFX1100
// GFX1100: .wavefront_size: 32
// GFX1100: amdhsa.target: amdgcn-amd-amdhsa--gfx1100
// RUN: skim compile --variant moba --heads 8/2 --dim 128 --dtype bf16 --target gfx942 -o %t.moba.skim
// RUN: skim compile --variant nsa --heads 16/1 --dim 128 --dtype bf16 --target gfx942 -o %t.nsa.skim
// RUN: %python %S/Inputs/artifact_section.py %t.nsa.skim hip.hsaco %t.nsa.hsaco
// RUN: llvm-readelf --notes %t.nsa.hsaco | FileCheck %s --check-prefix=NSA
// NSA-COUNT-6: .private_segment_fixed_size: 0
// By registers every kernel leaves room for at least 2 waves a SIMD. (By
// LDS it does not: a SIMT kernel's tiles take up to 64 KB, one 2-wave
// workgroup a CU; that waits for the MFMA distribution, which keeps the
// accumulators in registers.)
// RUN: llvm-readelf --notes %t.nsa.hsaco | %python %S/Inputs/amd_waves.py 2 | FileCheck %s --check-prefix=WAVES
// RUN: llvm-readelf --notes %t.942.hsaco | %python %S/Inputs/amd_waves.py 2
// WAVES: skim_k2_nsa_compressed: {{[0-9]+}} VGPRs + 0 AGPRs -> {{[2-8]}} waves a SIMD
//
// A schedule whose tiles pass the LDS is refused, naming the kernel.
// RUN: sed 's/mask = #skim.mask<causal>}/mask = #skim.mask<causal>, schedule = #skim.schedule<block_m = 128, block_n = 128>}/' %s > %t.big.mlir
// RUN: not skim compile %t.big.mlir --target gfx942 -o %t.big.skim 2>&1 | FileCheck %s --check-prefix=LDS
// LDS: error: kernel "skim_k0_attention" needs {{[0-9]+}} bytes of LDS; gfx942 has 65536 a workgroup: give its stage a smaller block_m or block_n
// LDS-NOT: see current operation
//
// Running needs a ROCm device.
// RUN: not skim run --variant causal --heads 8/2 --dim 64 --seq 8 --target gfx942 2>&1 | FileCheck %s --check-prefix=RUNS
// RUNS: skim: error: no HIP device:

func.func @causal(%q: tensor<1x?x8x128xbf16>, %k: tensor<1x?x2x128xbf16>,
                  %v: tensor<1x?x2x128xbf16>)
    -> (tensor<1x?x8x128xbf16>, tensor<1x8x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v {mask = #skim.mask<causal>}
      : tensor<1x?x8x128xbf16>, tensor<1x?x2x128xbf16>, tensor<1x?x2x128xbf16>
  return %o, %lse : tensor<1x?x8x128xbf16>, tensor<1x8x?xf32>
}
