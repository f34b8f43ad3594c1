//===- Cta.cpp - one CTA of emulated threads ------------------------------===//
//
// The scheduler runs every ready lane until it blocks, then releases what
// can be released: a warp whose live lanes all wait at the same warp-wide
// instruction executes it, and a barrier opens when every live lane of the
// CTA waits at it. Lanes run one at a time in thread order, each as far as
// it can, so a lane that reads shared memory another lane has not written
// yet (a missing barrier) reads the 0xff poison or stale data and the
// kernel's result shows it. If nothing is ready and nothing can be
// released, the CTA is stuck: that is an error naming where each lane is.
//
//===----------------------------------------------------------------------===//

#include "Cta.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <sstream>

using namespace skim::emu;
using namespace skim::emu::detail;

const char *skim::emu::detail::warpOpName(WarpOp op) {
  switch (op) {
  case WarpOp::Mma:
    return "mma.sync";
  case WarpOp::Ldmatrix:
    return "ldmatrix";
  case WarpOp::Shfl:
    return "shfl.sync";
  case WarpOp::Sync:
    return "bar.warp.sync";
  case WarpOp::Wgmma:
    return "wgmma.mma_async";
  case WarpOp::AmdMatrix:
    return "mfma/wmma";
  case WarpOp::WaveShuffle:
    return "gpu.shuffle (wave)";
  }
  return "?";
}

void AsyncCopy::apply() const {
  // src is not read past srcBytes: a zero-filling copy may point anywhere.
  std::memcpy(dst, src, size_t(srcBytes));
  std::memset(static_cast<char *>(dst) + srcBytes, 0, size_t(bytes - srcBytes));
}

void Lane::wait(State s) {
  state = s;
  fiber.suspend(&cta->scheduler);
}

void Lane::waitGroups(size_t pending) {
  while (groups.size() > pending) {
    for (const AsyncCopy &c : groups.front())
      c.apply();
    groups.pop_front();
  }
}

Cta::Cta(SkimEmuLaneFn fn, const int64_t *args, const int64_t blockId[3],
         const int64_t blockDim[3], int64_t sharedBytes)
    : fn(fn), args(args) {
  for (int d = 0; d < 3; ++d) {
    block[d] = blockId[d];
    dim[d] = blockDim[d];
  }
  // At least one line, so the kernel always gets a valid pointer. Aligned
  // to the 256 KiB a wgmma descriptor's 14-bit start address (>> 4) spans,
  // so that those bits of a pointer are its offset in the buffer, as of a
  // shared-memory address on the GPU.
  constexpr size_t kSharedWindow = size_t(1) << 18;
  size_t bytes =
      (size_t(std::max<int64_t>(sharedBytes, 1)) + kSharedWindow - 1) /
      kSharedWindow * kSharedWindow;
  this->sharedBytes = sharedBytes;
  shared = {static_cast<char *>(std::aligned_alloc(kSharedWindow, bytes)),
            std::free};
  std::memset(shared.get(), 0xff, bytes);
  lanes = std::vector<Lane>(size_t(dim[0] * dim[1] * dim[2]));
  for (size_t i = 0; i < lanes.size(); ++i) {
    Lane &l = lanes[i];
    l.cta = this;
    l.linear = int(i);
    l.tid[0] = int64_t(i) % dim[0];
    l.tid[1] = int64_t(i) / dim[0] % dim[1];
    l.tid[2] = int64_t(i) / (dim[0] * dim[1]);
  }
}

Cta::~Cta() = default;

void Cta::laneMain(void *arg) {
  auto &lane = *static_cast<Lane *>(arg);
  lane.cta->fn(lane.cta->args, &lane);
  // Copies still in flight land before the thread is gone (PTX leaves this
  // open; nobody can read them through this lane any more).
  lane.groups.emplace_back(std::move(lane.uncommitted));
  lane.waitGroups(0);
  lane.state = Lane::State::Done;
}

