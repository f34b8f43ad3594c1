/*===- skim.h - skim's C API --------------------------------------*- C -*-===*
 *
 * Compile a block-sparse attention variant for a device (compiled once, then
 * served from the JIT cache), or load one compiled earlier, and launch it on
 * DLPack tensors. Every function that can fail returns NULL or non-zero and
 * sets *error to a message the caller frees with skim_free_string.
 *
 * Two libraries implement it: libskim.so (compiler and runtime) and
 * libskim_runtime.so (runtime only, no LLVM: for GPU machines that only run
 * artifacts compiled elsewhere), whose skim_preset and skim_compile fail
 * with a message saying so.
 *
 *===----------------------------------------------------------------------===*/

#ifndef SKIM_SKIM_H
#define SKIM_SKIM_H

#include <dlpack/dlpack.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define SKIM_API __attribute__((visibility("default")))
#else
#define SKIM_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct skim_kernel skim_kernel;

/* "skim 0.1.0", or "skim 0.1.0 (runtime only)" from libskim_runtime.so. */
SKIM_API const char *skim_version(void);

/* The MLIR of a preset, from "key=value" words: variant=nsa|moba|window|causal
 * heads=64/4 dim=128 dv=128 dtype=f32|bf16|f16 window=512 sink=0 block=512
 * top_k=3 cmp_block=32 cmp_stride=16 sel_block=64 selected=16. */
SKIM_API char *skim_preset(const char *spec, char **error);

/* Compiles `mlir` (one variant function) for `target` ("host", the
 * default when NULL, or an NVIDIA target: "sm_80", "sm_90", "sm_90a"), or
 * loads it from the cache ($SKIM_CACHE_DIR, default ~/.cache/skim). */
SKIM_API skim_kernel *skim_compile(const char *mlir, const char *target, char **error);

/* As skim_compile, for the sizes the kernel will run at: stages without a
 * schedule get the ones `skim tune` stored for this machine's device of the
 * target's kind and the sizes' bucket (tuning cache: $SKIM_TUNING_DIR, else
 * $SKIM_CACHE_DIR/tuning, else ~/.cache/skim/tuning), else the target's
 * defaults. key_tokens 0 means as many as tokens. */
SKIM_API skim_kernel *skim_compile_tuned(const char *mlir, const char *target,
                                         int64_t batch, int64_t tokens,
                                         int64_t key_tokens, char **error);

/* Loads a compiled artifact: a file from `skim compile -o`, or its bytes.
 * Needs no compiler. A GPU artifact needs no driver until its first run,
 * which loads its image on the tensors' device. */
SKIM_API skim_kernel *skim_load(const char *path, char **error);
SKIM_API skim_kernel *skim_load_bytes(const void *data, size_t size, char **error);

/* A GPU kernel frees its workspace and unloads its image: the streams that
 * ran it must have finished. */
SKIM_API void skim_kernel_free(skim_kernel *kernel);

/* The DLPack device type the kernel runs on (kDLCPU, kDLCUDA or kDLROCM;
 * -1 for NULL), and its artifact's target ("host:<triple>:<cpu>:<features>",
 * "sm_90", ...; owned by the kernel). */
SKIM_API int skim_kernel_device_type(const skim_kernel *kernel);
SKIM_API const char *skim_kernel_target(const skim_kernel *kernel);

SKIM_API int skim_kernel_num_inputs(const skim_kernel *kernel);
SKIM_API int skim_kernel_num_outputs(const skim_kernel *kernel);
/* The DLPack dtype of output `index`; bits = 0 when there is no such
 * output (or the kernel is NULL). */
SKIM_API DLDataType skim_kernel_output_dtype(const skim_kernel *kernel, int index);

/* The shape of output `index` for these inputs; *rank receives its rank
 * (shape must hold 8 entries). Returns 0 on success. */
SKIM_API int skim_kernel_output_shape(const skim_kernel *kernel,
                             DLManagedTensor *const *inputs, int num_inputs,
                             int index, int64_t *shape, int *rank, char **error);

/* Memory a run with these inputs takes beside the caller's tensors: the
 * kernel's workspace, allocated once per stream and kept for later runs.
 * Returns 0 on success. */
SKIM_API int skim_kernel_workspace_bytes(const skim_kernel *kernel,
                                DLManagedTensor *const *inputs, int num_inputs,
                                uint64_t *bytes, char **error);

/* Launches on the tensors' device, which must be the kernel's kind (a CPU
 * kernel takes kDLCPU tensors; a CUDA kernel kDLCUDA or kDLCUDAManaged
 * tensors, all of one device_id); outputs must already have the shapes of
 * skim_kernel_output_shape. On the CPU the run has finished when the call
 * returns and `stream` is ignored. On a GPU `stream` is a CUstream (or
 * hipStream_t) of that device, NULL for the default stream; the call returns
 * once the kernels are queued there, without synchronising, and the tensors
 * must live until the stream has run them. The tensors stay owned by the
 * caller. Returns 0 on success. */
SKIM_API int skim_kernel_run(const skim_kernel *kernel, DLManagedTensor *const *inputs,
                    int num_inputs, DLManagedTensor *const *outputs,
                    int num_outputs, void *stream, char **error);

SKIM_API void skim_free_string(char *s);

#ifdef __cplusplus
}
#endif

#endif /* SKIM_SKIM_H */
