/*===- skim.h - skim's C API --------------------------------------*- C -*-===*
 *
 * Compile a block-sparse attention variant for a device (compiled once, then
 * served from the JIT cache) and launch it on DLPack tensors. Every function
 * that can fail returns NULL or non-zero and sets *error to a message the
 * caller frees with skim_free_string.
 *
 *===----------------------------------------------------------------------===*/

#ifndef SKIM_SKIM_H
#define SKIM_SKIM_H

#include <dlpack/dlpack.h>
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

/* "skim 0.1.0". */
SKIM_API const char *skim_version(void);

/* The MLIR of a preset, from "key=value" words: variant=nsa|moba|window|causal
 * heads=64/4 dim=128 dv=128 dtype=f32|bf16|f16 window=512 sink=0 block=512
 * top_k=3 cmp_block=32 cmp_stride=16 sel_block=64 selected=16. */
SKIM_API char *skim_preset(const char *spec, char **error);

/* Compiles `mlir` (one variant function) for `target` ("host"), or loads it
 * from the cache ($SKIM_CACHE_DIR, default ~/.cache/skim). */
SKIM_API skim_kernel *skim_compile(const char *mlir, const char *target, char **error);
SKIM_API void skim_kernel_free(skim_kernel *kernel);

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

/* Launches on the inputs' device; outputs must already have the shapes of
 * skim_kernel_output_shape. `stream` is the caller's stream (NULL on the
 * CPU). The tensors stay owned by the caller. Returns 0 on success. */
SKIM_API int skim_kernel_run(const skim_kernel *kernel, DLManagedTensor *const *inputs,
                    int num_inputs, DLManagedTensor *const *outputs,
                    int num_outputs, void *stream, char **error);

SKIM_API void skim_free_string(char *s);

#ifdef __cplusplus
}
#endif

#endif /* SKIM_SKIM_H */
