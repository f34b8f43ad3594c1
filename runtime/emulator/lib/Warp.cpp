//===- Warp.cpp - warp-wide PTX instructions as plain functions -----------===//
//
// Each function transcribes its PTX ISA section (named in Warp.h); the
// formulas keep the ISA's own names (groupID, threadID_in_group, bval, cval)
// so they can be read side by side with it.
//
//===----------------------------------------------------------------------===//

#include "skim/emulator/Warp.h"

#include <array>
#include <cmath>
#include <cstring>
#include <vector>

using namespace skim::emu;

//===----------------------------------------------------------------------===//
// 16-bit floats
//===----------------------------------------------------------------------===//

float skim::emu::bf16ToFloat(uint16_t bits) {
  uint32_t wide = uint32_t(bits) << 16;
  float f;
  std::memcpy(&f, &wide, 4);
  return f;
}

float skim::emu::f16ToFloat(uint16_t bits) {
  int exponent = (bits >> 10) & 0x1f;
  int mantissa = bits & 0x3ff;
  float sign = (bits & 0x8000) ? -1.f : 1.f;
  if (exponent == 0x1f)
    return mantissa ? std::nanf("") : sign * INFINITY;
  if (exponent == 0) // subnormal: mantissa · 2^-24
    return sign * std::ldexp(float(mantissa), -24);
  return sign * std::ldexp(float(mantissa | 0x400), exponent - 25);
}

//===----------------------------------------------------------------------===//
// mma.m16n8k16, floating point: "Matrix Fragments for mma.m16n8k16 with
// floating point type"
//===----------------------------------------------------------------------===//

// groupID = %laneid >> 2, threadID_in_group = %laneid % 4.

RowCol skim::emu::mmaFragmentA(int lane, int i) {
  int groupID = lane >> 2, threadID_in_group = lane % 4;
  // row = groupID for ai where 0 <= i < 2 || 4 <= i < 6, groupID + 8
  // otherwise; col = threadID_in_group * 2 + (i & 1), + 8 for i >= 4.
  int row = (i < 2 || (i >= 4 && i < 6)) ? groupID : groupID + 8;
  int col = threadID_in_group * 2 + (i & 0x1) + (i >= 4 ? 8 : 0);
  return {row, col};
}

RowCol skim::emu::mmaFragmentB(int lane, int i) {
  int groupID = lane >> 2, threadID_in_group = lane % 4;
  // row = threadID_in_group * 2 + (i & 1), + 8 for i >= 2; col = groupID.
  int row = threadID_in_group * 2 + (i & 0x1) + (i >= 2 ? 8 : 0);
  return {row, groupID};
}

RowCol skim::emu::mmaFragmentC(int lane, int i) {
  int groupID = lane >> 2, threadID_in_group = lane % 4;
  // row = groupID for ci where i < 2, groupID + 8 for i >= 2;
  // col = threadID_in_group * 2 + (i & 1).
  int row = i < 2 ? groupID : groupID + 8;
  return {row, threadID_in_group * 2 + (i & 0x1)};
}

/// Element e (0 low, 1 high) of a register holding two 16-bit values.
static float half(MmaType type, uint32_t reg, int e) {
  auto bits = uint16_t(reg >> (16 * e));
  return type == MmaType::BF16 ? bf16ToFloat(bits) : f16ToFloat(bits);
}

void skim::emu::mmaM16n8k16(MmaType type, const MmaLane lanes[kWarpSize],
                            float d[kWarpSize][4]) {
  double a[16][16], b[16][8], c[16][8];
  // "Elements (low to high)": a0..a7 fill registers 0..3 two at a time,
  // the lower-numbered element in the low half; likewise b0..b3.
  for (int lane = 0; lane < kWarpSize; ++lane) {
    for (int i = 0; i < 8; ++i) {
      RowCol at = mmaFragmentA(lane, i);
      a[at.row][at.col] = half(type, lanes[lane].a[i / 2], i % 2);
    }
    for (int i = 0; i < 4; ++i) {
      RowCol at = mmaFragmentB(lane, i);
      b[at.row][at.col] = half(type, lanes[lane].b[i / 2], i % 2);
    }
    for (int i = 0; i < 4; ++i) {
      RowCol at = mmaFragmentC(lane, i);
      c[at.row][at.col] = lanes[lane].c[i];
    }
  }
  for (int lane = 0; lane < kWarpSize; ++lane)
    for (int i = 0; i < 4; ++i) {
      RowCol at = mmaFragmentC(lane, i);
      double sum = c[at.row][at.col];
      for (int k = 0; k < 16; ++k)
        sum += a[at.row][k] * b[k][at.col];
      d[lane][i] = float(sum);
    }
}

//===----------------------------------------------------------------------===//
// wgmma.mma_async m64nNk16
//===----------------------------------------------------------------------===//

RowCol skim::emu::wgmmaFragmentA(int thread, int i) {
  // Per warp the 16 x 16 slice of the m16n8k16 A fragment: rows
  // 16·warp + groupID (+8 for a2, a3, a6, a7), columns 2·threadID_in_group
  // + (i & 1) (+8 for a4..a7).
  int warp = thread / kWarpSize, lane = thread % kWarpSize;
  int groupID = lane >> 2, threadID_in_group = lane % 4;
  int row = 16 * warp + groupID + ((i / 2) % 2 ? 8 : 0);
  int col = threadID_in_group * 2 + (i & 1) + (i >= 4 ? 8 : 0);
  return {row, col};
}

RowCol skim::emu::wgmmaFragmentD(int thread, int i) {
  // d_i: row 16·warp + groupID + 8·((i / 2) % 2), column 8·(i / 4) +
  // 2·threadID_in_group + (i & 1).
  int warp = thread / kWarpSize, lane = thread % kWarpSize;
  int groupID = lane >> 2, threadID_in_group = lane % 4;
  int row = 16 * warp + groupID + 8 * ((i / 2) % 2);
  int col = 8 * (i / 4) + threadID_in_group * 2 + (i & 1);
  return {row, col};
}

