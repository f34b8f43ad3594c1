//===- RunOptions.h - what a caller may ask of one run ----------*- C++ -*-===//

#ifndef SKIM_RUNTIME_RUNOPTIONS_H
#define SKIM_RUNTIME_RUNOPTIONS_H

namespace skim::rt {

/// Options of CpuExecutable::run and GpuExecutable::run.
struct RunOptions {
  /// Check selection indices before launching: an entry that is neither −1
  /// nor a KV block is an error instead of being skipped as padding. On a
  /// GPU this copies the indices to the host and waits for the stream.
  bool validateIndices = false;
};

} // namespace skim::rt

#endif // SKIM_RUNTIME_RUNOPTIONS_H