void Cta::fail(Lane &lane, const std::string &message) {
  error = where(lane) + ": " + message;
  lane.fiber.suspend(&scheduler);
  std::abort(); // never resumed
}

std::string Cta::where(const Lane &lane) const {
  std::ostringstream os;
  os << "block (" << block[0] << ", " << block[1] << ", " << block[2]
     << ") thread (" << lane.tid[0] << ", " << lane.tid[1] << ", "
     << lane.tid[2] << ")";
  return os.str();
}

std::string Cta::describeStates() const {
  std::ostringstream os;
  for (size_t w = 0; w * kWarpSize < lanes.size(); ++w) {
    os << "\n  warp " << w << ":";
    size_t end = std::min(lanes.size(), (w + 1) * kWarpSize);
    for (size_t i = w * kWarpSize; i < end; ++i) {
      const Lane &l = lanes[i];
      os << " " << i << "=";
      switch (l.state) {
      case Lane::State::Ready:
        os << "ready";
        break;
      case Lane::State::AtBarrier:
        os << "barrier";
        if (l.barrierThreads)
          os << "(" << l.barrierId << "," << l.barrierThreads << ")";
        break;
      case Lane::State::AtMbarrier:
        os << "mbarrier@" << (static_cast<const char *>(l.mbarrier) - shared.get());
        break;
      case Lane::State::AtWarpOp:
        os << warpOpName(l.op);
        break;
      case Lane::State::Done:
        os << "exited";
        break;
      }
    }
  }
  return os.str();
}

bool Cta::tryWarp(int first, int last, bool &executed) {
  executed = false;
  int waiting = 0, done = 0;
  for (int i = first; i < last; ++i) {
    waiting += lanes[i].state == Lane::State::AtWarpOp;
    done += lanes[i].state == Lane::State::Done;
  }
  if (waiting == 0 || waiting + done < last - first)
    return true; // nobody waits, or some lane is still on its way
  int leadIndex = first;
  while (lanes[leadIndex].state != Lane::State::AtWarpOp)
    ++leadIndex;
  Lane &lead = lanes[leadIndex];
  if (lead.op == WarpOp::Wgmma || lead.op == WarpOp::AmdMatrix ||
      lead.op == WarpOp::WaveShuffle)
    return true; // tryWarpgroup's or tryWave's
  std::ostringstream why;
  for (int i = first; i < last && why.str().empty(); ++i) {
    const Lane &l = lanes[i];
    if (l.state == Lane::State::Done) {
      if (lead.op != WarpOp::Shfl && lead.op != WarpOp::Sync)
        why << "thread " << i << " exited while its warp waits at "
            << warpOpName(lead.op);
      continue;
    }
    if (l.op != lead.op)
      why << "threads " << lead.linear << " and " << i
          << " of one warp wait at different instructions: "
          << warpOpName(lead.op) << " and " << warpOpName(l.op);
    else if (l.op == WarpOp::Mma && l.mmaType != lead.mmaType)
      why << "mma.sync with different types in one warp";
    else if (l.op == WarpOp::Ldmatrix &&
             (l.num != lead.num || l.trans != lead.trans))
      why << "ldmatrix with different .num or .trans in one warp";
    else if (l.op == WarpOp::Shfl && l.shflMode != lead.shflMode)
      why << "shfl.sync with different modes in one warp";
  }
  if ((lead.op == WarpOp::Mma || lead.op == WarpOp::Ldmatrix) &&
      last - first != kWarpSize && why.str().empty())
    why << warpOpName(lead.op) << " in a warp of " << last - first
        << " threads (the block size is not a multiple of 32)";
  if (!why.str().empty()) {
    error = where(lead) + ": " + why.str();
    return false;
  }

  Lane *warp = &lanes[first];
  int size = last - first;
  switch (lead.op) {
  case WarpOp::Mma: {
    MmaLane in[kWarpSize];
    float out[kWarpSize][4];
    for (int l = 0; l < kWarpSize; ++l)
      in[l] = warp[l].mma;
    mmaM16n8k16(lead.mmaType, in, out);
    for (int l = 0; l < kWarpSize; ++l)
      std::memcpy(warp[l].mmaOut, out[l], sizeof(out[l]));
    count(Counter::Mma);
    break;
  }
  case WarpOp::Ldmatrix: {
    const void *rows[kWarpSize];
    uint32_t out[kWarpSize][4];
    for (int l = 0; l < kWarpSize; ++l)
      rows[l] = warp[l].row;
    for (int l = 0; l < 8 * lead.num; ++l)
      if (!rows[l]) {
        error = where(warp[l]) + ": ldmatrix row address is null";
        return false;
      }
    ldmatrixM8n8B16(lead.num, lead.trans, rows, out);
    for (int l = 0; l < kWarpSize; ++l)
      std::memcpy(warp[l].ldOut, out[l], sizeof(out[l]));
    count(Counter::Ldmatrix);
    break;
  }
  case WarpOp::Shfl: {
    ShflLane in[kWarpSize] = {};
    ShflResult out[kWarpSize] = {};
    uint32_t present = 0;
    for (int l = 0; l < size; ++l) {
      if (warp[l].state != Lane::State::AtWarpOp)
        continue;
      in[l] = warp[l].shfl;
      present |= 1u << l;
      // "The behavior of shfl.sync is undefined if the executing thread is
      // not in the membermask."
      if (!(warp[l].memberMask >> l & 1)) {
        error = where(warp[l]) + ": shfl.sync by a thread outside its "
                                 "membermask";
        return false;
      }
    }
    if (!shflSync(lead.shflMode, in, present, out)) {
      error = where(lead) + ": shfl.sync reads a thread that exited or does "
                            "not exist";
      return false;
    }
    for (int l = 0; l < size; ++l)
      warp[l].shflOut = out[l];
    count(Counter::Shfl);
    break;
  }
  case WarpOp::Sync:
    break;
  case WarpOp::Wgmma:
  case WarpOp::AmdMatrix:
  case WarpOp::WaveShuffle:
    break; // tryWarpgroup's or tryWave's (returned above)
  }
  for (int i = first; i < last; ++i)
    if (lanes[i].state == Lane::State::AtWarpOp)
      lanes[i].state = Lane::State::Ready;
  executed = true;
  return true;
}

