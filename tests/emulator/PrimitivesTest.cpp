//===- PrimitivesTest.cpp - the PTX instructions of Warp.h ----------------===//
//
// Hand-checked cases: every expected position below was worked out from the
// PTX ISA's text by hand (groupID = lane / 4, threadID_in_group = lane % 4)
// and written as a literal, so a slip in Warp.h's transcription cannot agree
// with itself. One case checks two tables against each other: ldmatrix.x4
// with the usual row addresses must yield exactly mma's A fragment.
//
//===----------------------------------------------------------------------===//

#include "skim/emulator/Warp.h"

#include <catch2/catch.hpp>

#include <cstring>
#include <set>
#include <vector>

using namespace skim::emu;

namespace {

uint16_t bf16Bits(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  return uint16_t(bits >> 16); // exact for the small values used here
}

/// Operands for D = A·B + C with everything zero except what a test sets.
struct Warp {
  MmaLane lanes[kWarpSize] = {};
  float d[kWarpSize][4] = {};

  void setA(int lane, int i, float v) { setHalf(lanes[lane].a[i / 2], i % 2, v); }
  void setB(int lane, int i, float v) { setHalf(lanes[lane].b[i / 2], i % 2, v); }
  void run(MmaType type = MmaType::BF16) { mmaM16n8k16(type, lanes, d); }

private:
  static void setHalf(uint32_t &reg, int e, float v) {
    reg &= ~(0xffffu << (16 * e));
    reg |= uint32_t(bf16Bits(v)) << (16 * e);
  }
};

} // namespace

TEST_CASE("mma.m16n8k16 fragment positions, checked by hand", "[emulator][ptx]") {
  // A (16 x 16): lane 0 holds rows 0 and 8, columns 0, 1, 8, 9.
  CHECK(mmaFragmentA(0, 0).row == 0);
  CHECK(mmaFragmentA(0, 0).col == 0);
  CHECK(mmaFragmentA(0, 1).col == 1);
  CHECK(mmaFragmentA(0, 2).row == 8);
  CHECK(mmaFragmentA(0, 2).col == 0);
  CHECK(mmaFragmentA(0, 4).row == 0);
  CHECK(mmaFragmentA(0, 4).col == 8);
  CHECK(mmaFragmentA(0, 7).row == 8);
  CHECK(mmaFragmentA(0, 7).col == 9);
  // Lane 5: groupID 1, threadID_in_group 1.
  CHECK(mmaFragmentA(5, 0).row == 1);
  CHECK(mmaFragmentA(5, 0).col == 2);
  CHECK(mmaFragmentA(5, 3).row == 9);
  CHECK(mmaFragmentA(5, 3).col == 3);
  CHECK(mmaFragmentA(5, 6).row == 9);
  CHECK(mmaFragmentA(5, 6).col == 10);
  // B (16 x 8, K x N): lane 31 (groupID 7, threadID_in_group 3).
  CHECK(mmaFragmentB(31, 0).row == 6);
  CHECK(mmaFragmentB(31, 0).col == 7);
  CHECK(mmaFragmentB(31, 1).row == 7);
  CHECK(mmaFragmentB(31, 2).row == 14);
  CHECK(mmaFragmentB(31, 3).row == 15);
  CHECK(mmaFragmentB(0, 2).row == 8);
  CHECK(mmaFragmentB(0, 2).col == 0);
  // C (16 x 8): lane 31 holds (7, 6), (7, 7), (15, 6), (15, 7).
  CHECK(mmaFragmentC(31, 0).row == 7);
  CHECK(mmaFragmentC(31, 0).col == 6);
  CHECK(mmaFragmentC(31, 1).col == 7);
  CHECK(mmaFragmentC(31, 2).row == 15);
  CHECK(mmaFragmentC(31, 3).row == 15);
  CHECK(mmaFragmentC(31, 3).col == 7);
  CHECK(mmaFragmentC(6, 2).row == 9);
  CHECK(mmaFragmentC(6, 2).col == 4);
}

