// RUN: skim-opt %s --skim-lower-tile-to-gpu -split-input-file -verify-diagnostics

// A kernel's scratch lives in global scratch slots, which the launch plan
// sizes: a dynamic size must be an expression of the kernel's size
// arguments, computed where the kernel starts, of an element type with a
// size.

module attributes {skim.plan = "skim-plan 1\nkernel k grid 1 1 1 args 1 ed0.1\n"} {
  func.func @k(%n: index) attributes {skim_tile.kernel} {
    %c2 = arith.constant 2 : index
    %m = arith.remui %n, %c2 : index
    // expected-error @+1 {{kernel 'k': the scratch size is not an expression of the kernel's size arguments}}
    %a = memref.alloca(%m) : memref<?xf32>
    return
  }
}

// -----

module attributes {skim.plan = "skim-plan 1\nkernel k grid 1 1 1 args 1 ed0.1\n"} {
  func.func @k(%n: index) attributes {skim_tile.kernel} {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    scf.for %i = %c0 to %n step %c1 {
      // expected-error @+1 {{kernel 'k': dynamically sized scratch inside a loop or branch}}
      %a = memref.alloca(%n) : memref<?xf32>
    }
    return
  }
}

// -----

module attributes {skim.plan = "skim-plan 1\nkernel k grid 1 1 1 args 1 ed0.1\n"} {
  func.func @k(%n: index) attributes {skim_tile.kernel} {
    // expected-error @+1 {{kernel 'k': scratch of element type complex<f32> has no size in bytes}}
    %a = memref.alloca(%n) : memref<?xcomplex<f32>>
    return
  }
}

// -----

module attributes {skim.plan = "skim-plan 1\nkernel k grid 1 1 1 args 1 ed0.1\n"} {
  func.func @k(%n: index) attributes {skim_tile.kernel} {
    // expected-error @+1 {{kernel 'k': dynamically sized scratch of rank other than 1}}
    %a = memref.alloca(%n, %n) : memref<?x?xf32>
    return
  }
}

// -----

// A size whose plan argument is a tensor is no size.
module attributes {skim.plan = "skim-plan 1\nkernel k grid 1 1 1 args 2 t0 ed0.1\n"} {
  func.func @k(%n: index, %t: memref<?xf32>) attributes {skim_tile.kernel} {
    // expected-error @+1 {{the scratch size is not an expression}}
    %a = memref.alloca(%n) : memref<?xf32>
    return
  }
}

// -----

// expected-error @+1 {{kernel 'k': per-tile scratch is sized by the launch plan, and the module's plan lacks the kernel}}
func.func @k(%n: index) attributes {skim_tile.kernel} {
  %a = memref.alloca(%n) : memref<?xf32>
  return
}