bool Cta::tryWarpgroup(int first, bool &executed) {
  executed = false;
  int n = int(lanes.size());
  int last = std::min(n, first + kWarpgroupSize);
  int waiting = 0;
  for (int i = first; i < last; ++i)
    waiting +=
        lanes[i].state == Lane::State::AtWarpOp && lanes[i].op == WarpOp::Wgmma;
  if (waiting == 0)
    return true;
  Lane *group = &lanes[first];
  Lane &lead = *std::find_if(group, group + (last - first), [](const Lane &l) {
    return l.state == Lane::State::AtWarpOp && l.op == WarpOp::Wgmma;
  });
  std::ostringstream why;
  if (last - first != kWarpgroupSize)
    why << "wgmma in a warpgroup of " << last - first
        << " threads (the block is not a multiple of 128)";
  for (int i = first; i < last && why.str().empty(); ++i) {
    const Lane &l = lanes[i];
    if (l.state == Lane::State::Done)
      why << "thread " << i << " exited while its warpgroup waits at wgmma";
    else if (l.state != Lane::State::AtWarpOp)
      return true; // still on its way
    else if (l.op != WarpOp::Wgmma)
      why << "threads " << lead.linear << " and " << i
          << " of one warpgroup wait at wgmma and " << warpOpName(l.op);
    else if (l.mmaType != lead.mmaType || l.wgmmaN != lead.wgmmaN ||
             l.wgmmaTransB != lead.wgmmaTransB || l.wgmmaDesc != lead.wgmmaDesc)
      why << "wgmma with different shapes, types or descriptors in one "
             "warpgroup";
  }
  if (!why.str().empty()) {
    error = where(lead) + ": " + why.str();
    return false;
  }
  std::vector<WgmmaLane> in(kWarpgroupSize);
  for (int t = 0; t < kWarpgroupSize; ++t)
    in[t] = group[t].wgmma;
  if (!wgmmaM64nNk16(lead.mmaType, lead.wgmmaN, lead.wgmmaDesc,
                     lead.wgmmaTransB, shared.get(), sharedBytes, in.data())) {
    error = where(lead) + ": wgmma's B descriptor (swizzle mode, or offsets "
                          "past the shared memory) is not one the emulator "
                          "reads";
    return false;
  }
  for (int t = 0; t < kWarpgroupSize; ++t) {
    group[t].wgmma = in[t];
    group[t].state = Lane::State::Ready;
  }
  count(Counter::Wgmma);
  executed = true;
  return true;
}

