//===- main.cpp - skim's C API from C++: window attention -----------------===//
//
// Compiles the sliding-window preset for this CPU (or loads it from the JIT
// cache), wraps plain std::vector buffers as DLPack tensors, runs the kernel
// and prints a checksum of the output. Exits non-zero if anything fails or
// the output is not finite.
//
//===----------------------------------------------------------------------===//

#include <skim/skim.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <random>
#include <vector>

namespace {

/// A dense float32 CPU tensor that owns its buffer and shape, and the DLPack
/// view of it that skim borrows (skim never calls the deleter: the tensor
/// stays ours).
struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> data;
  DLManagedTensor managed{};

  explicit Tensor(std::vector<int64_t> dims) : shape(std::move(dims)) {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    data.resize(size_t(n));
    DLTensor &t = managed.dl_tensor;
    t.data = data.data();
    t.device = DLDevice{kDLCPU, 0};
    t.ndim = int32_t(shape.size());
    t.dtype = DLDataType{kDLFloat, 32, 1};
    t.shape = shape.data();
    t.strides = nullptr; // compact row-major
    t.byte_offset = 0;
  }
  Tensor(const Tensor &) = delete;
  Tensor &operator=(const Tensor &) = delete;
};

int fail(const char *what, char *error) {
  std::fprintf(stderr, "skim-window: %s: %s\n", what, error ? error : "(no message)");
  skim_free_string(error);
  return 1;
}

} // namespace

int main() {
  const int64_t batch = 1, seq = 512, hq = 4, hkv = 1, dim = 64;
  std::printf("%s\n", skim_version());

  char *error = nullptr;
  char *mlir = skim_preset("variant=window heads=4/1 dim=64 dtype=f32 window=128", &error);
  if (!mlir)
    return fail("preset", error);
  auto start = std::chrono::steady_clock::now();
  skim_kernel *kernel = skim_compile(mlir, "host", &error);
  skim_free_string(mlir);
  if (!kernel)
    return fail("compile", error);
  std::printf("compiled (or loaded from the cache) in %.0f ms: %d inputs, %d outputs\n",
              std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                  .count(),
              skim_kernel_num_inputs(kernel), skim_kernel_num_outputs(kernel));

  // Q [B, T, Hq, D], K and V [B, S, Hkv, D], seeded and never all zeros.
  Tensor q({batch, seq, hq, dim}), k({batch, seq, hkv, dim}), v({batch, seq, hkv, dim});
  std::mt19937 rng(42);
  std::normal_distribution<float> normal;
  for (Tensor *t : {&q, &k, &v})
    for (float &x : t->data)
      x = normal(rng);
  DLManagedTensor *inputs[] = {&q.managed, &k.managed, &v.managed};

  // Outputs: O [B, T, Hq, D] and LSE [B, Hq, T], shaped as skim asks.
  std::vector<std::unique_ptr<Tensor>> outputs;
  for (int i = 0; i < skim_kernel_num_outputs(kernel); ++i) {
    DLDataType dtype = skim_kernel_output_dtype(kernel, i);
    if (dtype.code != kDLFloat || dtype.bits != 32) {
      skim_kernel_free(kernel);
      std::fprintf(stderr, "skim-window: output #%d is not float32\n", i);
      return 1;
    }
    int64_t shape[8];
    int rank = 0;
    if (skim_kernel_output_shape(kernel, inputs, 3, i, shape, &rank, &error)) {
      skim_kernel_free(kernel);
      return fail("output shape", error);
    }
    outputs.push_back(std::make_unique<Tensor>(std::vector<int64_t>(shape, shape + rank)));
  }
  std::vector<DLManagedTensor *> outputPtrs;
  for (auto &t : outputs)
    outputPtrs.push_back(&t->managed);

  start = std::chrono::steady_clock::now();
  int rc = skim_kernel_run(kernel, inputs, 3, outputPtrs.data(), int(outputPtrs.size()),
                           /*stream=*/nullptr, &error);
  double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  skim_kernel_free(kernel);
  if (rc)
    return fail("run", error);

  double checksum = 0;
  for (float x : outputs[0]->data)
    checksum += x;
  std::printf("ran in %.2f ms; output [%lld, %lld, %lld, %lld], checksum %.6f\n", ms,
              (long long)outputs[0]->shape[0], (long long)outputs[0]->shape[1],
              (long long)outputs[0]->shape[2], (long long)outputs[0]->shape[3], checksum);
  if (!std::isfinite(checksum)) {
    std::fprintf(stderr, "skim-window: the checksum is not finite\n");
    return 1;
  }
  return 0;
}
