//===- WarpSpecialize.h - a TMA producer warpgroup and its consumers -*- C++
//-*-===//
//
// FlashAttention-3's split of a Hopper kernel: the CTA gains one warpgroup
// whose first thread does nothing but issue the TMA copies, while the
// warpgroups that were there (the consumers) run the kernel without issuing
// any. The producer runs a slice of the kernel (its loops, and what the
// copies' coordinates need) and waits on a second mbarrier per TMA tile that
// the consumers arrive at when they are done with the tile; registers move
// from the producer to the consumers with setmaxnreg.
//
//===----------------------------------------------------------------------===//

#ifndef SKIM_CONVERSION_TILETONVVM_WARPSPECIALIZE_H
#define SKIM_CONVERSION_TILETONVVM_WARPSPECIALIZE_H

#include "FragmentLowering.h"

#include <optional>
#include <string>

namespace mlir::skim {

/// Threads of a warpgroup: the producer's, and the unit of the consumers.
inline constexpr int64_t kWarpgroupThreads = 128;

/// The register split of a warp-specialised CTA of `consumers` threads plus
/// one producer warpgroup.
struct RegisterSplit {
  /// Registers per thread at launch (ptxas's .maxnreg): what setmaxnreg
  /// redistributes, so the CTA's launch allocation must cover the split.
  int64_t launch;
  /// Registers per producer thread after setmaxnreg.dec.
  int64_t producer;
  /// Registers per consumer thread after setmaxnreg.inc.
  int64_t consumer;
};

/// `--warp-specialize`'s split: the producer keeps 24 registers; one
/// consumer warpgroup leaves room for two CTAs per SM, more for one (as
/// FlashAttention-3 runs), and the consumers take the rest.
RegisterSplit defaultRegisterSplit(int64_t consumers);

/// A schedule's split (`#skim.sm90<producer_regs, consumer_regs>`): the
/// launch count is their per-thread average, rounded up to 8. Fails, saying
/// why, when the producer would keep more than the consumers or one CTA
/// would not fit an SM's 65536 registers.
std::optional<RegisterSplit> registerSplit(int64_t consumers,
                                           int64_t producerRegs,
                                           int64_t consumerRegs,
                                           std::string &why);

/// Splits `func`'s body, after `bodyStart` (the tile allocs, hoisted above
/// it, stay shared), into `scf.if tid < consumers` (the body as it was) and
/// an else branch where thread `consumers` alone runs the producer slice:
/// the TMA loads of `plan`, the control flow around them and the scalar code
/// their coordinates need. Records the producer's loads in
/// `plan.producerLoads`, the consumer branch in `plan.consumerBranch`.
/// Fails, saying why in `why` (having at most hoisted the allocs), when the
/// slice would read memory other than the kernel's inputs or have any other
/// effect.
bool splitProducer(gpu::GPUFuncOp func, Operation *bodyStart, Value tid,
                   int64_t consumers, FragmentPlan &plan, std::string &why);

/// After the lowering: the consumers' barriers become bar.sync 1 over the
/// consumer threads (the producer never reaches them), and each branch
/// starts with its setmaxnreg.
void finishWarpRoles(gpu::GPUFuncOp func, const FragmentPlan &plan,
                     int64_t consumers, const RegisterSplit &split,
                     RewriterBase &rewriter);

} // namespace mlir::skim

#endif // SKIM_CONVERSION_TILETONVVM_WARPSPECIALIZE_H
