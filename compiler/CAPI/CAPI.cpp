//===- CAPI.cpp - skim's C API over the JIT and the runtime ---------------===//
//
// DLPack tensors become runtime tensor views after checks that name the
// argument (device, dtype, rank, null data, strides, size overflow); the
// variant comes from the JIT, so a process compiles each variant at most
// once and later processes load it from the disk cache.
//
//===----------------------------------------------------------------------===//

#include "skim/skim.h"

#include "Jit/Jit.h"
#include "Pipelines/Pipeline.h"
#include "../tools/skim/Presets.h"

#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <sstream>

namespace rt = skim::rt;

struct skim_kernel {
  std::shared_ptr<rt::CpuExecutable> exe;
};

namespace {

char *copyString(const std::string &s) {
  char *out = static_cast<char *>(std::malloc(s.size() + 1));
  std::memcpy(out, s.c_str(), s.size() + 1);
  return out;
}

void setError(char **error, const std::string &message) {
  if (error)
    *error = copyString(message);
}

mlir::skim::Jit &jit() {
  static mlir::skim::Jit instance;
  return instance;
}

rt::ThreadPool &pool() {
  static rt::ThreadPool instance;
  return instance;
}

rt::Expected<rt::DType> fromDLPack(DLDataType t) {
  if (t.lanes == 1) {
    if (t.code == kDLFloat && t.bits == 32) return rt::DType::F32;
    if (t.code == kDLFloat && t.bits == 16) return rt::DType::F16;
    if (t.code == kDLBfloat && t.bits == 16) return rt::DType::BF16;
    if (t.code == kDLInt && t.bits == 32) return rt::DType::I32;
  }
  return rt::Error{"unsupported dtype (code " + std::to_string(t.code) + ", " +
                   std::to_string(t.bits) + " bits, " + std::to_string(t.lanes) +
                   " lanes): expected float32, bfloat16, float16 or int32"};
}

DLDataType toDLPack(rt::DType t) {
  switch (t) {
  case rt::DType::F32: return DLDataType{kDLFloat, 32, 1};
  case rt::DType::F16: return DLDataType{kDLFloat, 16, 1};
  case rt::DType::BF16: return DLDataType{kDLBfloat, 16, 1};
  case rt::DType::I32: return DLDataType{kDLInt, 32, 1};
  }
  return DLDataType{kDLFloat, 32, 1};
}

/// A DLPack tensor as a runtime view, with every check naming the tensor.
rt::Expected<rt::TensorView> view(const DLManagedTensor *managed, const std::string &name) {
  if (!managed)
    return rt::Error{name + " is NULL"};
  const DLTensor &t = managed->dl_tensor;
  if (t.device.device_type != kDLCPU)
    return rt::Error{name + " lives on device type " + std::to_string(t.device.device_type) +
                     ": only CPU tensors are supported until the GPU backends land"};
  rt::Expected<rt::DType> dtype = fromDLPack(t.dtype);
  if (!dtype)
    return rt::Error{name + " has an " + dtype.message()};
  if (t.ndim < 0 || t.ndim > 8)
    return rt::Error{name + " has rank " + std::to_string(t.ndim) + " (at most 8)"};
  rt::TensorView v;
  v.dtype = *dtype;
  v.shape.assign(t.shape, t.shape + t.ndim);
  if (t.strides) {
    v.strides.assign(t.strides, t.strides + t.ndim);
  } else {
    v.strides.assign(size_t(t.ndim), 1);
    for (int d = t.ndim - 2; d >= 0; --d)
      v.strides[d] = v.strides[d + 1] * v.shape[d + 1];
  }
  int64_t bytes = int64_t(rt::dtypeSize(v.dtype));
  for (int d = 0; d < t.ndim; ++d) {
    if (v.shape[d] < 0)
      return rt::Error{name + " has negative dim " + std::to_string(d)};
    int64_t next;
    if (__builtin_mul_overflow(bytes, std::max<int64_t>(v.shape[d], 1), &next))
      return rt::Error{name + " is too large: its size in bytes overflows 64 bits"};
    bytes = next;
  }
  if (!t.data && v.numel() > 0)
    return rt::Error{name + " has NULL data"};
  v.data = static_cast<char *>(t.data) + t.byte_offset;
  return v;
}

rt::Expected<std::vector<rt::TensorView>> views(DLManagedTensor *const *tensors, int n,
                                                const char *what) {
  std::vector<rt::TensorView> out;
  if (n < 0 || (n > 0 && !tensors))
    return rt::Error{std::string("no ") + what + " given"};
  for (int i = 0; i < n; ++i) {
    auto v = view(tensors[i], std::string(what) + " #" + std::to_string(i));
    if (!v)
      return rt::Error{v.message()};
    out.push_back(*v);
  }
  return out;
}

} // namespace

