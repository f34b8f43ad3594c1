//===- Passes.td - skim conversion passes ------------------*- tablegen -*-===//

#ifndef SKIM_CONVERSION_PASSES_TD
#define SKIM_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def SkimTilePass : Pass<"skim-tile", "::mlir::ModuleOp"> {
  let summary = "Turn primitive skim ops into tile-level kernels and a launch plan";
  let description = [{
    Each function whose body is made of skim primitive ops becomes a launch
    plan: every stage becomes a `func.func` kernel in the skim_tile dialect
    (one program instance per grid block), intermediate tensors become
    workspace buffers, and the order of launches, grid rules and argument
    lists are recorded in a `skim.plan` string attribute on the module
    (docs/LaunchPlan.md).
    Schedules come from each op's `#skim.schedule`, or the target defaults.
  }];
  let dependentDialects = ["::mlir::skim::tile::SkimTileDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::func::FuncDialect"];
}

def SkimLowerTileToCpuPass : Pass<"skim-lower-tile-to-cpu", "::mlir::ModuleOp"> {
  let summary = "Lower skim_tile kernels to loops over CPU vectors";
  let description = [{
    Tiles become stack buffers of one thread; loads, stores, gemm, reductions
    and maps become scf loops over `vector<W x f32>` with W = `vector-width`
    (16 for AVX-512). Each kernel gains three trailing index arguments, the
    grid block's x, y and z, which replace `skim_tile.block_id`.
  }];
  let options = [
    Option<"vectorWidth", "vector-width", "int64_t", /*default=*/"16",
           "f32 lanes per vector">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect"];
}

def SkimCpuMathApproxPass : Pass<"skim-cpu-math-approx"> {
  let summary = "Keep exp2 and tanh vectorised on the CPU";
  let description = [{
    `math.exp2` on a vector would become one scalar `exp2f` call per lane;
    rewrite exp2 as exp and approximate exp and tanh with polynomials of
    vectors instead (upstream's approximation patterns, which mlir-opt only
    exposes as a test pass).
  }];
  let dependentDialects = ["::mlir::math::MathDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::vector::VectorDialect"];
}

#endif // SKIM_CONVERSION_PASSES_TD
