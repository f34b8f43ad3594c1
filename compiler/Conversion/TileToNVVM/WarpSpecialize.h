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

#include <string>

namespace mlir::skim {

/// Registers the producer warpgroup keeps after setmaxnreg.dec.
inline constexpr int64_t kProducerRegisters = 24;

/// The register split of a warp-specialised CTA of `consumers` threads plus
/// one producer warpgroup.
struct RegisterSplit {
  /// CTAs per SM the launch bound leaves room for.
  int64_t ctasPerSM;
  /// Registers per thread at launch (ptxas's .maxnreg).
  int64_t launch;
  /// Registers per consumer thread after setmaxnreg.inc.
  int64_t consumer;
};
RegisterSplit registerSplit(int64_t consumers);

/// Splits `func`'s body, after `bodyStart` (the tile allocs, hoisted above
/// it, stay shared), into `scf.if tid < consumers` (the body as it was) and
/// an else branch where thread `consumers` alone runs the producer slice:
/// the TMA loads of `plan`, the control flow around them and the scalar code
/// their coordinates need. Records the producer's loads in
/// `plan.producerLoads`, the consumer branch in `plan.consumerBranch`.
/// Fails, changing nothing and saying why in `why`, when the slice would
/// read memory other than the kernel's inputs or have any other effect.
bool splitProducer(gpu::GPUFuncOp func, Operation *bodyStart, Value tid,
                   int64_t consumers, FragmentPlan &plan, std::string &why);

/// After the lowering: the consumers' barriers become bar.sync 1 over the
/// consumer threads (the producer never reaches them), and each branch
/// starts with its setmaxnreg.
void finishWarpRoles(gpu::GPUFuncOp func, const FragmentPlan &plan,
                     int64_t consumers, RewriterBase &rewriter);

} // namespace mlir::skim

#endif // SKIM_CONVERSION_TILETONVVM_WARPSPECIALIZE_H
