//===- FragmentLowering.h - fragment tiles in mma.sync registers -*- C++
//-*-===//
//
// The tensor-core half of skim-lower-tile-to-gpu: `fragment` tiles become
// per-lane register arrays in the mma.sync m16n8k16 accumulator layout, and
// gemms on them become ldmatrix + mma.sync. Tiles that stay in shared memory
// are left to the SIMT lowering (TileToGPU.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef SKIM_CONVERSION_TILETONVVM_FRAGMENTLOWERING_H
#define SKIM_CONVERSION_TILETONVVM_FRAGMENTLOWERING_H

#include "SkimTile/IR/SkimTileOps.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/MapVector.h"

#include <optional>
#include <string>

namespace mlir::skim {

/// A shared tile that feeds mma.sync only: kept in 16-bit form, rows padded
/// by 8 elements (16 bytes) so the 8 row addresses of an ldmatrix fall in
/// different banks.
struct HalfTile {
  Type elementType;
  /// The load wrote it with `transpose`: physically it keeps the global row
  /// order (rows × cols of the source), the transpose of its logical shape.
  bool physicallyTransposed = false;
  /// Read only as wgmma's B: no padding, the physical columns cut into
  /// 64-element (128-byte) panels, each a column of rows with the 128-byte
  /// swizzle (16-byte chunk c of row r at chunk c ^ (r % 8)), the layout a
  /// wgmma matrix descriptor with swizzle mode 1 walks.
  bool swizzled = false;
};

/// A swizzled B tile that the Tensor Memory Accelerator fills (sm_90a with
/// `tma`): every load into it carries box coordinates.
struct TmaTile {
  /// Byte offset of the tile's mbarrier in the dynamic shared memory.
  int64_t barrierOffset = -1;
  /// With a producer warpgroup: the mbarrier the consumers arrive at when
  /// they are done with the tile (WarpSpecialize.h).
  int64_t emptyBarrierOffset = -1;
};

/// An AMD matrix instruction that fragments are laid out for
/// (MatrixCoreLowering.cpp): bf16/f16 inputs, f32 accumulators.
struct AmdMatrixCore {
  enum class Kind { Mfma32x32x8, Mfma16x16x16, Wmma16x16x16 };
  Kind kind = Kind::Mfma16x16x16;
  /// WMMA's wave: 32 lanes, or 64 (gfx11 in wave64 mode). MFMA is wave64.
  int64_t wmmaWave = 32;

