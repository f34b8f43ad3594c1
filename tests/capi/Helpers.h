//===- Helpers.h - DLPack tensors and artifacts for C API tests -*- C++ -*-===//

#ifndef SKIM_TESTS_CAPI_HELPERS_H
#define SKIM_TESTS_CAPI_HELPERS_H

#include "skim/skim.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace skim::test {

/// An f32 tensor in host memory, exported through DLPack. The test owns it:
/// the deleter is never called. `device` lets a test claim it lives
/// elsewhere, to check that the C API refuses it before reading it.
struct HostTensor {
  std::vector<int64_t> shape;
  std::vector<float> data;
  DLManagedTensor managed{};

  explicit HostTensor(std::vector<int64_t> dims, float fill = 0.0f)
      : shape(std::move(dims)) {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    data.assign(size_t(n), fill);
  }
  HostTensor &random(unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    for (float &x : data)
      x = uniform(rng);
    return *this;
  }
  DLManagedTensor *dl(DLDeviceType device = kDLCPU, int id = 0,
                      void *address = nullptr) {
    DLTensor &t = managed.dl_tensor;
    t.data = address ? address : data.data();
    t.device = DLDevice{device, id};
    t.ndim = int(shape.size());
    t.dtype = DLDataType{kDLFloat, 32, 1};
    t.shape = shape.data();
    t.strides = nullptr;
    t.byte_offset = 0;
    return &managed;
  }
};

/// The message of a C API error, freed.
inline std::string takeError(char *error) {
  std::string message = error ? error : "";
  skim_free_string(error);
  return message;
}

inline bool contains(const std::string &haystack, const std::string &needle) {
  return haystack.find(needle) != std::string::npos;
}

/// A fresh folder under $TMPDIR (or /tmp), left behind for inspection.
inline std::string temporaryFolder() {
  const char *base = std::getenv("TMPDIR");
  std::string pattern =
      std::string(base && *base ? base : "/tmp") + "/skim-capi-XXXXXX";
  REQUIRE(mkdtemp(pattern.data()) != nullptr);
  return pattern;
}

/// Writes an artifact with the skim tool: `skim compile <args> -o <path>`.
inline void compileWithTool(const std::string &args, const std::string &path) {
  std::string command = std::string(SKIM_TOOL_PATH) + " compile " + args +
                        " -o " + path + " > /dev/null";
  INFO(command);
  REQUIRE(std::system(command.c_str()) == 0);
}

inline std::string readBytes(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

inline void writeBytes(const std::string &path, const std::string &bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

/// The causal preset the tests share: B 1, T = S = 77, Hq 4, Hkv 2, D 32.
constexpr const char *kCausalArgs = "--variant causal --heads 4/2 --dim 32";
inline std::vector<HostTensor> causalInputs(unsigned seed) {
  std::vector<HostTensor> in;
  in.emplace_back(std::vector<int64_t>{1, 77, 4, 32});
  in.emplace_back(std::vector<int64_t>{1, 77, 2, 32});
  in.emplace_back(std::vector<int64_t>{1, 77, 2, 32});
  for (size_t i = 0; i < in.size(); ++i)
    in[i].random(seed + unsigned(i));
  return in;
}
inline std::vector<HostTensor> causalOutputs() {
  std::vector<HostTensor> out;
  out.emplace_back(std::vector<int64_t>{1, 77, 4, 32}, NAN);
  out.emplace_back(std::vector<int64_t>{1, 4, 77}, NAN);
  return out;
}

/// Runs `kernel` on host tensors; returns the error message, empty on
/// success.
inline std::string run(const skim_kernel *kernel, std::vector<HostTensor> &in,
                       std::vector<HostTensor> &out, void *stream = nullptr) {
  std::vector<DLManagedTensor *> inputs, outputs;
  for (HostTensor &t : in)
    inputs.push_back(t.dl());
  for (HostTensor &t : out)
    outputs.push_back(t.dl());
  char *error = nullptr;
  if (skim_kernel_run(kernel, inputs.data(), int(inputs.size()), outputs.data(),
                      int(outputs.size()), stream, &error) == 0)
    return "";
  return takeError(error);
}

} // namespace skim::test

#endif // SKIM_TESTS_CAPI_HELPERS_H
