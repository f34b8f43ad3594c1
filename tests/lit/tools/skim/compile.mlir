// skim compile writes an artifact; skim run --artifact runs it; a corrupted
// artifact is rejected by its checksum.
// RUN: skim compile --variant causal --heads 4/2 --dim 32 -o %t.skim | FileCheck %s --check-prefix=COMPILE
// RUN: skim run --artifact %t.skim --variant causal --heads 4/2 --dim 32 --seq 40 --check | FileCheck %s --check-prefix=AGAIN
// RUN: %python -c "import sys; b = bytearray(open('%t.skim','rb').read()); b[100] ^= 1; open('%t.bad','wb').write(b)"
// RUN: not skim run --artifact %t.bad --variant causal --heads 4/2 --dim 32 2>&1 | FileCheck %s --check-prefix=CORRUPT
// RUN: %python -c "b = open('%t.skim','rb').read(); open('%t.short','wb').write(b[:len(b)//2])"
// RUN: not skim run --artifact %t.short --variant causal --heads 4/2 --dim 32 2>&1 | FileCheck %s --check-prefix=CORRUPT
// RUN: skim info | FileCheck %s --check-prefix=INFO

// COMPILE: wrote {{.*}}.skim ({{[0-9]+}} bytes, host:
// AGAIN: check: {{.*}}: PASSED
// CORRUPT: skim: error: {{.*}}: artifact checksum mismatch: the file is truncated or corrupt
// INFO: host target: {{.*}}f32 vector width {{(4|8|16)}}
