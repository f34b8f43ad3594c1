//===- Manifest.h - a search space compiled for another machine -*- C++ -*-===//
//
// `skim tune --export DIR` compiles every candidate of a variant's pruned
// space and writes this manifest beside the artifacts; `skim-tune-measure`
// (the runtime only: no LLVM) measures them on a GPU machine that has no
// compiler. A line-based text format, so the runtime side needs no JSON
// parser:
//
//   skim-tune-manifest 1
//   variant <name>            target <chip>            bucket <bucket>
//   signature <hex>           skim_version <version>
//   input <name> <dtype> <fill> <kv_block> <q_block> <tokens> <keys> <dims...>
//   candidate <stage> <index> <predicted ms> <artifact | -> <schedule |
//   default> error <stage> <index> <message>
//
//===----------------------------------------------------------------------===//

#ifndef SKIM_AUTOTUNE_MANIFEST_H
#define SKIM_AUTOTUNE_MANIFEST_H

#include "autotune/Measure.h"
#include "autotune/Tuner.h"

#include <string>
#include <vector>

namespace skim::tune {

struct ManifestCandidate {
  std::string stage;
  size_t index = 0;
  double predictedMs = 0;
  /// File name of the artifact in the manifest's folder; empty when the
  /// compile failed (`error` says why).
  std::string artifact;
  std::string error;
  /// `#skim.schedule<...>`, or empty for the default.
  std::string schedule;
};

struct Manifest {
  std::string variant, target, bucket;
  /// The variant's signature and the compiler's version: what
  /// `skim tune --import` checks the measured results against.
  std::string signature, skimVersion;
  std::vector<InputSpec> inputs;
  /// In stage order, each stage's candidates in index order.
  std::vector<ManifestCandidate> candidates;

  std::string serialize() const;
  static skim::rt::Expected<Manifest> parse(const std::string &text);
  /// The stages in order, as the search takes them.
  std::vector<StageCandidates> stages() const;
};

} // namespace skim::tune

#endif // SKIM_AUTOTUNE_MANIFEST_H