  bool isWmma() const { return kind == Kind::Wmma16x16x16; }
  /// R: the instruction's M = N.
  int64_t tile() const { return kind == Kind::Mfma32x32x8 ? 32 : 16; }
  int64_t k() const { return kind == Kind::Mfma32x32x8 ? 8 : 16; }
  int64_t waveSize() const { return isWmma() ? wmmaWave : 64; }
  /// Lane groups of R lanes: a tile row is spread over one lane of each.
  int64_t groups() const { return waveSize() / tile(); }
  /// f32 accumulators a lane holds of one R x R block.
  int64_t accumulators() const { return tile() * tile() / waveSize(); }
  /// 16-bit A (and B) elements a lane passes.
  int64_t operandItems() const { return isWmma() ? 16 : 4; }
  /// The ROCDL op's name.
  const char *intrinsic(bool bf16) const {
    switch (kind) {
    case Kind::Mfma32x32x8:
      return bf16 ? "rocdl.mfma.f32.32x32x8bf16.1k"
                  : "rocdl.mfma.f32.32x32x8f16";
    case Kind::Mfma16x16x16:
      return bf16 ? "rocdl.mfma.f32.16x16x16bf16.1k"
                  : "rocdl.mfma.f32.16x16x16f16";
    case Kind::Wmma16x16x16:
      return bf16 ? "rocdl.wmma.f32.16x16x16.bf16"
                  : "rocdl.wmma.f32.16x16x16.f16";
    }
    return "";
  }
};

/// What the fragment path decided for one kernel.
struct FragmentPlan {
  /// AMD: the matrix instruction (set before planning); unset on NVIDIA.
  std::optional<AmdMatrixCore> amd;
  /// Alloc ops whose tiles live in registers.
  llvm::SmallPtrSet<Operation *, 8> fragments;
  /// Shared alloc ops kept in 16-bit form for ldmatrix.
  llvm::DenseMap<Operation *, HalfTile> halfTiles;
  /// bf16 or f16: the type of mma.sync's A and B.
  Type mmaType;
  /// Gemms that become wgmma.mma_async (sm_90a); the rest use mma.sync.
  llvm::SmallPtrSet<Operation *, 4> wgmmaGemms;
  /// Tiles filled by TMA, and the CUtensorMap argument each of their loads
  /// reads (set by the pass once it has added the arguments).
  llvm::MapVector<Operation *, TmaTile> tmaTiles; // in program order
  llvm::DenseMap<Operation *, Value> tensorMaps;
  /// Warp specialisation (WarpSpecialize.h): the producer's copies of the
  /// TMA loads, and the scf.if whose then-branch the consumers run (null
  /// when the kernel is not split).
  llvm::SmallPtrSet<Operation *, 4> producerLoads;
  Operation *consumerBranch = nullptr;
  /// The kernel's dynamic shared-memory buffer (i8), where barriers live.
  Value sharedBuffer;
  /// Accumulating stores add two f32 at a time (red.global.v2.f32.add,
  /// sm_90 and PTX 8.1): set with wgmma, i.e. on sm_90a.
  bool vectorAtomics = false;
  /// wgmma groups stay in flight until an op touches their tiles (else each
  /// is waited for right after it is committed).
  bool overlapWgmma = false;
};

/// Returns true and fills `plan` when every fragment tile of `func` can be
/// spread over the lanes of `threads` threads and the kernel has a 16-bit
/// gemm; otherwise `why` says what stopped it and the SIMT lowering runs
/// alone. With `wgmma`, gemms that fit warpgroup MMA are marked for it.
bool planFragments(gpu::GPUFuncOp func, int64_t threads, bool wgmma, bool tma,
                   FragmentPlan &plan, std::string &why);

/// The fragment whose registers a map into a shared tile walks: its first
/// input read element-wise ("ij") that is a fragment of the destination's
/// 2-D shape; null when it has none. `typeOf` gives a tile's logical type
/// (a lowering replaces fragments by flat register arrays).
Value mapFragmentLayout(tile::MapOp op, function_ref<bool(Value)> isFragment,
                        function_ref<MemRefType(Value)> typeOf);

/// The box (in the buffer's dimension order, innermost last) that one TMA
/// copy of a load into `tileType` moves: the tile's physical rows along the
/// load's `row_dim`, one 64-element swizzle panel along the innermost
/// dimension, 1 elsewhere.
SmallVector<int64_t> tmaBox(tile::LoadOp load, MemRefType tileType,
                            const HalfTile &half);

/// Bytes a swizzled tile's base must be aligned to: one 8-row swizzle atom.
constexpr int64_t kSwizzleAtomBytes = 1024;

/// Elements of a 16-bit shared tile's storage (padded or swizzled).
int64_t halfTileElements(MemRefType tileType, const HalfTile &half);

/// Elements between two physical rows of a 16-bit shared tile.
int64_t halfTileRowStride(MemRefType tileType, const HalfTile &half);

/// Registers each lane holds for a fragment tile over `warps` warps.
int64_t fragmentRegisters(MemRefType tileType, int64_t warps);
/// The same in an AMD matrix instruction's layout over `waves` waves.
int64_t amdFragmentRegisters(MemRefType tileType, int64_t waves,
                             const AmdMatrixCore &core);
/// Registers a lane holds for a fragment tile of `plan` in a block of
/// `threads` threads.
inline int64_t planRegisters(MemRefType tileType, int64_t threads,
                             const FragmentPlan &plan) {
  return plan.amd ? amdFragmentRegisters(tileType,
                                         threads / plan.amd->waveSize(),
                                         *plan.amd)
                  : fragmentRegisters(tileType, threads / 32);
}

/// The memref type of a 16-bit shared tile: padded rows, as a strided view.
MemRefType halfTileViewType(MemRefType tileType, const HalfTile &half,
                            Attribute memorySpace);

/// Lowers every tile op of `func` that touches a fragment tile or a 16-bit
/// shared tile. `tiles` maps each alloc op of the plan to the value that
/// replaced it (a register array for fragments, a shared view otherwise).
/// Ops that read or write shared memory are bracketed by `fence`.
LogicalResult lowerFragmentOps(gpu::GPUFuncOp func, RewriterBase &rewriter,
                               Value tid, int64_t threads,
                               const FragmentPlan &plan,
                               const llvm::DenseMap<Value, Operation *> &tiles,
                               function_ref<void(Operation *)> fence);

/// The AMD counterpart of lowerFragmentOps: fragments in the layout of
/// `plan.amd`, gemms as MFMA or WMMA, 16-bit LDS tiles filled by the block.
LogicalResult lowerMatrixCoreOps(gpu::GPUFuncOp func, RewriterBase &rewriter,
                                 Value tid, int64_t threads,
                                 const FragmentPlan &plan,
                                 const llvm::DenseMap<Value, Operation *> &tiles,
                                 function_ref<void(Operation *)> fence);

} // namespace mlir::skim

#endif // SKIM_CONVERSION_TILETONVVM_FRAGMENTLOWERING_H
