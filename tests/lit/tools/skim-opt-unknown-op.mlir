// RUN: not skim-opt %s 2>&1 | FileCheck %s

// CHECK: skim-opt-unknown-op.mlir:[[@LINE+1]]:3: error: custom op 'skim.flash' is unknown
  skim.flash
