//===- AmdWave.h - wave-wide AMD instructions as plain functions -*- C++
//-*-===//
//
// The matrix instructions the AMD kernels use, written from AMD's ISA
// documents (the section named at each declaration) and never from skim's
// lowering, in the manner of Warp.h: a layout bug in the lowering then
// disagrees with these functions instead of agreeing with itself. Also the
// cross-lane shuffle of MLIR's gpu.shuffle over a wave of 32 or 64 lanes
// (what convert-gpu-to-rocdl turns into ds_bpermute). No LLVM, no state.
//
//===----------------------------------------------------------------------===//

#ifndef SKIM_EMULATOR_AMDWAVE_H
#define SKIM_EMULATOR_AMDWAVE_H

#include <cstdint>
#include <string>

namespace skim::emu {

constexpr int kMaxWaveSize = 64;

/// The matrix instructions emulated, numbered as the lane calls pass them.
enum class AmdMatrixOp : int32_t {
  /// CDNA2/CDNA3 (gfx90a, gfx942), wave64.
  MfmaF32_32x32x8F16 = 0,
  MfmaF32_32x32x8BF16_1K = 1,
  MfmaF32_16x16x16F16 = 2,
  MfmaF32_16x16x16BF16_1K = 3,
  /// RDNA3 (gfx11), wave32.
  WmmaF32_16x16x16F16 = 4,
  WmmaF32_16x16x16BF16 = 5,
  /// RDNA3 (gfx11), wave64: the same instructions in a 64-lane wave.
  WmmaF32_16x16x16F16W64 = 6,
  WmmaF32_16x16x16BF16W64 = 7,
};
constexpr int32_t kAmdMatrixOps = 8;

/// The instruction's shape and operand sizes per lane.
struct AmdMatrixShape {
  int m, n, k;
  int waveSize;
  int aItems, bItems; // 16-bit elements of A and B a lane holds
  int dItems;         // f32 accumulators a lane holds
  bool bf16;
  const char *name;
};
AmdMatrixShape amdMatrixShape(AmdMatrixOp op);

/// One lane's operands: A and B as 16-bit elements (item i = element i of
/// the intrinsic's vector operand), C (in) and D (out) as f32.
struct AmdMatrixLane {
  uint16_t a[16];
  uint16_t b[16];
  float c[16];
};

/// A lane and an item of its operand vector.
struct LaneItem {
  int lane, item;
};

/// Where A[i][k] (M x K), B[k][j] (K x N) and D[i][j] (M x N) live.
///
/// MFMA, from the AMD Instinct MI300 (CDNA3) ISA reference, "Matrix
/// Arithmetic Instructions" (the dense MFMA operand layouts, one block): the
/// K dimension of A and B is split into groups of 4 consecutive elements;
/// group g of row i of A sits in lane i + M·g (items 0..3 are k = 4g..4g+3),
/// likewise column j of B in lane j + N·g. D's column j is in lanes
/// j + N·q; the rows come in groups of 4 per lane: for 32x32, rows
/// 8·(item/4) + 4·q + item%4 (q = lane/32); for 16x16, rows 4·q + item.
///
/// WMMA, from the "AMD RDNA3 Instruction Set Architecture", "Wave Matrix
/// Multiply Accumulate" (wave32, 16x16x16, f32 result): lane i (and its copy
/// i + 16, which must hold the same values) holds row i of A, all 16 k as
/// items 0..15; lane j (and j + 16) holds column j of B; D row i is in lanes
/// 16·(i % 2) + j, item i / 2.
///
/// WMMA in wave64, from AMD's Matrix Instruction Calculator
/// (ROCm/amd_matrix_instruction_calculator, `--architecture rdna3
/// --wavefront 64`; the ISA guide's text does not spell out wave64): A and B
/// as in wave32, with four copies (lanes i, i + 16, i + 32, i + 48); D row i
/// is in lanes 16·(i % 4) + j, item i / 4 (four f32 a lane).
LaneItem amdMatrixA(AmdMatrixOp op, int i, int k);
LaneItem amdMatrixB(AmdMatrixOp op, int k, int j);
LaneItem amdMatrixD(AmdMatrixOp op, int i, int j);

/// D = A·B + C for one wave: `lanes[l]` holds lane l's operands and
/// receives its D in `c`. Products of 16-bit inputs are exact in double;
/// the sum is accumulated in double and rounded to f32 once. Returns false
/// with `why` set when the operands break the ISA's rules (WMMA's copies of
/// A or B disagree).
bool amdMatrix(AmdMatrixOp op, AmdMatrixLane *lanes, std::string &why);

/// gpu.shuffle's modes (MLIR's GPU dialect, "gpu.shuffle").
enum class WaveShuffleMode : int32_t { Xor = 0, Up = 1, Down = 2, Idx = 3 };

/// One lane's operands and result.
struct WaveShuffleLane {
  uint32_t value;
  int32_t offset, width;
  uint32_t result;
  bool valid;
};

/// gpu.shuffle over a wave of `waveSize` lanes, for every lane: the source
/// lane is lane ^ offset, lane - offset, lane + offset or offset within the
/// lane's segment of `width` lanes; when it falls outside the segment the
/// lane gets its own value and valid = false. Lanes whose `present` is
/// false did not execute it; reading one is an error (false, `why` set).
bool waveShuffle(WaveShuffleMode mode, int waveSize, const bool *present,
                 WaveShuffleLane *lanes, std::string &why);

} // namespace skim::emu

#endif // SKIM_EMULATOR_AMDWAVE_H
