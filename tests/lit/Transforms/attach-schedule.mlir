// The tuning cache from both ends: `skim tune --import` stores results as
// skim-tune-measure writes them (made up here, for a device named TestGPU),
// and skim-attach-schedule, `skim compile` and the JIT put the stored
// schedule back for that device and shape bucket only.
//
// RUN: rm -rf %t && mkdir -p %t
// RUN: skim tune %s --target sm_90a --seq 4096 --dry-run > %t/dry.txt
// RUN: %python %S/Inputs/measured_results.py %t/dry.txt attention \
// RUN:   "#skim.schedule<block_m = 128, block_n = 32>" > %t/results.json
// RUN: skim tune %s --target sm_90a --seq 3000 --import %t/results.json \
// RUN:   --tuning-dir %t/cache | FileCheck %s --check-prefix=IMPORT
// IMPORT:      measured on TestGPU (cuda-0), 2 trials
// IMPORT-NEXT:   attention: #skim.schedule<block_m = 128, block_n = 32>
// IMPORT-NEXT: stored in {{.*}}cache/{{[0-9a-f]+}}/{{[0-9a-f]+}}.json
//
// 3000 tokens fall in the 4096 bucket: the stored schedule is attached.
// RUN: skim-opt %s --skim-attach-schedule="tuning-dir=%t/cache device-name=TestGPU arch=sm_90a driver=cuda-0 tokens=3000" \
// RUN:   2>%t/remarks | FileCheck %s --check-prefix=HIT
// RUN: FileCheck %s --check-prefix=REMARK < %t/remarks
// HIT: skim.attention {{.*}}schedule = #skim.schedule<block_m = 128, block_n = 32>}
// REMARK: remark: tuned schedules from {{.*}}.json for stage(s): attention
//
// `skim compile` looks it up the same way (device named: no TestGPU here).
// RUN: skim compile %s --target sm_90a --seq 4096 --device-name TestGPU --driver cuda-0 \
// RUN:   --tuning-dir %t/cache -o %t/tuned.skim 2>&1 | FileCheck %s --check-prefix=COMPILE
// COMPILE: skim: using tuned schedules from {{.*}}.json for stage(s): attention
//
// `skim run` (through the JIT cache) too, for a preset on the CPU; the
// tuned kernel still matches the reference, and --no-tuning turns it off.
// RUN: skim tune --variant causal --heads 2/1 --dim 16 --target host --seq 64 --dry-run > %t/dry-host.txt
// RUN: %python %S/Inputs/measured_results.py %t/dry-host.txt attention \
// RUN:   "#skim.schedule<block_m = 16, block_n = 16>" > %t/host.json
// RUN: skim tune --variant causal --heads 2/1 --dim 16 --target host --seq 64 \
// RUN:   --import %t/host.json --tuning-dir %t/cache > /dev/null
// RUN: skim run --variant causal --heads 2/1 --dim 16 --seq 64 --device-name TestGPU \
// RUN:   --driver cuda-0 --tuning-dir %t/cache --check 2>&1 | FileCheck %s --check-prefix=JIT
// RUN: skim run --variant causal --heads 2/1 --dim 16 --seq 64 --device-name TestGPU \
// RUN:   --driver cuda-0 --tuning-dir %t/cache --check --no-tuning 2>&1 \
// RUN:   | FileCheck %s --check-prefix=UNTUNED
// JIT-LABEL: skim: using tuned schedules from {{.*}}.json for stage(s): attention
// JIT: check: {{.*}} PASSED
// UNTUNED-NOT: tuned schedules
// UNTUNED: PASSED
//
// Another bucket, device or driver: nothing is attached, no diagnostics.
// RUN: skim-opt %s --skim-attach-schedule="tuning-dir=%t/cache device-name=TestGPU arch=sm_90a driver=cuda-0 tokens=8192" \
// RUN:   2>&1 | FileCheck %s --check-prefix=MISS
// RUN: skim-opt %s --skim-attach-schedule="tuning-dir=%t/cache device-name=OtherGPU arch=sm_90a driver=cuda-0 tokens=4096" \
// RUN:   2>&1 | FileCheck %s --check-prefix=MISS
// RUN: skim-opt %s --skim-attach-schedule="tuning-dir=%t/cache device-name=TestGPU arch=sm_90a driver=cuda-1 tokens=4096" \
// RUN:   2>&1 | FileCheck %s --check-prefix=MISS
// Without a device the pass does nothing.
// RUN: skim-opt %s --skim-attach-schedule="tuning-dir=%t/cache tokens=4096" 2>&1 \
// RUN:   | FileCheck %s --check-prefix=MISS
// MISS-NOT: #skim.schedule
// MISS-NOT: remark
// MISS: skim.attention
// MISS-NOT: #skim.schedule
//
// A schedule written in the variant wins: the stored one is not attached.
// RUN: sed 's/mask = #skim.mask<causal>}/mask = #skim.mask<causal>, schedule = #skim.schedule<block_m = 16>}/' %s \
// RUN:   | skim-opt --skim-attach-schedule="tuning-dir=%t/cache device-name=TestGPU arch=sm_90a driver=cuda-0 tokens=4096" \
// RUN:   2>&1 | FileCheck %s --check-prefix=OWN
// OWN-NOT: remark
// OWN: schedule = #skim.schedule<block_m = 16>}
//
// A device without sizes is an error that says what is missing.
// RUN: not skim-opt %s --skim-attach-schedule="tuning-dir=%t/cache device-name=TestGPU arch=sm_90a driver=cuda-0" \
// RUN:   2>&1 | FileCheck %s --check-prefix=ERR
// ERR: error: skim-attach-schedule: with device-name, give arch and the sizes the variant runs at (batch >= 1, tokens >= 1, key-tokens >= 0); got arch='sm_90a' batch=1 tokens=0 key-tokens=0
//
// Results for another bucket, target or variant, or for a stage the
// variant lacks, are refused with the reason; nothing is stored.
// RUN: not skim tune %s --target sm_90a --seq 8192 --import %t/results.json \
// RUN:   --tuning-dir %t/refused 2>&1 | FileCheck %s --check-prefix=BUCKET
// BUCKET: skim: error: {{.*}}results.json: measured results: they are for shape bucket 'B1-T4096-S4096', not 'B1-T8192-S8192'
// RUN: not skim tune %s --target sm_80 --seq 4096 --import %t/results.json \
// RUN:   --tuning-dir %t/refused 2>&1 | FileCheck %s --check-prefix=TARGET
// TARGET: measured results: they are for target 'sm_90a', not 'sm_80'
// RUN: sed 's/#skim.mask<causal>/#skim.mask<causal, window = 128>/' %s > %t/window.mlir
// RUN: not skim tune %t/window.mlir --target sm_90a --seq 4096 --import %t/results.json \
// RUN:   --tuning-dir %t/refused 2>&1 | FileCheck %s --check-prefix=VARIANT
// VARIANT: measured results: they are for the variant with signature '{{[0-9a-f]+}}', not '{{[0-9a-f]+}}'
// RUN: %python %S/Inputs/measured_results.py %t/dry.txt selected "" > %t/stage.json
// RUN: not skim tune %s --target sm_90a --seq 4096 --import %t/stage.json \
// RUN:   --tuning-dir %t/refused 2>&1 | FileCheck %s --check-prefix=STAGE
// STAGE: measured results: they name a stage this variant does not have
// RUN: echo "{ not json" > %t/junk.json
// RUN: not skim tune %s --target sm_90a --seq 4096 --import %t/junk.json \
// RUN:   --tuning-dir %t/refused 2>&1 | FileCheck %s --check-prefix=JUNK
// JUNK: measured results: not JSON:
// RUN: not skim tune %s --target sm_90a --seq 4096 --import %t/missing.json 2>&1 \
// RUN:   | FileCheck %s --check-prefix=MISSING
// MISSING: skim: error: cannot read '{{.*}}missing.json': No such file or directory
// RUN: not ls %t/refused
//
// A corrupt entry is skipped with a warning naming the file; not an error.
// RUN: %python -c "import glob; [open(f, 'w').write('{ not json') for f in glob.glob('%t/cache/*/*.json')]"
// RUN: skim-opt %s --skim-attach-schedule="tuning-dir=%t/cache device-name=TestGPU arch=sm_90a driver=cuda-0 tokens=4096" \
// RUN:   2>&1 | FileCheck %s --check-prefix=CORRUPT
// CORRUPT: warning: tuning cache: ignoring {{.*}}.json
// CORRUPT-NOT: #skim.schedule
// CORRUPT: skim.attention
// CORRUPT-NOT: #skim.schedule

func.func @causal(%q: tensor<1x?x8x128xbf16>, %k: tensor<1x?x1x128xbf16>,
                  %v: tensor<1x?x1x128xbf16>)
    -> (tensor<1x?x8x128xbf16>, tensor<1x8x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v {mask = #skim.mask<causal>}
      : tensor<1x?x8x128xbf16>, tensor<1x?x1x128xbf16>, tensor<1x?x1x128xbf16>
  return %o, %lse : tensor<1x?x8x128xbf16>, tensor<1x8x?xf32>
}