bool Cta::tryWave(int first, bool &executed) {
  executed = false;
  int n = int(lanes.size());
  // The first lane of the wave that waits at a wave-wide instruction (the
  // lanes before it may have exited); the instruction gives the wave size.
  auto waiting = [](const Lane &l) {
    return l.state == Lane::State::AtWarpOp &&
           (l.op == WarpOp::AmdMatrix || l.op == WarpOp::WaveShuffle);
  };
  int leadIndex = first;
  while (leadIndex < std::min(n, first + kMaxWaveSize) &&
         !waiting(lanes[leadIndex]))
    ++leadIndex;
  if (leadIndex == std::min(n, first + kMaxWaveSize))
    return true;
  Lane &lead = lanes[leadIndex];
  int size = lead.waveSize;
  if (first % size != 0 || leadIndex >= first + size)
    return true; // the wave starts elsewhere
  std::ostringstream why;
  if (first + size > n)
    why << warpOpName(lead.op) << " in a wave of " << n - first
        << " threads (the block is not a whole number of " << size
        << "-lane waves)";
  bool present[kMaxWaveSize] = {};
  for (int i = first; i < first + size && i < n && why.str().empty(); ++i) {
    const Lane &l = lanes[i];
    if (l.state == Lane::State::Done) {
      if (lead.op == WarpOp::AmdMatrix)
        why << "thread " << i << " exited while its wave waits at "
            << warpOpName(lead.op);
      continue;
    }
    if (l.state != Lane::State::AtWarpOp)
      return true; // still on its way
    if (l.op != lead.op || l.waveSize != lead.waveSize)
      why << "threads " << first << " and " << i
          << " of one wave wait at different instructions: "
          << warpOpName(lead.op) << " and " << warpOpName(l.op);
    else if (l.op == WarpOp::AmdMatrix && l.amdOp != lead.amdOp)
      why << "different matrix instructions in one wave";
    else if (l.op == WarpOp::WaveShuffle &&
             l.waveShuffleMode != lead.waveShuffleMode)
      why << "gpu.shuffle with different modes in one wave";
    present[i - first] = true;
  }
  Lane *wave = &lanes[first];
  std::string failure;
  if (why.str().empty() && lead.op == WarpOp::AmdMatrix) {
    AmdMatrixLane in[kMaxWaveSize];
    for (int l = 0; l < size; ++l)
      in[l] = wave[l].amd;
    if (amdMatrix(lead.amdOp, in, failure))
      for (int l = 0; l < size; ++l)
        wave[l].amd = in[l];
    count(Counter::AmdMatrix);
  } else if (why.str().empty()) {
    WaveShuffleLane in[kMaxWaveSize] = {};
    for (int l = 0; l < size; ++l)
      if (present[l])
        in[l] = wave[l].waveShuffle;
    if (waveShuffle(lead.waveShuffleMode, size, present, in, failure))
      for (int l = 0; l < size; ++l)
        wave[l].waveShuffle = in[l];
    count(Counter::WaveShuffle);
  }
  why << failure;
  if (!why.str().empty()) {
    error = where(lead) + ": " + why.str();
    return false;
  }
  for (int i = first; i < first + size; ++i)
    if (lanes[i].state == Lane::State::AtWarpOp)
      lanes[i].state = Lane::State::Ready;
  executed = true;
  return true;
}

