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
    Schedules come from each op's `#skim.schedule`, or the target defaults:
    block_m 64, block_n 64, 4 warps, except `tensor-core-block-m` rows for
    16-bit attention over key ranges (not selections, whose per-row masks
    spill at 128 rows; not NSA's fused scoring stage). The pipeline sets 128
    for sm_90a when K and V come by cp.async, where one warpgroup issuing two
    64-row wgmma slices per gemm measured fastest; with TMA, 64 rows are
    faster (bench/NOTES.md). With `wgmma-rows` R (64 on sm_90a), 16-bit
    per-token selections over a GQA group of G ≥ 8 heads default to
    `tokens_per_tile` = R / G, so their tiles reach wgmma's 64 rows (NSA's
    selected branch: 4 tokens); groups of 2 to 7 heads without window or
    sink default to `order = kv_major` in R-row tiles (the union of 64 / G
    tokens' selections would be mostly masked work; docs/TileLevel.md §3.1).
  }];
  let options = [
    Option<"tensorCoreBlockM", "tensor-core-block-m", "int64_t",
           /*default=*/"64",
           "default block_m of bf16/f16 attention kernels without a schedule">,
    Option<"tensorCoreBlockN", "tensor-core-block-n", "int64_t",
           /*default=*/"64",
           "default block_n of those kernels (AMD: 32, so that K and V in "
           "LDS leave room for two waves a SIMD)">,
    Option<"tensorCoreWarps", "tensor-core-warps", "int64_t",
           /*default=*/"4",
           "default warps (32-lane groups) of those kernels (AMD: 8, four "
           "wave64 or eight wave32)">,
    Option<"wgmmaRows", "wgmma-rows", "int64_t", /*default=*/"0",
           "rows of one warpgroup MMA on the target (64 on sm_90a, 0 for "
           "none): per-token selections pack tokens up to it by default "
           "(groups of 8 heads or more) or take the KV-major order (2 to 7)">,
    Option<"nsaScoresBlock", "nsa-scores-block", "int64_t", /*default=*/"64",
           "block_m and block_n of NSA's fused compressed stage (compressed "
           "attention, block scores and top-n) without a schedule. The "
           "NVIDIA pipeline sets 32: that stage is a SIMT kernel whose tiles "
           "all live in shared memory, 155.6 KB at 64 (one CTA per SM), 72 KB "
           "at 32 (three), measured 1.52 -> 1.15 s for the NSA preset at 64k "
           "on the H200 (bench/NOTES.md)">,
    Option<"simtSharedBudget", "simt-shared-budget", "int64_t",
           /*default=*/"0",
           "targets with little shared memory (AMD's 64 KB of LDS): the "
           "shared memory a SIMT kernel may use; default schedules halve "
           "block_n (to 8), then block_m (to 16), until its tiles fit, and "
           "MoBA's scores and mean pools take fewer rows (0: no limit)">,
    Option<"minWarps", "min-warps", "int64_t", /*default=*/"4",
           "the warps (32-lane groups) of a default schedule's CTA: SIMT "
           "stages', and AMD's floor of the module's `skim.gpu_warps` "
           "(AMD: 8, four wave64 waves a workgroup)">,
    Option<"tensorCoreAttention", "tensor-core-attention", "bool",
           /*default=*/"true",
           "16-bit attention over key ranges runs on the tensor or matrix "
           "cores (false: AMD with amd-matrix=simt), so simt-shared-budget "
           "leaves its default schedule alone">,
    Option<"prefetchSelections", "prefetch-selections", "bool",
           /*default=*/"false",
           "walk selection loops as one flattened (entry, chunk) loop that "
           "asks for the next chunk's K once Q·Kᵀ is done with this one's "
           "(sm_90a: TMA issues it from one thread); tiles of 64 rows or "
           "more">,
    Option<"overlapSoftmax", "overlap-softmax", "bool", /*default=*/"false",
           "software-pipeline key-range loops (FlashAttention-3's order: "
           "Q·Kᵀ of the next chunk before P·V of this one, a second score "
           "tile) for targets whose matmuls run asynchronously (sm_90a; "
           "the pipeline sets it with --overlap-softmax)">
  ];
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

