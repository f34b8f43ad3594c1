//===- Api.cpp - what emulated kernels call -------------------------------===//
//
// Each lane call checks its operands (a malformed instruction is an error
// the CTA stops on, never undefined behaviour in the emulator), stores them
// in the lane and, for warp-wide instructions, waits until the scheduler has
// executed the instruction for the whole warp.
//
//===----------------------------------------------------------------------===//

#include "Cta.h"

#include "skim/runtime/EmulatedTensorMap.h"

#include <atomic>
#include <cmath>
#include <cstring>
#include <mutex>

using namespace skim::emu;
using namespace skim::emu::detail;

namespace {

std::mutex errorMutex;
std::string firstError;

std::atomic<int64_t> counters[int(Counter::Count)];

Lane &asLane(void *lane) { return *static_cast<Lane *>(lane); }

int dimension(Lane &lane, int32_t dim) {
  if (dim < 0 || dim > 2)
    lane.cta->fail(lane, "dimension " + std::to_string(dim) + " is not x, y or z");
  return dim;
}

} // namespace

void skim::emu::detail::recordError(const std::string &message) {
  std::lock_guard<std::mutex> lock(errorMutex);
  if (firstError.empty())
    firstError = message;
}

void skim::emu::detail::count(Counter c) {
  counters[int(c)].fetch_add(1, std::memory_order_relaxed);
}

std::string skim::emu::takeError() {
  std::lock_guard<std::mutex> lock(errorMutex);
  std::string e;
  e.swap(firstError);
  return e;
}

Counters skim::emu::takeCounters() {
  auto take = [](Counter c) { return counters[int(c)].exchange(0); };
  Counters c;
  c.ctas = take(Counter::Ctas);
  c.barriers = take(Counter::Barriers);
  c.mma = take(Counter::Mma);
  c.ldmatrix = take(Counter::Ldmatrix);
  c.shfl = take(Counter::Shfl);
  c.cpAsync = take(Counter::CpAsync);
  c.wgmma = take(Counter::Wgmma);
  c.tma = take(Counter::Tma);
  c.arrivals = take(Counter::Arrivals);
  c.amdMatrix = take(Counter::AmdMatrix);
  c.waveShuffle = take(Counter::WaveShuffle);
  return c;
}

