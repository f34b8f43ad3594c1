//===- Passes.td - the lane emulator's pass ----------------*- tablegen -*-===//

#ifndef SKIM_EMULATOR_PASSES_TD
#define SKIM_EMULATOR_PASSES_TD

include "mlir/Pass/PassBase.td"

def SkimEmulateLanesPass : Pass<"skim-emulate-lanes", "::mlir::ModuleOp"> {
  let summary = "Turn NVIDIA gpu.func kernels into CPU functions run by the lane emulator";
  let description = [{
    Each kernel of each `gpu.module` becomes two `func.func`s: `<name>_lane`,
    the body of one GPU thread, whose per-lane and warp-wide operations are
    calls into the lane emulator's runtime (runtime/emulator, see
    docs/LaneEmulator.md), and `<name>`, one grid block with the CPU kernel
    ABI of the CPU runtime (five words per tensor, one per index, then the
    block's x, y and z), which hands the lane function to
    `skim_emu_run_cta`. The `gpu.module` is then gone, and the module lowers
    to LLVM and a shared object exactly as the CPU target's kernels do.

    Calls replace: thread, block and lane ids, `gpu.barrier`,
    `gpu.dynamic_shared_memory`, `gpu.shuffle` and `nvvm.shfl.sync`,
    `nvvm.mma.sync` (m16n8k16, row.col, f16/bf16 → f32), `nvvm.ldmatrix`
    (m8n8 b16, x1/x2/x4, row or col = .trans), `nvvm.cp.async.shared.global`
    with commit and wait, `nvvm.bar.warp.sync`, and the NVVM intrinsics
    `ex2.approx` / `lg2.approx`. Workgroup and other GPU address spaces are
    dropped from every type (shared memory is host memory of the CTA).
    Static allocas are hoisted to the entry block: a lane's register array
    declared in a loop must not grow its fiber's stack every iteration.

    The block size comes from the kernel's `known_block_size` (else the
    module's `skim.gpu_block`), the dynamic shared memory from the module's
    `skim.gpu_shared_bytes`. Any GPU or NVVM operation without an emulation
    is an error naming it.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::memref::MemRefDialect"];
}

#endif // SKIM_EMULATOR_PASSES_TD