TEST_CASE("mma.m16n8k16 fragments cover each matrix once", "[emulator][ptx]") {
  std::set<std::pair<int, int>> a, b, c;
  for (int lane = 0; lane < kWarpSize; ++lane) {
    for (int i = 0; i < 8; ++i)
      a.insert({mmaFragmentA(lane, i).row, mmaFragmentA(lane, i).col});
    for (int i = 0; i < 4; ++i) {
      b.insert({mmaFragmentB(lane, i).row, mmaFragmentB(lane, i).col});
      c.insert({mmaFragmentC(lane, i).row, mmaFragmentC(lane, i).col});
    }
  }
  CHECK(a.size() == 256);
  CHECK(b.size() == 128);
  CHECK(c.size() == 128);
  for (auto [r, col] : a)
    CHECK((r < 16 && col < 16));
  for (auto [r, col] : b)
    CHECK((r < 16 && col < 8));
}

TEST_CASE("mma.m16n8k16 puts one element where the ISA says", "[emulator][ptx]") {
  SECTION("A: lane 9 element a3 is A[10][3]") {
    // B all ones: D row 10 = A[10][:] summed = 2 at every column; rows 10 are
    // c2 and c3 of lanes 8..11 (groupID 2).
    Warp w;
    w.setA(9, 3, 2.f);
    for (int lane = 0; lane < kWarpSize; ++lane)
      for (int i = 0; i < 4; ++i)
        w.setB(lane, i, 1.f);
    w.run();
    for (int lane = 0; lane < kWarpSize; ++lane)
      for (int i = 0; i < 4; ++i) {
        bool row10 = lane >= 8 && lane < 12 && i >= 2;
        INFO("lane " << lane << " c" << i);
        CHECK(w.d[lane][i] == (row10 ? 2.f : 0.f));
      }
  }
  SECTION("B: lane 30 element b2 is B[12][7]") {
    // A = column 12 of ones: D[m][7] = B[12][7] = 3 for every m; column 7
    // is c1 and c3 of lanes with threadID_in_group 3.
    Warp w;
    w.setB(30, 2, 3.f); // groupID 7, threadID_in_group 2: row 4+8 = 12
    for (int lane = 0; lane < kWarpSize; ++lane)
      for (int i = 0; i < 8; ++i)
        if (mmaFragmentA(lane, i).col == 12)
          w.setA(lane, i, 1.f);
    w.run();
    for (int lane = 0; lane < kWarpSize; ++lane)
      for (int i = 0; i < 4; ++i) {
        INFO("lane " << lane << " c" << i);
        bool col7 = lane % 4 == 3 && i % 2 == 1;
        CHECK(w.d[lane][i] == (col7 ? 3.f : 0.f));
      }
  }
  SECTION("C passes through to D at the same position") {
    Warp w;
    for (int lane = 0; lane < kWarpSize; ++lane)
      for (int i = 0; i < 4; ++i)
        w.lanes[lane].c[i] = float(lane * 4 + i);
    w.run();
    for (int lane = 0; lane < kWarpSize; ++lane)
      for (int i = 0; i < 4; ++i)
        CHECK(w.d[lane][i] == float(lane * 4 + i));
  }
  SECTION("a full product: A = I, B[k][n] = 8k + n gives D = B") {
    Warp w;
    for (int lane = 0; lane < kWarpSize; ++lane) {
      for (int i = 0; i < 8; ++i) {
        RowCol at = mmaFragmentA(lane, i);
        w.setA(lane, i, at.row == at.col ? 1.f : 0.f);
      }
      for (int i = 0; i < 4; ++i) {
        RowCol at = mmaFragmentB(lane, i);
        w.setB(lane, i, float(8 * at.row + at.col));
      }
    }
    w.run();
    // Lane 13 (groupID 3, threadID_in_group 1): D[3][2], D[3][3], D[11][2],
    // D[11][3] = 26, 27, 90, 91.
    CHECK(w.d[13][0] == 26.f);
    CHECK(w.d[13][1] == 27.f);
    CHECK(w.d[13][2] == 90.f);
    CHECK(w.d[13][3] == 91.f);
  }
}

TEST_CASE("mma.m16n8k16 reads f16 and bf16 bits as their own types",
          "[emulator][ptx]") {
  // 1.5 is 0x3e00 in f16 and 0x3fc0 in bf16; A[0][0] · B[0][0] lands in
  // lane 0's c0.
  for (MmaType type : {MmaType::F16, MmaType::BF16}) {
    Warp w;
    uint32_t bits = type == MmaType::F16 ? 0x3e00u : 0x3fc0u;
    w.lanes[0].a[0] = bits;
    w.lanes[0].b[0] = bits;
    w.run(type);
    CHECK(w.d[0][0] == 2.25f);
  }
  CHECK(f16ToFloat(0x3c00) == 1.f);
  CHECK(f16ToFloat(0xc000) == -2.f);
  CHECK(f16ToFloat(0x0001) == std::ldexp(1.f, -24)); // smallest subnormal
  CHECK(f16ToFloat(0x7bff) == 65504.f);
  CHECK(bf16ToFloat(0xbf80) == -1.f);
}

