//===- Measure.h - timing a compiled variant on a device --------*- C++ -*-===//
//
// What the tuner measures with (ARCHITECTURE.md §5): random inputs made once
// per search, in as many copies as it takes to pass the last-level cache,
// used in turn so that no run finds its inputs cached by the one before;
// warm-up runs, then the median of timed repeats (device events on a GPU, a
// steady clock on the CPU). Links the runtime only.
//
//===----------------------------------------------------------------------===//

#ifndef SKIM_AUTOTUNE_MEASURE_H
#define SKIM_AUTOTUNE_MEASURE_H

#include "skim/runtime/Artifact.h"
#include "skim/runtime/Device.h"
#include "skim/runtime/Plan.h"
#include "skim/runtime/ThreadPool.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace skim::tune {

/// How one input is filled.
struct InputSpec {
  enum class Fill {
    /// Uniform in [-1, 1].
    Signed,
    /// Uniform in [0, 1] (gates).
    Unit,
    /// Selection indices [B, tiles, H', n]: for each row, n distinct random
    /// KV blocks the row's last token may see (causal), -1 past them.
    Selection,
    /// Selection counts [B, tiles, H']: n, or fewer where fewer blocks are
    /// visible.
    Counts,
  };
  std::string name;
  skim::rt::DType dtype = skim::rt::DType::F32;
  std::vector<int64_t> shape;
  Fill fill = Fill::Signed;
  /// Selection and Counts: keys a block, tokens a selection row, and the
  /// query and key token counts the causal rule compares.
  int64_t kvBlock = 64, qBlock = 1, tokens = 0, keys = 0;
};

struct MeasureOptions {
  /// Untimed runs first (module load, workspace, clocks).
  int warmup = 2;
  /// Timed runs; the median is the result.
  int repeats = 7;
  /// Stop repeating once a configuration has taken this long (after three
  /// timed runs, or one when it has taken three times as long); a warm-up
  /// run longer than a quarter of it ends the warm-up.
  double maxSecondsPerConfig = 2.0;
  /// Input copies are made until they pass this many bytes (two H200 L2s
  /// by default), at most 8.
  size_t rotateBytes = size_t(100) << 20;
  uint64_t seed = 1;
};

/// The host values of `spec`, in its dtype (deterministic in `seed`).
std::vector<char> makeInput(const InputSpec &spec, uint64_t seed);

/// Times artifacts of one variant on one device with one set of inputs.
class Measurer {
public:
  /// Makes the input copies on `device` (a CPU device keeps them on the
  /// host). Fails naming what could not be allocated or copied.
  static skim::rt::Expected<std::unique_ptr<Measurer>>
  create(skim::rt::Device &device, std::vector<InputSpec> inputs,
         MeasureOptions options);
  ~Measurer();

  /// The median milliseconds of the artifact, or why it could not run
  /// (load, launch, or a plan that does not take these inputs).
  skim::rt::Expected<double> measure(const std::string &artifactBytes);

  /// Input copies in rotation.
  size_t copies() const { return sets.size(); }

private:
  Measurer(skim::rt::Device &device, MeasureOptions options)
      : device(device), options(options) {}
  struct Buffer {
    skim::rt::DevicePtr device = 0;
    std::vector<char> host;
    void *data() {
      return device ? reinterpret_cast<void *>(device) : host.data();
    }
  };
  skim::rt::Device &device;
  MeasureOptions options;
  std::vector<InputSpec> specs;
  std::vector<std::vector<Buffer>> sets;
  std::vector<Buffer> outputs;
  std::vector<std::vector<int64_t>> outputShapes;
  std::unique_ptr<skim::rt::ThreadPool> pool;
  size_t next = 0;
};

} // namespace skim::tune

#endif // SKIM_AUTOTUNE_MEASURE_H
