//===- Cta.h - one CTA of emulated threads ----------------------*- C++ -*-===//

#ifndef SKIM_EMULATOR_CTA_H
#define SKIM_EMULATOR_CTA_H

#include "Fiber.h"

#include "skim/emulator/AmdWave.h"
#include "skim/emulator/LaneEmulator.h"
#include "skim/emulator/Warp.h"

#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace skim::emu::detail {

class Cta;

/// The warp-wide instruction a lane waits at.
enum class WarpOp {
  Mma,
  Ldmatrix,
  Shfl,
  Sync,
  Wgmma,
  // AMD's, over a wave of 32 or 64 lanes (tryWave).
  AmdMatrix,
  WaveShuffle
};
const char *warpOpName(WarpOp op);

/// One cp.async: `bytes` land at dst, the first `srcBytes` read from src.
struct AsyncCopy {
  void *dst;
  const void *src;
  int32_t bytes, srcBytes;
  void apply() const;
};

/// bar.sync's barrier ids, 0 to 15.
constexpr int kNamedBarriers = 16;

/// The 8 bytes of shared memory an mbarrier occupies, as the emulator
/// keeps them: the arrival count with the phase parity in its top bit, the
/// arrivals still pending in this phase, and the transaction bytes expected
/// minus those completed.
struct Mbarrier {
  uint16_t expected;
  uint16_t pending;
  int32_t tx;

  /// The phase of parity `parity` has completed once the current one
  /// differs.
  bool completed(int32_t parity) const {
    return ((expected >> 15) & 1) != uint32_t(parity & 1);
  }
};
static_assert(sizeof(Mbarrier) == 8, "an mbarrier is 8 bytes");

/// One emulated thread.
struct Lane {
  enum class State { Ready, AtBarrier, AtWarpOp, AtMbarrier, Done };

  Cta *cta = nullptr;
  int64_t tid[3] = {0, 0, 0};
  int linear = 0; // x + dx (y + dy z)
  Fiber fiber;
  State state = State::Ready;

  // The warp-wide instruction it waits at: operands in, results out.
  WarpOp op = WarpOp::Sync;
  MmaType mmaType = MmaType::BF16;
  MmaLane mma{};
  float mmaOut[4] = {};
  int32_t num = 0;
  bool trans = false;
  const void *row = nullptr;
  uint32_t ldOut[4] = {};
  ShflMode shflMode = ShflMode::Bfly;
  uint32_t memberMask = 0;
  ShflLane shfl{};
  ShflResult shflOut{};
  // wgmma (warpgroup-wide): operands in, D out in wgmma.d.
  int32_t wgmmaN = 0;
  bool wgmmaTransB = false;
  uint64_t wgmmaDesc = 0;
  WgmmaLane wgmma{};
  // AMD wave-wide instructions: the wave's size, operands in, results out.
  int32_t waveSize = 0;
  AmdMatrixOp amdOp = AmdMatrixOp::MfmaF32_16x16x16F16;
  AmdMatrixLane amd{};
  WaveShuffleMode waveShuffleMode = WaveShuffleMode::Xor;
  WaveShuffleLane waveShuffle{};

  // The barrier it waits at: bar.sync `barrierId`, over `barrierThreads`
  // threads (0: every live thread of the CTA).
  int32_t barrierId = 0;
  int32_t barrierThreads = 0;
  // The mbarrier phase it waits for (mbarrier.try_wait.parity).
  const void *mbarrier = nullptr;
  int32_t mbarrierParity = 0;

  // cp.async not yet committed, and committed groups oldest first.
  std::vector<AsyncCopy> uncommitted;
  std::deque<std::vector<AsyncCopy>> groups;

  /// Goes back to the scheduler in `state` (from the lane's fiber).
  void wait(State state);
  /// Applies committed groups until at most `pending` are left.
  void waitGroups(size_t pending);
};

/// One thread block: its lanes, shared memory and scheduler.
class Cta {
public:
  Cta(SkimEmuLaneFn fn, const int64_t *args, const int64_t block[3],
      const int64_t dim[3], int64_t sharedBytes);
  ~Cta();

  /// Runs every lane to its end; "" or what went wrong.
  std::string run();

  const int64_t *blockId() const { return block; }
  char *sharedMemory() const { return shared.get(); }
  /// Stops the CTA with `message` (from a lane); the lane never resumes.
  [[noreturn]] void fail(Lane &lane, const std::string &message);

private:
  friend struct Lane;
  static void laneMain(void *lane);
  /// Executes the warp-wide instruction lanes [first, last) wait at, when
  /// all of them do; false (and `error` set) when they disagree.
  bool tryWarp(int first, int last, bool &executed);
  /// The same for a warpgroup-wide instruction (wgmma) over the 128 lanes
  /// from `first`.
  bool tryWarpgroup(int first, bool &executed);
  /// The same for an AMD wave-wide instruction over the wave (32 or 64
  /// lanes, as the instruction says) that starts at lane `first`.
  bool tryWave(int first, bool &executed);
  /// Opens the barriers every participant waits at.
  bool releaseBarriers();
  /// Readies the lanes whose mbarrier phase has completed.
  bool releaseMbarrierWaits();
  std::string describeStates() const;
  std::string where(const Lane &lane) const;

  SkimEmuLaneFn fn;
  const int64_t *args;
  int64_t block[3], dim[3];
  std::unique_ptr<char, void (*)(void *)> shared{nullptr, nullptr};
  int64_t sharedBytes = 0;
  std::vector<Lane> lanes;
  ucontext_t scheduler;
  std::string error;
};

/// Records a process-wide error (the first one wins until takeError()).
void recordError(const std::string &message);

/// Process-wide counters (Counters' fields, in order).
enum class Counter {
  Ctas,
  Barriers,
  Mma,
  Ldmatrix,
  Shfl,
  CpAsync,
  Wgmma,
  Tma,
  Arrivals,
  AmdMatrix,
  WaveShuffle,
  Count
};
void count(Counter c);

} // namespace skim::emu::detail

#endif // SKIM_EMULATOR_CTA_H