TEST_CASE("ldmatrix.m8n8.b16, checked by hand", "[emulator][ptx]") {
  // A 16 x 16 matrix of distinct values M[r][c] = 16r + c, rows 32 bytes.
  alignas(16) uint16_t m[16][16];
  for (int r = 0; r < 16; ++r)
    for (int c = 0; c < 16; ++c)
      m[r][c] = uint16_t(16 * r + c);
  auto lo = [](uint32_t reg) { return int(reg & 0xffff); };
  auto hi = [](uint32_t reg) { return int(reg >> 16); };
  const void *rows[kWarpSize] = {};
  uint32_t out[kWarpSize][4] = {};

  SECTION(".x1: lane l holds row l/4, columns 2(l%4) and 2(l%4)+1") {
    for (int l = 0; l < 8; ++l)
      rows[l] = m[l]; // lanes 8.. are ignored
    ldmatrixM8n8B16(1, false, rows, out);
    CHECK((lo(out[0][0]) == 0 && hi(out[0][0]) == 1));
    CHECK((lo(out[5][0]) == 18 && hi(out[5][0]) == 19));   // row 1, cols 2, 3
    CHECK((lo(out[31][0]) == 118 && hi(out[31][0]) == 119)); // row 7, cols 6, 7
  }
  SECTION(".x1.trans: lane l holds column l/4, rows 2(l%4) and 2(l%4)+1") {
    for (int l = 0; l < 8; ++l)
      rows[l] = m[l];
    ldmatrixM8n8B16(1, true, rows, out);
    CHECK((lo(out[0][0]) == 0 && hi(out[0][0]) == 16));
    CHECK((lo(out[5][0]) == 33 && hi(out[5][0]) == 49));   // M[2][1], M[3][1]
    CHECK((lo(out[31][0]) == 103 && hi(out[31][0]) == 119)); // M[6][7], M[7][7]
  }
  SECTION(".x2: matrix 1 from the addresses of lanes 8..15") {
    for (int l = 0; l < 16; ++l)
      rows[l] = &m[l % 8][8 * (l / 8)]; // matrix 1 = columns 8..15
    ldmatrixM8n8B16(2, false, rows, out);
    CHECK((lo(out[5][1]) == 26 && hi(out[5][1]) == 27)); // M[1][10], M[1][11]
  }
  SECTION(".x4 with the usual A addresses yields mma's A fragment") {
    // Lanes 0-15 point at rows 0-15 of columns 0-7, lanes 16-31 at rows 0-15
    // of columns 8-15: matrices (rows 0-7, cols 0-7), (8-15, 0-7),
    // (0-7, 8-15), (8-15, 8-15) in registers 0..3.
    for (int l = 0; l < kWarpSize; ++l)
      rows[l] = &m[l % 16][8 * (l / 16)];
    ldmatrixM8n8B16(4, false, rows, out);
    for (int lane = 0; lane < kWarpSize; ++lane)
      for (int i = 0; i < 8; ++i) {
        RowCol at = mmaFragmentA(lane, i);
        uint32_t reg = out[lane][i / 2];
        int got = i % 2 ? hi(reg) : lo(reg);
        INFO("lane " << lane << " a" << i);
        CHECK(got == 16 * at.row + at.col);
      }
  }
}

