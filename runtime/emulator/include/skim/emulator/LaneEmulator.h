//===- LaneEmulator.h - NVIDIA kernels' lanes on the CPU --------*- C++ -*-===//
//
// The runtime of the lane emulator (docs/LaneEmulator.md). `skim-emulate-lanes`
// turns every gpu.func into a CPU function of one lane, plus a function of
// one grid block that calls skim_emu_run_cta: the CTA's threads then run as
// cooperative fibers on the calling thread, each until it reaches a barrier,
// a warp-wide instruction or its end. A barrier lets the CTA go on when every
// live thread has reached it; a warp-wide instruction (mma.sync, ldmatrix,
// shfl.sync, bar.warp.sync) executes when the whole warp has reached the same
// one, through the PTX ISA semantics of Warp.h. Anything else (a warp that
// disagrees on the instruction, a barrier no thread can leave) stops the CTA
// and records an error, which takeError() returns.
//
// The kernels' calls resolve against this library when the CPU runtime
// dlopens them, so a process that runs emulated artifacts links it (it is a
// shared library for that reason). No LLVM.
//
//===----------------------------------------------------------------------===//

#ifndef SKIM_EMULATOR_LANEEMULATOR_H
#define SKIM_EMULATOR_LANEEMULATOR_H

#include <cstdint>
#include <string>

extern "C" {

/// One lane of a kernel: `args` are the kernel's arguments as 64-bit words
/// (pointers and indices), `lane` the emulator's handle for this thread.
typedef void (*SkimEmuLaneFn)(const int64_t *args, void *lane);

/// Runs grid block (bx, by, bz) of a kernel with blockDim (dx, dy, dz) and
/// `sharedBytes` of dynamic shared memory (filled with 0xff bytes first, so
/// reading what no thread wrote gives NaN).
void skim_emu_run_cta(SkimEmuLaneFn fn, const int64_t *args, int64_t bx,
                      int64_t by, int64_t bz, int64_t dx, int64_t dy,
                      int64_t dz, int64_t sharedBytes);

// What a lane calls. `dim` is 0, 1, 2 for x, y, z.
int64_t skim_emu_thread_id(void *lane, int32_t dim);
int64_t skim_emu_block_id(void *lane, int32_t dim);
int64_t skim_emu_lane_id(void *lane);
void *skim_emu_shared(void *lane);
/// bar.sync 0: the whole CTA.
void skim_emu_barrier(void *lane);
/// bar.sync id, threads: a named barrier of `threads` threads (a producer
/// warpgroup's consumers).
void skim_emu_named_barrier(void *lane, int32_t id, int32_t threads);
/// bar.warp.sync with a member mask.
void skim_emu_warp_sync(void *lane, int32_t memberMask);
/// mma.sync.aligned.m16n8k16.row.col.f32.<t>.<t>.f32, t = skim::emu::MmaType;
/// d receives the four f32 of D.
void skim_emu_mma_m16n8k16(void *lane, int32_t type, int32_t a0, int32_t a1,
                           int32_t a2, int32_t a3, int32_t b0, int32_t b1,
                           float c0, float c1, float c2, float c3, float *d);
/// wgmma.mma_async.sync.aligned.m64n<n>k16.f32.<t>.<t> d, {a0..a3}, descB,
/// 1, 1, 1, transB (t = skim::emu::MmaType): a warpgroup-wide instruction
/// of the 128 threads of warps 4w..4w+3. `d` holds the n/2 accumulators on
/// entry and D on return. The fence, commit and wait around it are no-ops
/// here: D is computed when the warpgroup has arrived.
void skim_emu_wgmma(void *lane, int32_t type, int32_t n, int32_t transB,
                    int64_t descB, int32_t a0, int32_t a1, int32_t a2,
                    int32_t a3, float *d);
/// An AMD matrix instruction (AmdWave.h's AmdMatrixOp `op`) for the lane's
/// wave: A and B as the intrinsic's 16-bit items, C in and D out in `c`.
void skim_emu_amd_matrix(void *lane, int32_t op, const uint16_t *a,
                         const uint16_t *b, float *c);
/// gpu.shuffle over a wave of `waveSize` lanes (mode: xor, up, down, idx):
/// the value in the low 32 bits, valid in bit 32.
int64_t skim_emu_wave_shuffle(void *lane, int32_t waveSize, int32_t mode,
                              int32_t value, int32_t offset, int32_t width);
/// ldmatrix.sync.aligned.m8n8.x<num>[.trans].shared.b16 with this lane's row
/// address; out receives `num` registers.
void skim_emu_ldmatrix(void *lane, const void *row, int32_t num, int32_t trans,
                       int32_t *out);
/// shfl.sync.<mode>.b32 (mode = skim::emu::ShflMode): the value in the low 32
/// bits of the result, the predicate in bit 32.
int64_t skim_emu_shfl(void *lane, int32_t mode, int32_t memberMask,
                      int32_t value, int32_t b, int32_t c);
/// cp.async.shared.global of `bytes` (4, 8 or 16), reading `srcBytes` of
/// them and zero-filling the rest. The copy lands when a wait_group covers
/// it, not before: a kernel that reads its data without waiting reads
/// what was there.
void skim_emu_cp_async(void *lane, void *dst, const void *src, int32_t bytes,
                       int32_t srcBytes);
void skim_emu_cp_async_commit(void *lane);
void skim_emu_cp_async_wait(void *lane, int32_t pending);
/// ex2.approx.f32 and lg2.approx.f32, exactly (the hardware is within 2 ulp).
float skim_emu_ex2(float x);
float skim_emu_lg2(float x);

} // extern "C"

namespace skim::emu {

/// The first error since the last call ("" if none), and clears it. Errors
/// are process-wide: CTAs run on any thread of the CPU runtime's pool.
std::string takeError();

/// Statistics since the last call, for tests that want to know a path ran:
/// warp-wide instructions executed (counted once per warp) by kind.
struct Counters {
  int64_t ctas = 0, barriers = 0, mma = 0, ldmatrix = 0, shfl = 0,
          cpAsync = 0, wgmma = 0, tma = 0;
  /// Plain mbarrier arrivals: consumers releasing a tile to a producer.
  int64_t arrivals = 0;
  /// AMD: MFMA/WMMA instructions and gpu.shuffle, counted once per wave.
  int64_t amdMatrix = 0, waveShuffle = 0;
};
Counters takeCounters();

} // namespace skim::emu

#endif // SKIM_EMULATOR_LANEEMULATOR_H
