//===- Warp.h - warp-wide PTX instructions as plain functions ---*- C++ -*-===//
//
// The semantics of the collective instructions the NVIDIA kernels use,
// written from the PTX ISA's text (the section named at each declaration),
// never from skim's lowering: a layout bug in the lowering then disagrees
// with these functions instead of agreeing with itself. Each function takes
// every lane's operands at once and returns every lane's results; the lane
// emulator (LaneEmulator.h) gathers the operands when the whole warp has
// arrived at the instruction. No LLVM, no state.
//
//===----------------------------------------------------------------------===//

#ifndef SKIM_EMULATOR_WARP_H
#define SKIM_EMULATOR_WARP_H

#include <cstdint>

namespace skim::emu {

constexpr int kWarpSize = 32;

/// A matrix element: row and column.
struct RowCol {
  int row, col;
};

//===----------------------------------------------------------------------===//
// mma.sync.aligned.m16n8k16.row.col.f32.{f16,bf16}.{f16,bf16}.f32
//===----------------------------------------------------------------------===//

/// The element type of A and B (both the same).
enum class MmaType : int32_t { F16 = 0, BF16 = 1 };

/// One lane's operands: A in four .b32 registers and B in two, each holding
/// two 16-bit elements (the lower-numbered element in the low half), C as
/// four f32.
struct MmaLane {
  uint32_t a[4];
  uint32_t b[2];
  float c[4];
};

/// Where element i of a lane's fragment lives, from the PTX ISA section
/// "Matrix Fragments for mma.m16n8k16 with floating point type": A is
/// 16 x 16 (M x K, elements a0..a7), B is 16 x 8 (K x N, b0..b3), C and D are
/// 16 x 8 (M x N, c0..c3).
RowCol mmaFragmentA(int lane, int i);
RowCol mmaFragmentB(int lane, int i);
RowCol mmaFragmentC(int lane, int i);

/// D = A·B + C for one warp: `lanes[l]` holds lane l's operands and `d[l]`
/// receives its D fragment. Products of 16-bit inputs are exact in double;
/// the sum is accumulated in double and rounded to f32 once (the hardware
/// accumulates in at least f32 in an unspecified order, so it may differ in
/// the last bits).
void mmaM16n8k16(MmaType type, const MmaLane lanes[kWarpSize],
                 float d[kWarpSize][4]);

//===----------------------------------------------------------------------===//
// wgmma.mma_async.sync.aligned.m64nNk16.f32.{f16,bf16}.{f16,bf16}, A in
// registers, B in shared memory through a matrix descriptor
//===----------------------------------------------------------------------===//

constexpr int kWarpgroupSize = 128;
constexpr int kWgmmaMaxN = 256;

/// One thread's operands: A in four .b32 registers (two 16-bit elements
/// each, the lower-numbered in the low half), D (in: the accumulator when
/// scale-d is 1) as N/2 f32.
struct WgmmaLane {
  uint32_t a[4];
  float d[kWgmmaMaxN / 2];
};

/// Where element i of thread t's fragment lives (t = 0..127 in the
/// warpgroup), from the PTX ISA section "Register Fragments" of the
/// asynchronous warpgroup-level matrix instructions: A is 64 x 16 (M x K,
/// a0..a7), D is 64 x N (d0..d{N/2-1}); warp t/32 holds rows 16·(t/32)..
RowCol wgmmaFragmentA(int thread, int i);
RowCol wgmmaFragmentD(int thread, int i);

/// The shared-memory byte offset of B[k][n] (K x N = 16 x N) for a matrix
/// descriptor (PTX ISA "Matrix Descriptor Format": start address >> 4 in bits
/// 0-13, leading byte offset >> 4 in 16-29, stride byte offset >> 4 in
/// 32-45, swizzle mode in 62-63, 1 = 128-byte) and the operand's major-ness
/// (`transB`: imm-trans-b, N-major; else K-major), in the canonical layouts
/// of "Shared Memory Matrix Layout" with the 128-byte swizzle (address bits
/// 4-6 XOR bits 7-9). Returns -1 for a swizzle mode other than 128-byte.
int64_t wgmmaOffsetB(uint64_t descriptor, bool transB, int k, int n);

/// D = A·B + D for one warpgroup: `lanes[t]` holds thread t's operands, B
/// is read from `shared` (the CTA's shared memory, offsets from the
/// descriptor as wgmmaOffsetB computes them, below `sharedBytes`), and
/// `lanes[t].d` receives thread t's D. Accumulates in double, rounds once.
/// Returns false (and leaves D) when B's offsets fall outside the buffer.
bool wgmmaM64nNk16(MmaType type, int n, uint64_t descriptorB, bool transB,
                   const char *shared, int64_t sharedBytes,
                   WgmmaLane lanes[kWarpgroupSize]);

//===----------------------------------------------------------------------===//
// ldmatrix.sync.aligned.m8n8.x{1,2,4}{.trans}.shared.b16
//===----------------------------------------------------------------------===//

/// The PTX ISA section "Warp-level matrix load instruction: ldmatrix":
/// matrix m's eight rows start at the addresses of lanes 8m..8m+7 (16 bytes
/// each, so lanes 8·num.. are ignored); lane l receives in register m the
/// two elements of row l/4 at columns 2(l%4) and 2(l%4)+1 (a group of four
/// lanes holds a whole row), or with .trans the same positions of the
/// transposed matrix. `out[l][m]` for m < num.
void ldmatrixM8n8B16(int num, bool trans, const void *const rows[kWarpSize],
                     uint32_t out[kWarpSize][4]);

//===----------------------------------------------------------------------===//
// shfl.sync.{up,down,bfly,idx}.b32
//===----------------------------------------------------------------------===//

enum class ShflMode : int32_t { Up = 0, Down = 1, Bfly = 2, Idx = 3 };

/// One lane's operands: the value a, the lane or offset b, and c (the clamp
/// in bits 4:0, the segment mask in bits 12:8).
struct ShflLane {
  uint32_t a, b, c;
};
/// The value d and the predicate p (whether the source lane was in range).
struct ShflResult {
  uint32_t d;
  bool p;
};

/// The pseudocode of the PTX ISA section "Data Movement and Conversion
/// Instructions: shfl.sync", for every lane. Lanes whose `present` bit is clear did
/// not execute the instruction; a lane that reads from one gets `false`
/// from the return value and its own a (an error for the caller to report).
bool shflSync(ShflMode mode, const ShflLane lanes[kWarpSize],
              uint32_t present, ShflResult out[kWarpSize]);

//===----------------------------------------------------------------------===//
// 16-bit floats
//===----------------------------------------------------------------------===//

float bf16ToFloat(uint16_t bits);
float f16ToFloat(uint16_t bits);

} // namespace skim::emu

#endif // SKIM_EMULATOR_WARP_H