extern "C" {

const char *skim_version(void) { return mlir::skim::compilerVersion(); }

char *skim_preset(const char *spec, char **error) {
  skim::tool::Preset p;
  std::istringstream words(spec ? spec : "");
  std::string word;
  while (words >> word) {
    size_t eq = word.find('=');
    if (eq == std::string::npos) {
      setError(error, "preset words are key=value, got '" + word + "'");
      return nullptr;
    }
    std::string key = word.substr(0, eq), value = word.substr(eq + 1);
    auto number = [&](int64_t &field) {
      char *end = nullptr;
      field = std::strtoll(value.c_str(), &end, 10);
      return end && *end == '\0' && !value.empty();
    };
    bool ok = true;
    if (key == "variant") p.variant = value;
    else if (key == "dtype") p.dtype = value;
    else if (key == "heads") {
      // "Hq/Hkv" or "H": whole integers only.
      char *end = nullptr;
      p.hq = std::strtoll(value.c_str(), &end, 10);
      p.hkv = p.hq;
      if (end && *end == '/')
        p.hkv = std::strtoll(end + 1, &end, 10);
      ok = end && *end == '\0' && end != value.c_str();
    } else if (key == "dim") ok = number(p.dim);
    else if (key == "dv") ok = number(p.dv);
    else if (key == "window") ok = number(p.window);
    else if (key == "sink") ok = number(p.sink);
    else if (key == "block") ok = number(p.block);
    else if (key == "top_k") ok = number(p.topK);
    else if (key == "cmp_block") ok = number(p.cmpBlock);
    else if (key == "cmp_stride") ok = number(p.cmpStride);
    else if (key == "sel_block") ok = number(p.selBlock);
    else if (key == "selected") ok = number(p.selected);
    else {
      setError(error, "unknown preset key '" + key + "'");
      return nullptr;
    }
    if (!ok) {
      setError(error, "preset key '" + key + "' needs an integer, got '" + value + "'");
      return nullptr;
    }
  }
  std::string mlir, message;
  if (!p.toMlir(mlir, message)) {
    // The preset's messages name command-line flags; name the keys here.
    for (auto [flag, name] : {std::pair<const char *, const char *>{"--heads", "heads"},
                              {"--dtype", "dtype"}, {"--kv-seq", "kv_seq"},
                              {"--dim", "dim"}, {"--batch", "batch"}})
      for (size_t at; (at = message.find(flag)) != std::string::npos;)
        message.replace(at, std::strlen(flag), name);
    setError(error, message);
    return nullptr;
  }
  return copyString(mlir);
}

skim_kernel *skim_compile(const char *mlir, const char *target, char **error) {
  if (!mlir) {
    setError(error, "skim_compile: mlir is NULL");
    return nullptr;
  }
  if (target && std::strcmp(target, "host") != 0) {
    setError(error, std::string("target '") + target + "' has no lowering yet (supported: host)");
    return nullptr;
  }
  auto exe = jit().getCpuExecutable(mlir);
  if (!exe) {
    setError(error, exe.message());
    return nullptr;
  }
  return new skim_kernel{*exe};
}

void skim_kernel_free(skim_kernel *kernel) { delete kernel; }

int skim_kernel_num_inputs(const skim_kernel *kernel) {
  return kernel ? kernel->exe->plan().numInputs() : -1;
}

int skim_kernel_num_outputs(const skim_kernel *kernel) {
  return kernel ? kernel->exe->plan().numOutputs() : -1;
}

DLDataType skim_kernel_output_dtype(const skim_kernel *kernel, int index) {
  if (kernel)
    for (const rt::BufferDecl &b : kernel->exe->plan().buffers)
      if (b.kind == rt::BufferDecl::Kind::Output && b.index == index)
        return toDLPack(b.dtype);
  return DLDataType{0, 0, 0};
}

int skim_kernel_output_shape(const skim_kernel *kernel, DLManagedTensor *const *inputs,
                             int num_inputs, int index, int64_t *shape, int *rank,
                             char **error) {
  if (!kernel || !shape || !rank) {
    setError(error, "skim_kernel_output_shape: NULL kernel, shape or rank");
    return 1;
  }
  auto in = views(inputs, num_inputs, "input");
  if (!in) {
    setError(error, in.message());
    return 1;
  }
  auto shapes = kernel->exe->outputShapes(*in);
  if (!shapes) {
    setError(error, shapes.message());
    return 1;
  }
  if (index < 0 || index >= int(shapes->size())) {
    setError(error, "output #" + std::to_string(index) + " does not exist");
    return 1;
  }
  const std::vector<int64_t> &s = (*shapes)[size_t(index)];
  if (s.size() > 8) {
    setError(error, "output #" + std::to_string(index) + " has rank " +
                        std::to_string(s.size()) + ", more than the 8 entries of `shape`");
    return 1;
  }
  *rank = int(s.size());
  std::copy(s.begin(), s.end(), shape);
  return 0;
}

int skim_kernel_run(const skim_kernel *kernel, DLManagedTensor *const *inputs,
                    int num_inputs, DLManagedTensor *const *outputs, int num_outputs,
                    void *stream, char **error) {
  if (!kernel) {
    setError(error, "skim_kernel_run: kernel is NULL");
    return 1;
  }
  (void)stream; // the CPU device runs synchronously on its own pool
  auto in = views(inputs, num_inputs, "input");
  if (!in) {
    setError(error, in.message());
    return 1;
  }
  auto out = views(outputs, num_outputs, "output");
  if (!out) {
    setError(error, out.message());
    return 1;
  }
  rt::Status status = kernel->exe->run(*in, *out, pool());
  if (!status) {
    setError(error, status.message());
    return 1;
  }
  return 0;
}

void skim_free_string(char *s) { std::free(s); }

} // extern "C"
