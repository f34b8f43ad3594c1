//===- AmdWave.cpp - AMD matrix instructions and wave shuffles ------------===//

#include "skim/emulator/AmdWave.h"
#include "skim/emulator/Warp.h"

#include <cassert>

using namespace skim::emu;

AmdMatrixShape skim::emu::amdMatrixShape(AmdMatrixOp op) {
  switch (op) {
  case AmdMatrixOp::MfmaF32_32x32x8F16:
    return {32, 32, 8, 64, 4, 4, 16, false, "v_mfma_f32_32x32x8_f16"};
  case AmdMatrixOp::MfmaF32_32x32x8BF16_1K:
    return {32, 32, 8, 64, 4, 4, 16, true, "v_mfma_f32_32x32x8_bf16_1k"};
  case AmdMatrixOp::MfmaF32_16x16x16F16:
    return {16, 16, 16, 64, 4, 4, 4, false, "v_mfma_f32_16x16x16_f16"};
  case AmdMatrixOp::MfmaF32_16x16x16BF16_1K:
    return {16, 16, 16, 64, 4, 4, 4, true, "v_mfma_f32_16x16x16_bf16_1k"};
  case AmdMatrixOp::WmmaF32_16x16x16F16:
    return {16, 16, 16, 32, 16, 16, 8, false, "v_wmma_f32_16x16x16_f16"};
  case AmdMatrixOp::WmmaF32_16x16x16BF16:
    return {16, 16, 16, 32, 16, 16, 8, true, "v_wmma_f32_16x16x16_bf16"};
  case AmdMatrixOp::WmmaF32_16x16x16F16W64:
    return {
        16, 16, 16, 64, 16, 16, 4, false, "v_wmma_f32_16x16x16_f16 (wave64)"};
  case AmdMatrixOp::WmmaF32_16x16x16BF16W64:
    return {
        16, 16, 16, 64, 16, 16, 4, true, "v_wmma_f32_16x16x16_bf16 (wave64)"};
  }
  assert(false && "unknown AMD matrix op");
  return {};
}

static bool isWmma(AmdMatrixOp op) {
  return op == AmdMatrixOp::WmmaF32_16x16x16F16 ||
         op == AmdMatrixOp::WmmaF32_16x16x16BF16 ||
         op == AmdMatrixOp::WmmaF32_16x16x16F16W64 ||
         op == AmdMatrixOp::WmmaF32_16x16x16BF16W64;
}

LaneItem skim::emu::amdMatrixA(AmdMatrixOp op, int i, int k) {
  AmdMatrixShape s = amdMatrixShape(op);
  if (isWmma(op))
    return {i, k};
  return {i + s.m * (k / 4), k % 4};
}

LaneItem skim::emu::amdMatrixB(AmdMatrixOp op, int k, int j) {
  AmdMatrixShape s = amdMatrixShape(op);
  if (isWmma(op))
    return {j, k};
  return {j + s.n * (k / 4), k % 4};
}

LaneItem skim::emu::amdMatrixD(AmdMatrixOp op, int i, int j) {
  AmdMatrixShape s = amdMatrixShape(op);
  if (isWmma(op)) {
    // Rows are dealt round-robin to the wave's 16-lane groups.
    int groups = s.waveSize / 16;
    return {16 * (i % groups) + j, i / groups};
  }
  if (s.m == 32)
    return {j + 32 * ((i / 4) % 2), 4 * (i / 8) + i % 4};
  return {j + 16 * (i / 4), i % 4};
}

bool skim::emu::amdMatrix(AmdMatrixOp op, AmdMatrixLane *lanes,
                          std::string &why) {
  AmdMatrixShape s = amdMatrixShape(op);
  auto value = [&](uint16_t bits) {
    return double(s.bf16 ? bf16ToFloat(bits) : f16ToFloat(bits));
  };
  if (isWmma(op)) {
    // "The upper 16 lanes must contain the same data as the lower 16"; in
    // wave64 every 16-lane group holds a copy.
    for (int copy = 16; copy < s.waveSize; copy += 16)
      for (int l = 0; l < 16; ++l)
        for (int item = 0; item < 16; ++item)
          if (lanes[l].a[item] != lanes[l + copy].a[item] ||
              lanes[l].b[item] != lanes[l + copy].b[item]) {
            why = std::string(s.name) + ": lanes " + std::to_string(l) +
                  " and " + std::to_string(l + copy) +
                  " hold different copies of A or B (item " +
                  std::to_string(item) + ")";
            return false;
          }
  }
  float d[16][kMaxWaveSize] = {};
  for (int i = 0; i < s.m; ++i)
    for (int j = 0; j < s.n; ++j) {
      LaneItem at = amdMatrixD(op, i, j);
      double sum = lanes[at.lane].c[at.item];
      for (int k = 0; k < s.k; ++k) {
        LaneItem a = amdMatrixA(op, i, k), b = amdMatrixB(op, k, j);
        sum += value(lanes[a.lane].a[a.item]) * value(lanes[b.lane].b[b.item]);
      }
      d[at.item][at.lane] = float(sum);
    }
  for (int l = 0; l < s.waveSize; ++l)
    for (int item = 0; item < s.dItems; ++item)
      lanes[l].c[item] = d[item][l];
  return true;
}

bool skim::emu::waveShuffle(WaveShuffleMode mode, int waveSize,
                            const bool *present, WaveShuffleLane *lanes,
                            std::string &why) {
  for (int l = 0; l < waveSize; ++l) {
    if (!present[l])
      continue;
    WaveShuffleLane &me = lanes[l];
    if (me.width <= 0 || me.width > waveSize) {
      why = "gpu.shuffle width " + std::to_string(me.width) +
            " is not 1 to the wave's " + std::to_string(waveSize) + " lanes";
      return false;
    }
    int base = l - l % me.width, inSegment = l % me.width;
    int source = mode == WaveShuffleMode::Xor    ? inSegment ^ me.offset
                 : mode == WaveShuffleMode::Up   ? inSegment - me.offset
                 : mode == WaveShuffleMode::Down ? inSegment + me.offset
                                                 : me.offset;
    me.valid = source >= 0 && source < me.width;
    if (!me.valid) {
      me.result = me.value;
      continue;
    }
    if (!present[base + source]) {
      why = "gpu.shuffle in lane " + std::to_string(l) + " reads lane " +
            std::to_string(base + source) + ", which did not execute it";
      return false;
    }
    me.result = lanes[base + source].value;
  }
  return true;
}
