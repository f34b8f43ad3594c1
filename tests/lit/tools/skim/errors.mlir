// Bad flags, files and inputs: one line naming the problem, non-zero exit.
// RUN: not skim run --variant flash 2>&1 | FileCheck %s --check-prefix=PRESET
// RUN: not skim run --variant causal --heads 6/4 2>&1 | FileCheck %s --check-prefix=HEADS
// RUN: not skim run --variant causal --dtype f64 2>&1 | FileCheck %s --check-prefix=DTYPE
// RUN: not skim run 2>&1 | FileCheck %s --check-prefix=NOTHING
// RUN: not skim run %t.missing.mlir 2>&1 | FileCheck %s --check-prefix=MISSING
// RUN: not skim run %s 2>&1 | FileCheck %s --check-prefix=NEEDS-INPUT
// RUN: not skim run %s --input arg0=%S/Inputs/k.npy --input arg1=%S/Inputs/k.npy --input arg2=%S/Inputs/v.npy 2>&1 | FileCheck %s --check-prefix=SHAPE
// RUN: not skim run %s --input x=%S/Inputs/q.npy 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// RUN: not skim run %s --check --input arg0=%S/Inputs/q.npy --input arg1=%S/Inputs/k.npy --input arg2=%S/Inputs/v.npy 2>&1 | FileCheck %s --check-prefix=CHECK-FILE
// RUN: not skim run --artifact %s 2>&1 | FileCheck %s --check-prefix=ARTIFACT
// RUN: not skim compile --variant causal 2>&1 | FileCheck %s --check-prefix=NO-OUT
// RUN: not skim compile --variant causal --target gfx1200 -o %t.skim 2>&1 | FileCheck %s --check-prefix=TARGET
// RUN: not skim frobnicate 2>&1 | FileCheck %s --check-prefix=SUBCOMMAND
// RUN: not skim run --variant causal --bogus-flag 2>&1 | FileCheck %s --check-prefix=FLAG

// PRESET: skim: error: unknown variant 'flash' (expected nsa, moba, window or causal)
// HEADS: skim: error: --heads must be Hq/Hkv with Hq a positive multiple of Hkv
// DTYPE: skim: error: unknown --dtype 'f64' (expected f32, bf16 or f16)
// NOTHING: skim: error: give a variant: a .mlir file or --variant nsa|moba|window|causal
// MISSING: skim: error: cannot read '{{.*}}missing.mlir': No such file or directory
// NEEDS-INPUT: skim: error: input 'arg0' needs --input arg0=file.npy (random inputs need a preset for their shapes)
// SHAPE: skim: error: input #0 dim 2 is 1, expected 2
// UNKNOWN: skim: error: --input names unknown argument 'x'
// CHECK-FILE: skim: error: --check needs a preset (--variant): the reference is per preset
// ARTIFACT: skim: error: {{.*}}errors.mlir: not a skim artifact (bad magic or too short)
// NO-OUT: skim: error: compile needs -o <artifact>
// TARGET: error: target 'gfx1200' has no lowering yet (supported: host, sm_80, sm_90, sm_90a, gfx90a, gfx942, gfx1100)
// SUBCOMMAND: skim: Unknown subcommand 'frobnicate'
// RUN: not skim 2>&1 | FileCheck %s --check-prefix=NONE
// NONE: skim: error: give a subcommand: compile, run, tune or info (see skim --help)
// FLAG: Unknown command line argument '--bogus-flag'

func.func @f(%q: tensor<?x?x2x8xf32>, %k: tensor<?x?x1x8xf32>, %v: tensor<?x?x1x8xf32>)
    -> (tensor<?x?x2x8xf32>, tensor<?x2x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v {mask = #skim.mask<causal>}
      : tensor<?x?x2x8xf32>, tensor<?x?x1x8xf32>, tensor<?x?x1x8xf32>
  return %o, %lse : tensor<?x?x2x8xf32>, tensor<?x2x?xf32>
}