extern "C" {

void skim_emu_run_cta(SkimEmuLaneFn fn, const int64_t *args, int64_t bx,
                      int64_t by, int64_t bz, int64_t dx, int64_t dy,
                      int64_t dz, int64_t sharedBytes) {
  const int64_t block[3] = {bx, by, bz}, dim[3] = {dx, dy, dz};
  if (dx < 1 || dy < 1 || dz < 1 || dx * dy * dz > 1024) {
    recordError("block size " + std::to_string(dx) + " x " + std::to_string(dy) +
                " x " + std::to_string(dz) + " is not 1 to 1024 threads");
    return;
  }
  Cta cta(fn, args, block, dim, sharedBytes);
  std::string error = cta.run();
  if (!error.empty())
    recordError(error);
}

int64_t skim_emu_thread_id(void *lane, int32_t dim) {
  Lane &l = asLane(lane);
  return l.tid[dimension(l, dim)];
}

int64_t skim_emu_block_id(void *lane, int32_t dim) {
  Lane &l = asLane(lane);
  return l.cta->blockId()[dimension(l, dim)];
}

int64_t skim_emu_lane_id(void *lane) { return asLane(lane).linear % kWarpSize; }

void *skim_emu_shared(void *lane) { return asLane(lane).cta->sharedMemory(); }

void skim_emu_barrier(void *lane) {
  Lane &l = asLane(lane);
  l.barrierId = 0;
  l.barrierThreads = 0;
  l.wait(Lane::State::AtBarrier);
}

void skim_emu_named_barrier(void *lane, int32_t id, int32_t threads) {
  Lane &l = asLane(lane);
  if (id < 0 || id >= kNamedBarriers)
    l.cta->fail(l, "bar.sync " + std::to_string(id) + ": ids are 0 to 15");
  if (threads <= 0 || threads % kWarpSize)
    l.cta->fail(l, "bar.sync with " + std::to_string(threads) +
                       " threads (a positive multiple of 32)");
  l.barrierId = id;
  l.barrierThreads = threads;
  l.wait(Lane::State::AtBarrier);
}

void skim_emu_warp_sync(void *lane, int32_t memberMask) {
  Lane &l = asLane(lane);
  if (!(uint32_t(memberMask) >> (l.linear % kWarpSize) & 1))
    l.cta->fail(l, "bar.warp.sync by a thread outside its membermask");
  l.op = WarpOp::Sync;
  l.wait(Lane::State::AtWarpOp);
}

void skim_emu_mma_m16n8k16(void *lane, int32_t type, int32_t a0, int32_t a1,
                           int32_t a2, int32_t a3, int32_t b0, int32_t b1,
                           float c0, float c1, float c2, float c3, float *d) {
  Lane &l = asLane(lane);
  if (type != int32_t(MmaType::F16) && type != int32_t(MmaType::BF16))
    l.cta->fail(l, "mma.sync with an unknown element type " + std::to_string(type));
  l.op = WarpOp::Mma;
  l.mmaType = MmaType(type);
  l.mma = {{uint32_t(a0), uint32_t(a1), uint32_t(a2), uint32_t(a3)},
           {uint32_t(b0), uint32_t(b1)},
           {c0, c1, c2, c3}};
  l.wait(Lane::State::AtWarpOp);
  for (int i = 0; i < 4; ++i)
    d[i] = l.mmaOut[i];
}

void skim_emu_wgmma(void *lane, int32_t type, int32_t n, int32_t transB,
                    int64_t descB, int32_t a0, int32_t a1, int32_t a2,
                    int32_t a3, float *d) {
  Lane &l = asLane(lane);
  if (type != int32_t(MmaType::F16) && type != int32_t(MmaType::BF16))
    l.cta->fail(l, "wgmma with an unknown element type " + std::to_string(type));
  if (n < 8 || n > kWgmmaMaxN || n % 8 != 0)
    l.cta->fail(l, "wgmma m64n" + std::to_string(n) + "k16 does not exist");
  l.op = WarpOp::Wgmma;
  l.mmaType = MmaType(type);
  l.wgmmaN = n;
  l.wgmmaTransB = transB != 0;
  l.wgmmaDesc = uint64_t(descB);
  l.wgmma.a[0] = uint32_t(a0);
  l.wgmma.a[1] = uint32_t(a1);
  l.wgmma.a[2] = uint32_t(a2);
  l.wgmma.a[3] = uint32_t(a3);
  std::memcpy(l.wgmma.d, d, sizeof(float) * size_t(n / 2));
  l.wait(Lane::State::AtWarpOp);
  std::memcpy(d, l.wgmma.d, sizeof(float) * size_t(n / 2));
}

void skim_emu_amd_matrix(void *lane, int32_t op, const uint16_t *a,
                         const uint16_t *b, float *c) {
  Lane &l = asLane(lane);
  if (op < 0 || op >= kAmdMatrixOps)
    l.cta->fail(l, "unknown AMD matrix instruction " + std::to_string(op));
  AmdMatrixShape shape = amdMatrixShape(AmdMatrixOp(op));
  l.op = WarpOp::AmdMatrix;
  l.waveSize = shape.waveSize;
  l.amdOp = AmdMatrixOp(op);
  std::memcpy(l.amd.a, a, sizeof(uint16_t) * size_t(shape.aItems));
  std::memcpy(l.amd.b, b, sizeof(uint16_t) * size_t(shape.bItems));
  std::memcpy(l.amd.c, c, sizeof(float) * size_t(shape.dItems));
  l.wait(Lane::State::AtWarpOp);
  std::memcpy(c, l.amd.c, sizeof(float) * size_t(shape.dItems));
}

int64_t skim_emu_wave_shuffle(void *lane, int32_t waveSize, int32_t mode,
                              int32_t value, int32_t offset, int32_t width) {
  Lane &l = asLane(lane);
  if (waveSize != 32 && waveSize != 64)
    l.cta->fail(l, "a wave of " + std::to_string(waveSize) + " lanes");
  if (mode < 0 || mode > 3)
    l.cta->fail(l, "gpu.shuffle mode " + std::to_string(mode));
  l.op = WarpOp::WaveShuffle;
  l.waveSize = waveSize;
  l.waveShuffleMode = WaveShuffleMode(mode);
  l.waveShuffle = WaveShuffleLane{uint32_t(value), offset, width, 0, false};
  l.wait(Lane::State::AtWarpOp);
  return int64_t(l.waveShuffle.result) |
         (int64_t(l.waveShuffle.valid) << 32);
}

void skim_emu_ldmatrix(void *lane, const void *row, int32_t num, int32_t trans,
                       int32_t *out) {
  Lane &l = asLane(lane);
  if (num != 1 && num != 2 && num != 4)
    l.cta->fail(l, "ldmatrix .num must be x1, x2 or x4, not " + std::to_string(num));
  // "When reading 8x8 matrices, a group of four consecutive threads loads
  // 16 bytes. The matrix addresses must be naturally aligned accordingly."
  if (l.linear % kWarpSize < 8 * num && reinterpret_cast<uintptr_t>(row) % 16)
    l.cta->fail(l, "ldmatrix row address is not 16-byte aligned");
  l.op = WarpOp::Ldmatrix;
  l.num = num;
  l.trans = trans != 0;
  l.row = row;
  l.wait(Lane::State::AtWarpOp);
  for (int i = 0; i < num; ++i)
    out[i] = int32_t(l.ldOut[i]);
}

int64_t skim_emu_shfl(void *lane, int32_t mode, int32_t memberMask,
                      int32_t value, int32_t b, int32_t c) {
  Lane &l = asLane(lane);
  if (mode < 0 || mode > 3)
    l.cta->fail(l, "shfl.sync with an unknown mode " + std::to_string(mode));
  l.op = WarpOp::Shfl;
  l.shflMode = ShflMode(mode);
  l.memberMask = uint32_t(memberMask);
  l.shfl = {uint32_t(value), uint32_t(b), uint32_t(c)};
  l.wait(Lane::State::AtWarpOp);
  return int64_t(uint64_t(l.shflOut.d) | uint64_t(l.shflOut.p) << 32);
}

void skim_emu_cp_async(void *lane, void *dst, const void *src, int32_t bytes,
                       int32_t srcBytes) {
  Lane &l = asLane(lane);
  if (bytes != 4 && bytes != 8 && bytes != 16)
    l.cta->fail(l, "cp.async of " + std::to_string(bytes) +
                       " bytes (4, 8 or 16 only)");
  if (srcBytes < 0 || srcBytes > bytes)
    l.cta->fail(l, "cp.async src-size " + std::to_string(srcBytes) +
                       " is not in [0, " + std::to_string(bytes) + "]");
  if (reinterpret_cast<uintptr_t>(dst) % uintptr_t(bytes))
    l.cta->fail(l, "cp.async destination is not aligned to its size");
  l.uncommitted.push_back({dst, src, bytes, srcBytes});
  count(Counter::CpAsync);
}

void skim_emu_cp_async_commit(void *lane) {
  Lane &l = asLane(lane);
  // An empty commit makes an empty group, as in PTX.
  l.groups.emplace_back(std::move(l.uncommitted));
  l.uncommitted.clear();
}

void skim_emu_cp_async_wait(void *lane, int32_t pending) {
  Lane &l = asLane(lane);
  if (pending < 0)
    l.cta->fail(l, "cp.async.wait_group with a negative count");
  l.waitGroups(size_t(pending));
}

// mbarriers and TMA. A TMA copy completes when it is issued, so a phase
// completes as soon as its arrivals and bytes are in; a thread that waits
// for a phase still open blocks until other threads' arrivals or copies
// complete it, and a wait nothing can complete leaves the CTA stuck, which
// the scheduler reports with each thread's state.

static void completePhase(Mbarrier &m) {
  if (m.pending != 0 || m.tx != 0)
    return;
  m.expected ^= 0x8000;
  m.pending = m.expected & 0x7fff;
}

void skim_emu_mbarrier_init(void *lane, void *bar, int32_t count,
                            int32_t predicate) {
  if (!predicate)
    return;
  Lane &l = asLane(lane);
  if (count < 1 || count > 0x7fff)
    l.cta->fail(l, "mbarrier.init with count " + std::to_string(count) +
                       " (the emulator takes 1 to 32767)");
  if (reinterpret_cast<uintptr_t>(bar) % 8)
    l.cta->fail(l, "mbarrier.init on an address not 8-byte aligned");
  *static_cast<Mbarrier *>(bar) = {uint16_t(count), uint16_t(count), 0};
}

void skim_emu_mbarrier_arrive_expect_tx(void *lane, void *bar, int32_t bytes,
                                        int32_t predicate) {
  if (!predicate)
    return;
  Lane &l = asLane(lane);
  auto &m = *static_cast<Mbarrier *>(bar);
  if (m.pending == 0)
    l.cta->fail(l, "mbarrier.arrive on a phase with no arrival pending");
  m.tx += bytes;
  --m.pending;
  completePhase(m);
}

void skim_emu_mbarrier_arrive(void *lane, void *bar) {
  Lane &l = asLane(lane);
  auto &m = *static_cast<Mbarrier *>(bar);
  if (m.pending == 0)
    l.cta->fail(l, "mbarrier.arrive on a phase with no arrival pending");
  --m.pending;
  completePhase(m);
  count(Counter::Arrivals);
}

void skim_emu_mbarrier_try_wait_parity(void *lane, void *bar, int32_t parity) {
  Lane &l = asLane(lane);
  // A phase still open waits for other threads' arrivals (a producer
  // warpgroup and its consumers); the scheduler readies the lane when the
  // phase completes, or reports the CTA stuck.
  if (static_cast<Mbarrier *>(bar)->completed(parity))
    return;
  l.mbarrier = bar;
  l.mbarrierParity = parity;
  l.wait(Lane::State::AtMbarrier);
}

void skim_emu_tma_load(void *lane, void *dst, const void *descriptor, void *bar,
                       int32_t rank, int32_t c0, int32_t c1, int32_t c2,
                       int32_t c3, int32_t c4, int32_t predicate) {
  if (!predicate)
    return;
  Lane &l = asLane(lane);
  const auto &map =
      *static_cast<const skim::rt::EmulatedTensorMap *>(descriptor);
  if (rank < 1 || rank != map.rank)
    l.cta->fail(l, "cp.async.bulk.tensor." + std::to_string(rank) +
                       "d over a rank-" + std::to_string(map.rank) +
                       " tensor map");
  int64_t inner = map.box[rank - 1] * map.elementBytes;
  if (map.swizzle != 0 && map.swizzle != 128)
    l.cta->fail(l, "TMA with a " + std::to_string(map.swizzle) +
                       "-byte swizzle (the emulator models none and 128)");
  if (map.swizzle == 128 && inner != 128)
    l.cta->fail(l, "TMA with the 128-byte swizzle over " +
                       std::to_string(inner) + "-byte box rows");
  if (reinterpret_cast<uintptr_t>(dst) % (map.swizzle == 128 ? 1024 : 16))
    l.cta->fail(l, "TMA destination not aligned to its swizzle atom");
  // Coordinates come innermost first; the map's dims outermost first.
  const int32_t given[5] = {c0, c1, c2, c3, c4};
  int64_t start[skim::rt::EmulatedTensorMap::kMaxRank] = {};
  for (int32_t d = 0; d < rank; ++d)
    start[d] = given[rank - 1 - d];
  int64_t rows = 1;
  for (int32_t d = 0; d + 1 < rank; ++d)
    rows *= map.box[d];
  auto *out = static_cast<char *>(dst);
  const auto *base = static_cast<const char *>(map.base);
  for (int64_t r = 0; r < rows; ++r) {
    // The row's outer coordinates, the last outer dim fastest.
    int64_t offset = 0;
    bool inside = true;
    for (int64_t d = rank - 2, rest = r; d >= 0; --d) {
      int64_t at = start[d] + rest % map.box[d];
      rest /= map.box[d];
      inside &= at >= 0 && at < map.dims[d];
      offset += at * map.strides[d];
    }
    for (int64_t e = 0; e < map.box[rank - 1]; ++e) {
      int64_t at = start[rank - 1] + e;
      int64_t byte = e * map.elementBytes;
      int64_t chunk = byte / 16;
      if (map.swizzle == 128)
        chunk ^= r % 8;
      char *to = out + r * inner + chunk * 16 + byte % 16;
      if (inside && at >= 0 && at < map.dims[rank - 1])
        std::memcpy(to,
                    base + (offset + at * map.strides[rank - 1]) *
                               map.elementBytes,
                    size_t(map.elementBytes));
      else
        std::memset(to, 0, size_t(map.elementBytes));
    }
  }
  auto &m = *static_cast<Mbarrier *>(bar);
  m.tx -= int32_t(rows * inner);
  completePhase(m);
  count(Counter::Tma);
}

float skim_emu_ex2(float x) { return std::exp2(x); }

float skim_emu_lg2(float x) { return std::log2(x); }

} // extern "C"