TEST_CASE("shfl.sync, checked by hand", "[emulator][ptx]") {
  ShflLane in[kWarpSize];
  ShflResult out[kWarpSize];
  const uint32_t all = 0xffffffffu;
  auto fill = [&](uint32_t b, uint32_t c) {
    for (int l = 0; l < kWarpSize; ++l)
      in[l] = {uint32_t(100 + l), b, c};
  };
  SECTION("bfly 1 and 2 within a warp (c = 0x1f)") {
    fill(1, 0x1f);
    REQUIRE(shflSync(ShflMode::Bfly, in, all, out));
    CHECK(out[0].d == 101);
    CHECK(out[1].d == 100);
    CHECK(out[6].d == 107);
    CHECK(out[6].p);
    fill(2, 0x1f);
    REQUIRE(shflSync(ShflMode::Bfly, in, all, out));
    CHECK(out[5].d == 107);
  }
  SECTION("width 16 as convert-gpu-to-nvvm encodes it (c = 15)") {
    // maxLane = 15 for every lane: lanes 16.. see j > 15, keep their own.
    fill(8, 15);
    REQUIRE(shflSync(ShflMode::Bfly, in, 0xffff, out));
    CHECK(out[3].d == 111);
    CHECK(out[3].p);
  }
  SECTION("up 1 (c = 0): lane 0 keeps its own value, p false") {
    fill(1, 0);
    REQUIRE(shflSync(ShflMode::Up, in, all, out));
    CHECK(out[0].d == 100);
    CHECK(!out[0].p);
    CHECK(out[9].d == 108);
    CHECK(out[9].p);
  }
  SECTION("down 4 (c = 0x1f): the last four lanes keep theirs") {
    fill(4, 0x1f);
    REQUIRE(shflSync(ShflMode::Down, in, all, out));
    CHECK(out[27].d == 131);
    CHECK(out[28].d == 128);
    CHECK(!out[28].p);
  }
  SECTION("idx in segments of 8 (c = (24 << 8) | 0x1f)") {
    fill(2, (24u << 8) | 0x1f);
    REQUIRE(shflSync(ShflMode::Idx, in, all, out));
    CHECK(out[13].d == 110); // segment 8..15, its lane 2
    CHECK(out[31].d == 126);
  }
  SECTION("reading a lane that did not execute is reported") {
    fill(1, 0x1f);
    CHECK(!shflSync(ShflMode::Bfly, in, 0xfffffffeu, out)); // lane 1 reads 0
  }
}

namespace {

/// A 64 x 16 A and a 16 x N B of small integers (exact in bf16), and the
/// 128 threads' A registers.
struct WgmmaCase {
  static constexpr int kN = 128;
  float a[64][16], b[16][kN];
  WgmmaLane lanes[kWarpgroupSize] = {};

  WgmmaCase() {
    for (int r = 0; r < 64; ++r)
      for (int k = 0; k < 16; ++k)
        a[r][k] = float((r * 3 + k * 5) % 7 - 3);
    for (int k = 0; k < 16; ++k)
      for (int n = 0; n < kN; ++n)
        b[k][n] = float((k * 11 + n * 2) % 5 - 2);
    // By hand from the ISA's figure: warp w holds rows 16w..16w+15; in it,
    // lane l (g = l / 4, t = l % 4) holds a0 a1 = row g, columns 2t, 2t+1;
    // a2 a3 = row g + 8; a4 a5 = row g, columns 2t + 8, 2t + 9; a6 a7 = row
    // g + 8, those columns.
    for (int thread = 0; thread < kWarpgroupSize; ++thread) {
      int w = thread / 32, g = thread % 32 / 4, t = thread % 4;
      int rows[4] = {16 * w + g, 16 * w + g + 8, 16 * w + g, 16 * w + g + 8};
      int cols[4] = {2 * t, 2 * t, 2 * t + 8, 2 * t + 8};
      for (int r = 0; r < 4; ++r)
        lanes[thread].a[r] = uint32_t(bf16Bits(a[rows[r]][cols[r]])) |
                             uint32_t(bf16Bits(a[rows[r]][cols[r] + 1])) << 16;
    }
  }
  double product(int r, int n) const {
    double s = 0;
    for (int k = 0; k < 16; ++k)
      s += double(a[r][k]) * b[k][n];
    return s;
  }
};

/// A 128-byte swizzle atom's byte: 16-byte chunk c of 128-byte row r sits at
/// chunk c XOR (r mod 8), the atom 1024-byte aligned (PTX ISA, "Shared
/// Memory Matrix Layout": the 128B swizzling mode).
int64_t swizzled(int64_t row, int64_t byteInRow) {
  return row * 128 + ((byteInRow / 16) ^ (row % 8)) * 16 + byteInRow % 16;
}

void put(std::vector<char> &smem, int64_t byte, float v) {
  uint16_t bits = bf16Bits(v);
  std::memcpy(smem.data() + byte, &bits, 2);
}

uint64_t descriptor(int64_t start, int64_t leading, int64_t stride) {
  return uint64_t(start >> 4) | uint64_t(leading >> 4) << 16 |
         uint64_t(stride >> 4) << 32 | uint64_t(1) << 62;
}

} // namespace

