// skim run compiles a file or a preset for the host, runs it on seeded random
// inputs and checks sampled rows against the reference.
// RUN: skim run --variant causal --seq 77 --heads 4/2 --dim 32 --check | FileCheck %s --check-prefix=CAUSAL
// RUN: skim run --variant window --window 16 --sink 2 --seq 90 --kv-seq 130 --heads 2/1 --dim 32 --dtype bf16 --check | FileCheck %s --check-prefix=WINDOW
// RUN: skim run --variant moba --block 32 --top-k 2 --seq 150 --heads 4/1 --dim 32 --check | FileCheck %s --check-prefix=MOBA
// RUN: skim run --variant nsa --seq 200 --heads 4/1 --dim 32 --window 64 --check | FileCheck %s --check-prefix=NSA
// RUN: rm -rf %t && mkdir -p %t && skim run %s --input arg0=%S/Inputs/q.npy --input arg1=%S/Inputs/k.npy --input arg2=%S/Inputs/v.npy --out-dir %t | FileCheck %s --check-prefix=FILE
// RUN: %python -c "import numpy as n; o = n.load('%t/out0.npy'); print(o.shape, o.dtype, bool(n.isfinite(o).all()))" | FileCheck %s --check-prefix=NPY

// CAUSAL: {{(compiled|loaded)}} <preset causal>
// CAUSAL: ran on host
// CAUSAL: check: {{[0-9]+}} rows x 4 heads against the reference, max |error| {{.*}}: PASSED
// WINDOW: check: {{.*}}: PASSED
// MOBA: check: {{.*}}: PASSED
// NSA: check: {{.*}}: PASSED
// FILE: {{(compiled|loaded)}} {{.*}}run-check.mlir
// FILE: wrote {{.*}}out0.npy
// FILE: wrote {{.*}}out1.npy
// NPY: (1, 5, 2, 8) float32 True

func.func @f(%q: tensor<?x?x2x8xf32>, %k: tensor<?x?x1x8xf32>, %v: tensor<?x?x1x8xf32>)
    -> (tensor<?x?x2x8xf32>, tensor<?x2x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v {mask = #skim.mask<causal>}
      : tensor<?x?x2x8xf32>, tensor<?x?x1x8xf32>, tensor<?x?x1x8xf32>
  return %o, %lse : tensor<?x?x2x8xf32>, tensor<?x2x?xf32>
}
