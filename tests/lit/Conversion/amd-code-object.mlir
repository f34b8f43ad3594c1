// The AMD path: 16-bit attention on the matrix cores (gfx942 and gfx90a:
// MFMA 32x32x8 on wave64; gfx1100: WMMA 16x16x16 on wave32), the other
// kernels SIMT, exp2 as v_exp_f32 with no ROCm device-library call, and a
// code object linked by LLVM 22's lld for each chip. Nothing here runs on an
// AMD GPU; the kernels' numerics are checked through the lane emulator with
// MFMA/WMMA semantics from the ISA (tests/emulator, [amd]).
//
// RUN: skim compile %s --target gfx942 -o %t.942.skim | FileCheck %s --check-prefix=COMPILE
// COMPILE: wrote {{.*}} bytes, hip:gfx942)
// RUN: %python %S/Inputs/artifact_section.py %t.942.skim hip.hsaco %t.942.hsaco
// RUN: llvm-readelf --notes %t.942.hsaco | FileCheck %s --check-prefix=NOTES
// NOTES: .name: skim_k0_attention
// NOTES: .private_segment_fixed_size: 0
// NOTES: .vgpr_spill_count: 0
// NOTES: .wavefront_size: 64
// NOTES: amdhsa.target: amdgcn-amd-amdhsa--gfx942
// Code object v5 (metadata 1.2), which ROCm 5.x and 6.x load.
// NOTES: amdhsa.version:
// NOTES-NEXT: - 1
// NOTES-NEXT: - 2
// The one key loop: S = Q·Kᵀ is 16 k-steps of 8 over D = 128 for one
// 32-key block, P·V 4 k-steps over 32 keys for four 32-column blocks of
// D: 32 MFMAs, and no scratch, no call.
// RUN: llvm-objdump -d --mcpu=gfx942 %t.942.hsaco | FileCheck %s --check-prefix=ISA \
// RUN:   --implicit-check-not=scratch_ --implicit-check-not=s_swappc \
// RUN:   --implicit-check-not=v_mfma
// ISA: <skim_k0_attention>:
// ISA: v_exp_f32
// ISA-COUNT-32: v_mfma_f32_32x32x8_bf16
// ISA: s_endpgm
// The plan names the image and gives the kernel its block (four waves) and
// dynamic LDS (K and V, 32 x (128 + 8) bf16 each).
// RUN: %python -c "import sys; [print(l.decode()) for l in open(sys.argv[1], 'rb').read().split(b'\n') if l.startswith((b'kernel ', b'binary '))]" %t.942.skim | FileCheck %s --check-prefix=PLAN
// PLAN: kernel skim_k0_attention {{.*}} block 256 1 1 smem 17408
// PLAN: binary hip.hsaco
// Two waves a SIMD by registers (VGPRs and AGPRs) and by LDS.
// RUN: llvm-readelf --notes %t.942.hsaco | %python %S/Inputs/amd_waves.py 2 %t.942.skim | FileCheck %s --check-prefix=WAVES942
// WAVES942: skim_k0_attention: {{[0-9]+}} VGPRs + {{[0-9]+}} AGPRs -> {{[2-8]}} waves a SIMD; 17408 bytes of LDS -> {{[2-8]}}
//
// MFMA 16x16x16 when asked for: 64 of them (S: 8 k-steps x 2 key blocks,
// P·V: 2 k-steps x 8 column blocks).
// RUN: skim compile %s --target gfx942 --amd-matrix mfma_16x16x16 -o %t.942m16.skim
// RUN: %python %S/Inputs/artifact_section.py %t.942m16.skim hip.hsaco %t.942m16.hsaco
// RUN: llvm-objdump -d --mcpu=gfx942 %t.942m16.hsaco | FileCheck %s --check-prefix=M16 \
// RUN:   --implicit-check-not=scratch_ --implicit-check-not=v_mfma
// M16-COUNT-64: v_mfma_f32_16x16x16_bf16
// So does a schedule's #skim.amd, per kernel (one wave an EU here); a wave
// size the chip lacks is refused, naming the kernel.
// RUN: sed 's/mask = #skim.mask<causal>}/mask = #skim.mask<causal>, schedule = #skim.schedule<block_m = 128, block_n = 32, warps = 8, target = #skim.amd<mma_m = 16, mma_n = 16, mma_k = 16, waves_per_eu = 1>>}/' %s > %t.amd16.mlir
// RUN: skim compile %t.amd16.mlir --target gfx942 -o %t.amd16.skim
// RUN: %python %S/Inputs/artifact_section.py %t.amd16.skim hip.hsaco %t.amd16.hsaco
// RUN: llvm-objdump -d --mcpu=gfx942 %t.amd16.hsaco | FileCheck %s --check-prefix=M16 \
// RUN:   --implicit-check-not=scratch_ --implicit-check-not=v_mfma
// RUN: not skim compile %t.amd16.mlir --target gfx1100 -o %t.amd16b.skim 2>&1 | FileCheck %s --check-prefix=AMDWAVE
// AMDWAVE: error: kernel 'skim_k0_attention': the schedule asks for waves of 64 lanes ({{.*}}) but the target's are 32
// An instruction the chip lacks is refused.
// RUN: not skim compile %s --target gfx1100 --amd-matrix mfma_32x32x8 -o %t.bad.skim 2>&1 | FileCheck %s --check-prefix=BADMATRIX
// BADMATRIX: amd-matrix 'mfma_32x32x8' does not run on gfx1100 (wmma_16x16x16 does; or simt)
//
// gfx90a (wave64, the same MFMAs) and gfx1100 (wave32, WMMA 16x16x16: 8 for S over
// D = 128 in k-steps of 16, 8 for P·V over the 16-key chunk's columns).
// RUN: skim compile %s --target gfx90a -o %t.90a.skim
// RUN: %python %S/Inputs/artifact_section.py %t.90a.skim hip.hsaco %t.90a.hsaco
// RUN: llvm-readelf --notes %t.90a.hsaco | FileCheck %s --check-prefix=GFX90A
// GFX90A: .private_segment_fixed_size: 0
// GFX90A: amdhsa.target: amdgcn-amd-amdhsa--gfx90a
// RUN: llvm-readelf --notes %t.90a.hsaco | %python %S/Inputs/amd_waves.py 2 %t.90a.skim
// RUN: llvm-objdump -d --mcpu=gfx90a %t.90a.hsaco | FileCheck %s --check-prefix=MFMA90A \
// RUN:   --implicit-check-not=scratch_ --implicit-check-not=v_mfma
// MFMA90A-COUNT-32: v_mfma_f32_32x32x8bf16_1k
// RUN: skim compile %s --target gfx1100 -o %t.1100.skim
// RUN: %python %S/Inputs/artifact_section.py %t.1100.skim hip.hsaco %t.1100.hsaco
// RUN: llvm-readelf --notes %t.1100.hsaco | FileCheck %s --check-prefix=GFX1100
// GFX1100: .private_segment_fixed_size: 0
// GFX1100: .vgpr_spill_count: 0
// GFX1100: .wavefront_size: 32
// GFX1100: amdhsa.target: amdgcn-amd-amdhsa--gfx1100
// RUN: llvm-objdump -d --mcpu=gfx1100 %t.1100.hsaco | FileCheck %s --check-prefix=GFX11ISA \
// RUN:   --implicit-check-not=scratch_ --implicit-check-not=v_wmma
// GFX11ISA-COUNT-16: v_wmma_f32_16x16x16_bf16
// RDNA3's occupancy (1536 VGPRs a SIMD32, 64 KB of LDS a CU in CU mode):
// RUN: llvm-readelf --notes %t.1100.hsaco | %python %S/Inputs/amd_waves.py 2 %t.1100.skim | FileCheck %s --check-prefix=WAVES1100
// WAVES1100: skim_k0_attention: 249 VGPRs + 0 AGPRs -> {{[2-9]|1[0-6]}} waves a SIMD; {{[0-9]+}} bytes of LDS -> {{[2-9]|1[0-6]}}
//
// gfx1100 in wave64 mode (--amd-wave-size 64): the same WMMA with four f32
// a lane, 64-row tiles (one 16-row block a wave: 16 WMMAs, as above), the
// wave's halves swapped by v_permlane64 (gfx950's permlane swaps, which
// LLVM 22 would pick for 64-lane shuffles, do not exist on gfx11), no
// scratch.
// RUN: skim compile %s --target gfx1100 --amd-wave-size 64 -o %t.w64.skim
// RUN: %python %S/Inputs/artifact_section.py %t.w64.skim hip.hsaco %t.w64.hsaco
// RUN: llvm-readelf --notes %t.w64.hsaco | FileCheck %s --check-prefix=WAVE64
// WAVE64: .private_segment_fixed_size: 0
// WAVE64: .vgpr_spill_count: 0
// WAVE64: .wavefront_size: 64
// RUN: llvm-objdump -d --mcpu=gfx1100 %t.w64.hsaco | FileCheck %s --check-prefix=W64ISA \
// RUN:   --implicit-check-not=scratch_ --implicit-check-not=v_wmma \
// RUN:   --implicit-check-not=v_permlane16_swap --implicit-check-not=v_permlane32_swap
// W64ISA: v_permlane64_b32
// W64ISA-COUNT-16: v_wmma_f32_16x16x16_bf16
// RUN: %python -c "import sys; [print(l.decode()) for l in open(sys.argv[1], 'rb').read().split(b'\n') if l.startswith(b'kernel ')]" %t.w64.skim | FileCheck %s --check-prefix=W64PLAN
// W64PLAN: kernel skim_k0_attention grid d0.1,16,cdiv {{.*}} block 256 1 1
// RUN: llvm-readelf --notes %t.w64.hsaco | %python %S/Inputs/amd_waves.py 2 %t.w64.skim | FileCheck %s --check-prefix=WAVES64
// WAVES64: skim_k0_attention: 200 VGPRs + 0 AGPRs -> {{[2-9]|1[0-6]}} waves a SIMD; {{[0-9]+}} bytes of LDS -> {{[2-9]|1[0-6]}}
// The NSA preset on gfx1100, every kernel, both wave sizes.
// RUN: skim compile --variant nsa --heads 16/1 --dim 128 --dtype bf16 --target gfx1100 -o %t.nsa1100.skim
// RUN: %python %S/Inputs/artifact_section.py %t.nsa1100.skim hip.hsaco %t.nsa1100.hsaco
// RUN: llvm-readelf --notes %t.nsa1100.hsaco | %python %S/Inputs/amd_waves.py 2 %t.nsa1100.skim
// RUN: skim compile --variant nsa --heads 16/1 --dim 128 --dtype bf16 --target gfx1100 --amd-wave-size 64 -o %t.nsa1100w64.skim
// RUN: %python %S/Inputs/artifact_section.py %t.nsa1100w64.skim hip.hsaco %t.nsa1100w64.hsaco
// RUN: llvm-readelf --notes %t.nsa1100w64.hsaco | %python %S/Inputs/amd_waves.py 2 %t.nsa1100w64.skim
// A wave size the chip lacks, or on a target that is not AMD, is refused.
// RUN: not skim compile %s --target gfx942 --amd-wave-size 32 -o %t.bad.skim 2>&1 | FileCheck %s --check-prefix=BADWAVE
// BADWAVE: amd-wave-size 32 does not run on gfx942 (waves of 64 lanes only)
// RUN: not skim compile %s --target sm_90a --amd-wave-size 64 -o %t.bad.skim 2>&1 | FileCheck %s --check-prefix=NOTAMD
// NOTAMD: amd-wave-size is for AMD targets (gfx90a, gfx942, gfx1100), not 'sm_90a'
//
// The presets: every kernel keeps two waves a SIMD by registers and by LDS.
// The SIMT ones (pools, NSA's fused scoring, MoBA's selection, f32 and
// selection attention) hold their f32 tiles in at most half the LDS, in
// workgroups of four waves (block 256): two workgroups a CU.
// RUN: skim compile --variant moba --heads 8/2 --dim 128 --dtype bf16 --target gfx942 -o %t.moba.skim
// RUN: %python %S/Inputs/artifact_section.py %t.moba.skim hip.hsaco %t.moba.hsaco
// RUN: llvm-readelf --notes %t.moba.hsaco | %python %S/Inputs/amd_waves.py 2 %t.moba.skim | FileCheck %s --check-prefix=MOBA
// MOBA: skim_k0_pool: {{[0-9]+}} VGPRs + 0 AGPRs -> {{[2-8]}} waves a SIMD; {{[0-9]+}} bytes of LDS -> {{[2-8]}}
// MOBA: skim_k1_moba_select: {{[0-9]+}} VGPRs + 0 AGPRs -> {{[2-8]}} waves a SIMD; {{[0-9]+}} bytes of LDS -> {{[2-8]}}
// MOBA: skim_k2_attention: {{[0-9]+}} VGPRs + 0 AGPRs -> {{[2-8]}} waves a SIMD; {{[0-9]+}} bytes of LDS -> {{[2-8]}}
// RUN: skim compile --variant nsa --heads 16/1 --dim 128 --dtype bf16 --target gfx942 -o %t.nsa.skim
// RUN: %python %S/Inputs/artifact_section.py %t.nsa.skim hip.hsaco %t.nsa.hsaco
// RUN: llvm-readelf --notes %t.nsa.hsaco | FileCheck %s --check-prefix=NSA
// NSA-COUNT-6: .private_segment_fixed_size: 0
// RUN: llvm-readelf --notes %t.nsa.hsaco | %python %S/Inputs/amd_waves.py 2 %t.nsa.skim | FileCheck %s --check-prefix=WAVES
// WAVES: skim_k2_nsa_compressed: {{[0-9]+}} VGPRs + 0 AGPRs -> {{[2-8]}} waves a SIMD; {{[0-9]+}} bytes of LDS -> {{[2-8]}}
// WAVES: skim_k4_attention: {{[0-9]+}} VGPRs + 0 AGPRs -> {{[2-8]}} waves a SIMD; 17408 bytes of LDS -> {{[2-8]}}
// The same in f32, where every kernel is SIMT (gfx90a, and causal).
// RUN: skim compile --variant nsa --heads 16/1 --dim 128 --dtype f32 --target gfx90a -o %t.nsa32.skim
// RUN: %python %S/Inputs/artifact_section.py %t.nsa32.skim hip.hsaco %t.nsa32.hsaco
// RUN: llvm-readelf --notes %t.nsa32.hsaco | %python %S/Inputs/amd_waves.py 2 %t.nsa32.skim
// RUN: skim compile --variant moba --heads 8/2 --dim 128 --dtype f32 --target gfx942 -o %t.moba32.skim
// RUN: %python %S/Inputs/artifact_section.py %t.moba32.skim hip.hsaco %t.moba32.hsaco
// RUN: llvm-readelf --notes %t.moba32.hsaco | %python %S/Inputs/amd_waves.py 2 %t.moba32.skim
// RUN: skim compile --variant causal --heads 8/2 --dim 128 --dtype f32 --target gfx942 -o %t.causal32.skim
// RUN: %python %S/Inputs/artifact_section.py %t.causal32.skim hip.hsaco %t.causal32.hsaco
// RUN: llvm-readelf --notes %t.causal32.hsaco | %python %S/Inputs/amd_waves.py 2 %t.causal32.skim | FileCheck %s --check-prefix=SIMT32
// SIMT32: skim_k0_attention: {{[0-9]+}} VGPRs + 0 AGPRs -> {{[2-8]}} waves a SIMD; {{[0-9]+}} bytes of LDS -> {{[2-8]}}
//
// A schedule whose tiles pass the LDS is refused, naming the kernel.
// RUN: sed 's/mask = #skim.mask<causal>}/mask = #skim.mask<causal>, schedule = #skim.schedule<block_m = 128, block_n = 128>}/' %s > %t.big.mlir
// RUN: not skim compile %t.big.mlir --target gfx942 --amd-matrix simt -o %t.big.skim 2>&1 | FileCheck %s --check-prefix=LDS
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