TEST_CASE("wgmma m64nNk16: A from registers, K-major B through a swizzled "
          "descriptor, D where the ISA says",
          "[emulator][ptx][wgmma]") {
  WgmmaCase c;
  // K-major B: row n of 128 bytes holds k = 0..63 (the instruction reads
  // k 0..15 of it), rows of 8 n 1024 bytes apart.
  std::vector<char> smem(c.kN * 128, 0);
  for (int n = 0; n < c.kN; ++n)
    for (int k = 0; k < 16; ++k)
      put(smem, swizzled(n, 2 * k), c.b[k][n]);
  REQUIRE(wgmmaM64nNk16(MmaType::BF16, c.kN, descriptor(0, 16, 1024), false,
                        smem.data(), int64_t(smem.size()), c.lanes));
  // D by hand: d_i of thread (w, g, t) is row 16w + g + 8·((i / 2) % 2),
  // column 8·(i / 4) + 2t + (i % 2).
  for (int thread : {0, 5, 37, 77, 127})
    for (int i : {0, 1, 2, 3, 4, 62, 63}) {
      int w = thread / 32, g = thread % 32 / 4, t = thread % 4;
      int row = 16 * w + g + 8 * ((i / 2) % 2), col = 8 * (i / 4) + 2 * t + i % 2;
      INFO("thread " << thread << " d" << i);
      CHECK(c.lanes[thread].d[i] == float(c.product(row, col)));
    }
  // The same bytes read as N-major name other elements: a mismatch.
  WgmmaCase wrong;
  REQUIRE(wgmmaM64nNk16(MmaType::BF16, wrong.kN, descriptor(0, 16, 1024), true,
                        smem.data(), int64_t(smem.size()), wrong.lanes));
  int differ = 0;
  for (int i = 0; i < wrong.kN / 2; ++i)
    differ += wrong.lanes[5].d[i] != c.lanes[5].d[i];
  CHECK(differ > 0);
}

TEST_CASE("wgmma m64nNk16: N-major B across 64-column panels",
          "[emulator][ptx][wgmma]") {
  WgmmaCase c;
  // N-major B, as V is stored: row k of 128 bytes holds 64 n, panels of 64
  // columns `leading` bytes apart (16 rows each here), 8-row groups of k
  // 1024 bytes apart.
  int64_t panel = 16 * 128;
  std::vector<char> smem(2 * panel, 0);
  for (int k = 0; k < 16; ++k)
    for (int n = 0; n < c.kN; ++n)
      put(smem, (n / 64) * panel + swizzled(k, 2 * (n % 64)), c.b[k][n]);
  REQUIRE(wgmmaM64nNk16(MmaType::BF16, c.kN, descriptor(0, panel, 1024), true,
                        smem.data(), int64_t(smem.size()), c.lanes));
  for (int thread : {0, 31, 64, 100, 127})
    for (int i : {0, 3, 30, 33, 63}) {
      int w = thread / 32, g = thread % 32 / 4, t = thread % 4;
      int row = 16 * w + g + 8 * ((i / 2) % 2), col = 8 * (i / 4) + 2 * t + i % 2;
      INFO("thread " << thread << " d" << i);
      CHECK(c.lanes[thread].d[i] == float(c.product(row, col)));
    }
  // Unswizzled bytes give a different product.
  std::vector<char> plain(2 * panel, 0);
  for (int k = 0; k < 16; ++k)
    for (int n = 0; n < c.kN; ++n)
      put(plain, (n / 64) * panel + k * 128 + 2 * (n % 64), c.b[k][n]);
  WgmmaCase wrong;
  REQUIRE(wgmmaM64nNk16(MmaType::BF16, wrong.kN, descriptor(0, panel, 1024), true,
                        plain.data(), int64_t(plain.size()), wrong.lanes));
  int differ = 0;
  for (int i = 0; i < wrong.kN / 2; ++i)
    differ += wrong.lanes[100].d[i] != c.lanes[100].d[i];
  CHECK(differ > 0);
  // A descriptor past the buffer is refused, not read.
  CHECK_FALSE(wgmmaM64nNk16(MmaType::BF16, c.kN, descriptor(1 << 16, panel, 1024),
                            true, smem.data(), int64_t(smem.size()), c.lanes));
}