std::string Cta::run() {
  count(Counter::Ctas);
  for (Lane &l : lanes)
    l.fiber.start(&Cta::laneMain, &l, &scheduler);
  int n = int(lanes.size());
  while (true) {
    bool progress = false;
    for (Lane &l : lanes) {
      if (l.state != Lane::State::Ready)
        continue;
      l.fiber.resume(&scheduler);
      progress = true;
      if (!error.empty())
        return error;
    }
    for (int first = 0; first < n; first += kWarpSize) {
      bool executed;
      if (!tryWarp(first, std::min(n, first + kWarpSize), executed))
        return error;
      progress |= executed;
    }
    // One warpgroup's wgmma a round: its threads then run on (thread 0
    // issuing the next copy, say) while the other warpgroups still wait at
    // theirs, so a missing barrier between warpgroups shows.
    bool ranWarpgroup = false;
    for (int first = 0; first < n && !ranWarpgroup; first += kWarpgroupSize) {
      if (!tryWarpgroup(first, ranWarpgroup))
        return error;
      progress |= ranWarpgroup;
    }
    for (int first = 0; first < n; first += kWarpSize) {
      bool executed;
      if (!tryWave(first, executed))
        return error;
      progress |= executed;
    }
    if (std::all_of(lanes.begin(), lanes.end(), [](const Lane &l) { return l.state == Lane::State::Done; }))
      return "";
    progress |= releaseBarriers();
    progress |= releaseMbarrierWaits();
    if (!error.empty())
      return error;
    if (!progress) {
      std::ostringstream os;
      os << "block (" << block[0] << ", " << block[1] << ", " << block[2]
         << ") is stuck: no thread can go on (a barrier or warp-wide "
            "instruction that not every thread reaches). Threads:"
         << describeStates();
      return os.str();
    }
  }
}

bool Cta::releaseBarriers() {
  // bar.sync 0 without a count waits for every live thread; a named barrier
  // (an id and a thread count) opens when that many threads wait at it.
  int live = 0;
  int waiting[kNamedBarriers] = {}, full = 0;
  for (const Lane &l : lanes) {
    live += l.state != Lane::State::Done;
    if (l.state != Lane::State::AtBarrier)
      continue;
    if (l.barrierThreads)
      ++waiting[l.barrierId];
    else
      ++full;
  }
  bool released = false;
  // Exited threads no longer count at a barrier.
  if (full && full == live) {
    for (Lane &l : lanes)
      if (l.state == Lane::State::AtBarrier)
        l.state = Lane::State::Ready;
    count(Counter::Barriers);
    return true;
  }
  for (int id = 0; id < kNamedBarriers; ++id) {
    if (!waiting[id])
      continue;
    int threads = 0;
    for (const Lane &l : lanes)
      if (l.state == Lane::State::AtBarrier && l.barrierThreads &&
          l.barrierId == id) {
        if (threads && l.barrierThreads != threads) {
          error = where(l) + ": bar.sync " + std::to_string(id) +
                  " with different thread counts";
          return false;
        }
        threads = l.barrierThreads;
      }
    if (waiting[id] > threads) {
      error = "bar.sync " + std::to_string(id) + " for " +
              std::to_string(threads) + " threads reached by " +
              std::to_string(waiting[id]);
      return false;
    }
    if (waiting[id] < threads)
      continue;
    for (Lane &l : lanes)
      if (l.state == Lane::State::AtBarrier && l.barrierThreads &&
          l.barrierId == id)
        l.state = Lane::State::Ready;
    count(Counter::Barriers);
    released = true;
  }
  return released;
}

bool Cta::releaseMbarrierWaits() {
  bool released = false;
  for (Lane &l : lanes)
    if (l.state == Lane::State::AtMbarrier &&
        static_cast<const Mbarrier *>(l.mbarrier)->completed(l.mbarrierParity)) {
      l.state = Lane::State::Ready;
      released = true;
    }
  return released;
}