int64_t skim::emu::wgmmaOffsetB(uint64_t descriptor, bool transB, int k,
                                int n) {
  int64_t start = int64_t(descriptor & 0x3fff) << 4;
  int64_t leading = int64_t((descriptor >> 16) & 0x3fff) << 4;
  int64_t stride = int64_t((descriptor >> 32) & 0x3fff) << 4;
  if ((descriptor >> 62) != 1)
    return -1;
  // 128-byte swizzle atoms: 8 rows of 128 bytes. K-major: a row is one n
  // and holds 64 k (the instruction's 16 are at the start's offset); rows
  // of 8 n repeat every `stride` bytes. N-major: a row is one k and holds 64
  // n; 8-row groups of k repeat every `stride`, 64-wide groups of n every
  // `leading`.
  int64_t byte = transB ? start + (n / 64) * leading + (k / 8) * stride +
                              (k % 8) * 128 + (n % 64) * 2
                        : start + (n / 8) * stride + (n % 8) * 128 + k * 2;
  return byte ^ (((byte >> 7) & 7) << 4);
}

bool skim::emu::wgmmaM64nNk16(MmaType type, int n, uint64_t descriptorB,
                              bool transB, const char *shared,
                              int64_t sharedBytes,
                              WgmmaLane lanes[kWarpgroupSize]) {
  // CTAs run on several threads at once: no static storage.
  std::vector<std::array<double, 16>> a(64);
  std::vector<std::array<double, kWgmmaMaxN>> b(16);
  for (int t = 0; t < kWarpgroupSize; ++t)
    for (int i = 0; i < 8; ++i) {
      RowCol at = wgmmaFragmentA(t, i);
      a[at.row][at.col] = half(type, lanes[t].a[i / 2], i % 2);
    }
  for (int k = 0; k < 16; ++k)
    for (int col = 0; col < n; ++col) {
      int64_t offset = wgmmaOffsetB(descriptorB, transB, k, col);
      if (offset < 0 || offset + 2 > sharedBytes)
        return false;
      uint16_t bits;
      std::memcpy(&bits, shared + offset, 2);
      b[k][col] = type == MmaType::BF16 ? bf16ToFloat(bits) : f16ToFloat(bits);
    }
  for (int t = 0; t < kWarpgroupSize; ++t)
    for (int i = 0; i < n / 2; ++i) {
      RowCol at = wgmmaFragmentD(t, i);
      double sum = lanes[t].d[i];
      for (int k = 0; k < 16; ++k)
        sum += a[at.row][k] * b[k][at.col];
      lanes[t].d[i] = float(sum);
    }
  return true;
}

//===----------------------------------------------------------------------===//
// ldmatrix: "Warp-level matrix load instruction: ldmatrix"
//===----------------------------------------------------------------------===//

void skim::emu::ldmatrixM8n8B16(int num, bool trans,
                                const void *const rows[kWarpSize],
                                uint32_t out[kWarpSize][4]) {
  for (int m = 0; m < num; ++m) {
    // "Addresses addr0–addr7 correspond to the rows of the first matrix,
    // addresses addr8–addr15 correspond to the rows of the second matrix".
    uint16_t matrix[8][8];
    for (int r = 0; r < 8; ++r)
      std::memcpy(matrix[r], rows[8 * m + r], 16);
    // "A group of four threads loads an entire row": lane l holds row l/4,
    // columns 2(l%4) and 2(l%4)+1. ".trans: the matrix is loaded in
    // column-major format": the addresses are then columns, so lane l holds
    // the same positions of the transposed matrix.
    for (int lane = 0; lane < kWarpSize; ++lane) {
      int row = lane / 4, col = 2 * (lane % 4);
      uint16_t lo = trans ? matrix[col][row] : matrix[row][col];
      uint16_t hi = trans ? matrix[col + 1][row] : matrix[row][col + 1];
      out[lane][m] = uint32_t(lo) | uint32_t(hi) << 16;
    }
  }
}

//===----------------------------------------------------------------------===//
// shfl.sync: "Data Movement and Conversion Instructions: shfl.sync"
//===----------------------------------------------------------------------===//

bool skim::emu::shflSync(ShflMode mode, const ShflLane lanes[kWarpSize],
                         uint32_t present, ShflResult out[kWarpSize]) {
  bool ok = true;
  for (int lane = 0; lane < kWarpSize; ++lane) {
    if (!(present >> lane & 1))
      continue;
    int bval = int(lanes[lane].b & 0x1f);
    int cval = int(lanes[lane].c & 0x1f);
    int mask = int(lanes[lane].c >> 8 & 0x1f);
    int maxLane = (lane & mask) | (cval & ~mask);
    int minLane = lane & mask;
    int j = lane;
    bool pval = false;
    switch (mode) {
    case ShflMode::Up:
      j = lane - bval;
      pval = j >= maxLane;
      break;
    case ShflMode::Down:
      j = lane + bval;
      pval = j <= maxLane;
      break;
    case ShflMode::Bfly:
      j = lane ^ bval;
      pval = j <= maxLane;
      break;
    case ShflMode::Idx:
      j = minLane | (bval & ~mask);
      pval = j <= maxLane;
      break;
    }
    if (!pval)
      j = lane; // copy from own lane
    if (!(present >> j & 1)) {
      // "results are undefined ... if an active thread sources a register
      // from an inactive thread".
      ok = false;
      j = lane;
      pval = false;
    }
    out[lane] = {lanes[j].a, pval};
  }
  return ok;
}