def SkimLowerTileToGpuPass : Pass<"skim-lower-tile-to-gpu", "::mlir::ModuleOp"> {
  let summary = "Lower skim_tile kernels to NVIDIA gpu.func kernels (mma.sync or SIMT)";
  let description = [{
    Each `skim_tile.kernel` function becomes a `gpu.func` kernel in the
    `gpu.module @skim_kernels`. A grid block is one CTA of `block-size`
    threads. Tensor arguments become one `!llvm.ptr` each (the runtime's bare
    device address), rebuilt into a `memref<?xT>` inside; index scalars stay
    `index` (i64 parameters); `skim_tile.block_id` becomes `gpu.block_id`.

    Kernels whose gemms read bf16 or f16 take the tensor-core distribution
    (FragmentLowering.cpp, docs/TileLevel.md §6.2): fragment tiles become
    per-lane register arrays in the mma.sync m16n8k16 accumulator layout,
    gemms `ldmatrix` + `nvvm.mma.sync`, row reductions quad xor shuffles,
    and shared tiles that only feed gemms 16-bit padded shared memory filled
    by `cp.async` (a load with `stage` stays in flight until its first
    reader). Fragments written by scalar code, and Q past a register budget,
    stay in shared memory. The `gpu.func` gets `skim.distribution =
    "mma.sync"`, or `"simt: <why>"` when a kernel does not fit.

    With `wgmma` (sm_90a), a gemm whose accumulator rows are whole 64-row
    warpgroup slices becomes `wgmma.mma_async` m64nNk16 with A from the same
    registers mma.sync would use and B from shared memory through a matrix
    descriptor; its B tiles are laid out in 64-column panels with the
    128-byte swizzle instead of padded rows (docs/TileLevel.md §6.3). The
    distribution then reads `"wgmma"`.

    With `tma` as well, a swizzled B tile whose loads all carry box
    coordinates (`coords`, the K and V chunks of attention) is filled by the
    Tensor Memory Accelerator: thread 0 posts the byte count on the tile's
    mbarrier (in dynamic shared memory) and issues one
    `cp.async.bulk.tensor` per 64-column panel with the 128-byte swizzle, and
    the tile's first reader waits on the barrier's phase. The kernel gains
    one CUtensorMap argument per (buffer, box), passed by value as a grid
    constant; the module gets `skim.gpu_tensor_maps` (kernel name → the
    plan's `m<buffer>:<box>:128` arguments).

    The other kernels (f32) take the SIMT distribution, correct rather than
    fast. Every tile lives in workgroup memory,
    as a view of one dynamic shared-memory buffer, and every tile op becomes
    a loop over its elements strided by the thread id between `gpu.barrier`
    ops: load, store, fill and map element-wise (the map body cloned per
    element), gemm one dot product per output element, reduce one row per
    thread. Scalar code outside tile ops runs redundantly on every thread,
    except statements that write memory, which thread 0 runs between
    barriers.
    `math.exp2`/`log2` become `llvm.nvvm.{ex2,lg2}.approx.f32`, and exp, log
    and tanh are built on them, so nothing needs libdevice.

    The module gets `skim.gpu_shared_bytes` (kernel name → dynamic shared
    memory bytes) and `skim.gpu_block` for the launch plan. The kernel's
    `memref.alloca`s (selection lists, per-tile score rows of a dynamic
    size) become views of a global scratch slot the CTA takes from a pool:
    the kernel gains four arguments (lock words, pool, slot count, words per
    slot) and the module `skim.gpu_scratch` (kernel name → words per slot, a
    plan expression) and `skim.gpu_scratch_slots`, from which the pipeline
    adds the pool to the plan.
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", /*default=*/"128",
           "threads per CTA, or the module's `skim.gpu_warps` (set by "
           "skim-tile from the schedules' `warps`): exactly on NVIDIA, when "
           "that is more on AMD">,
    Option<"vendor", "vendor", "std::string", /*default=*/"\"nvidia\"",
           "nvidia, or amd: fragments on the matrix instruction of "
           "`amd-matrix`, exp2 and log2 as llvm.amdgcn.exp2 / log, for "
           "convert-gpu-to-rocdl">,
    Option<"amdMatrix", "amd-matrix", "std::string",
           /*default=*/"\"mfma_16x16x16\"",
           "vendor=amd: the matrix instruction fragment tiles are laid out "
           "for: mfma_16x16x16 or mfma_32x32x8 (gfx90a, gfx942; wave64), "
           "wmma_16x16x16 (gfx11; wave32 or wave64), or simt (every kernel "
           "SIMT)">,
    Option<"waveSize", "wave-size", "int64_t", /*default=*/"64",
           "vendor=amd: lanes of a wave (64 on CDNA; 32, or 64 in wave64 "
           "mode, on RDNA); the module records it as `skim.gpu_wave_size`">,
    Option<"scratchSlots", "scratch-slots", "int64_t", /*default=*/"1024",
           "most global scratch slots of a kernel (one per resident CTA "
           "suffices; more only cost memory)">,
    Option<"wgmma", "wgmma", "bool", /*default=*/"false",
           "Hopper warpgroup MMA (sm_90a): gemms whose accumulator rows fill "
           "whole warpgroups become wgmma.mma_async with B in 128-byte "
           "swizzled shared memory">,
    Option<"overlapWgmma", "overlap-wgmma", "bool", /*default=*/"false",
           "with wgmma: leave each group in flight until an op touches its "
           "tiles (wait_group N), instead of waiting right after it; for "
           "loops skim-tile software-pipelined (overlap-softmax)">,
    Option<"tma", "tma", "bool", /*default=*/"false",
           "with wgmma: fill swizzled K/V tiles by TMA boxes completing on "
           "mbarriers instead of cp.async">,
    Option<"warpSpecialize", "warp-specialize", "bool", /*default=*/"false",
           "with tma: one more warpgroup whose first thread issues every TMA "
           "copy (a slice of the kernel), the others consume; setmaxnreg "
           "moves registers to the consumers. Kernels whose copy "
           "coordinates need memory the kernel writes stay unsplit "
           "(`skim.warp_specialized` on the gpu.func says which and why)">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::gpu::GPUDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::NVVM::NVVMDialect",
                           "::mlir::ROCDL::ROCDLDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect"];
}

def SkimTensorMapArgsPass
    : Pass<"skim-tensor-map-args", "::mlir::gpu::GPUModuleOp"> {
  let summary = "Pass TMA descriptors by value, as CUDA's __grid_constant__ does";
  let description = [{
    The runtime passes each CUtensorMap by value: 128 bytes of kernel
    parameter space. `skim-lower-tile-to-gpu` marks those arguments in
    `skim.tensor_map_args` (argument numbers) on the kernel, because
    `convert-gpu-to-nvvm` drops argument attributes; after it, this pass
    gives each one `llvm.byval = !llvm.array<128 x i8>`, `llvm.align = 64`
    and `nvvm.grid_constant`. The PTX parameter is then `.param .align 64
    .b8 p[128]`, and TMA reads the descriptor through its generic address
    (`cvta.param`), with no copy to local memory.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect",
                           "::mlir::NVVM::NVVMDialect"];
}

def SkimExternDynamicSharedPass
    : Pass<"skim-extern-dynamic-shared", "::mlir::gpu::GPUModuleOp"> {
  let summary = "Declare the lowered dynamic shared memory external, as CUDA does";
  let description = [{
    `convert-gpu-to-nvvm` lowers `gpu.dynamic_shared_memory` to an internal
    zero-length array in address space 3. LLVM then knows its size, zero
    bytes, so every access to it is out of bounds and alias analysis may take
    any two for independent: at O3 a load of shared top-k scratch was hoisted
    out of the thread-0 loop that writes it. CUDA C++ declares the buffer
    `extern __shared__`, of unknown size; this pass gives the lowered global
    external linkage likewise. Run it in `gpu.module` after
    `convert-gpu-to-nvvm` (the NVIDIA pipeline does).
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
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
