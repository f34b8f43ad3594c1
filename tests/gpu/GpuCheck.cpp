//===- GpuCheck.cpp - GPU artifacts against CPU outputs ---------------------===//
//
// A runtime-only driver (no LLVM): builds with g++ on a GPU machine through
// tests/gpu/CMakeLists.txt.
//
//   gpucheck gen <case>   on the compile machine: random inputs from
//                         <case>/spec.txt, run <case>/cpu.skim (checked
//                         against the reference by the pipeline tests), write
//                         in<i>.bin (plan dtype) and want<i>.bin (f32).
//   gpucheck time <case> <repeats>  on the GPU: random inputs from spec.txt
//                         made there (large shapes need not travel), one
//                         warm-up, then `repeats` runs timed with events on
//                         one stream; prints "time <case> median_ms <ms>".
//   gpucheck run <case>...  on the GPU: load <case>/gpu.skim with
//                         GpuExecutable, copy the inputs, poison the outputs
//                         with NaN, run, copy back and compare: |got − want|
//                         ≤ atol + rtol·|want| (f32: 1e-4 + 1e-3; bf16
//                         outputs: 2e-2 + 2e-2). One line per case.
//
// spec.txt: one line per input in argument order,
//   float <lo> <hi> <rank> <dims...>   or   int <lo> <hi> <rank> <dims...>
//
//===----------------------------------------------------------------------===//

#include "skim/runtime/Artifact.h"
#include "skim/runtime/CpuExecutable.h"
#include "skim/runtime/Device.h"
#include "skim/runtime/GpuExecutable.h"
#include "skim/runtime/Tensor.h"
#include "skim/runtime/ThreadPool.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

using namespace skim::rt;

namespace {

struct Input {
  bool isFloat;
  double lo, hi;
  std::vector<int64_t> shape;
};

int64_t numel(const std::vector<int64_t> &s) {
  int64_t n = 1;
  for (int64_t d : s)
    n *= d;
  return n;
}

bool readFile(const std::string &path, std::string &out) {
  std::ifstream f(path, std::ios::binary);
  if (!f)
    return false;
  std::stringstream ss;
  ss << f.rdbuf();
  out = ss.str();
  return true;
}

bool writeFile(const std::string &path, const void *data, size_t bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(static_cast<const char *>(data), std::streamsize(bytes));
  return bool(f);
}

const BufferDecl *findBuffer(const Plan &plan, BufferDecl::Kind kind, int index) {
  for (const BufferDecl &b : plan.buffers)
    if (b.kind == kind && b.index == index)
      return &b;
  return nullptr;
}

float toFloat(DType t, const char *p) {
  if (t == DType::F32) {
    float f;
    std::memcpy(&f, p, 4);
    return f;
  }
  if (t == DType::I32) {
    int32_t i;
    std::memcpy(&i, p, 4);
    return float(i);
  }
  uint16_t h;
  std::memcpy(&h, p, 2);
  if (t == DType::BF16)
    return bf16ToFloat(h);
  return NAN; // f16: not used here
}

void fromFloat(DType t, float f, char *p) {
  if (t == DType::F32)
    std::memcpy(p, &f, 4);
  else if (t == DType::I32) {
    int32_t i = int32_t(f);
    std::memcpy(p, &i, 4);
  } else {
    uint16_t h = floatToBf16(f);
    std::memcpy(p, &h, 2);
  }
}

struct Case {
  std::string dir;
  std::vector<Input> inputs;
  std::vector<std::vector<char>> inBytes;
};

bool readSpec(Case &c, std::string &error) {
  std::ifstream f(c.dir + "/spec.txt");
  if (!f) {
    error = "no spec.txt";
    return false;
  }
  std::string kind;
  while (f >> kind) {
    Input in;
    int rank;
    in.isFloat = kind == "float";
    f >> in.lo >> in.hi >> rank;
    in.shape.resize(size_t(rank));
    for (int64_t &d : in.shape)
      f >> d;
    c.inputs.push_back(in);
  }
  return true;
}

int gen(const std::string &dir) {
  Case c{dir, {}, {}};
  std::string error;
  if (!readSpec(c, error)) {
    std::fprintf(stderr, "%s: %s\n", dir.c_str(), error.c_str());
    return 1;
  }
  auto art = Artifact::readFile(dir + "/cpu.skim");
  if (!art) {
    std::fprintf(stderr, "%s: %s\n", dir.c_str(), art.message().c_str());
    return 1;
  }
  auto exe = CpuExecutable::load(*art);
  if (!exe) {
    std::fprintf(stderr, "%s: %s\n", dir.c_str(), exe.message().c_str());
    return 1;
  }
  const Plan &plan = (*exe)->plan();
  std::mt19937 rng(std::hash<std::string>()(dir) & 0xffffffff);
  std::vector<TensorView> ins;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    const BufferDecl *decl = findBuffer(plan, BufferDecl::Kind::Input, int(i));
    if (!decl) {
      std::fprintf(stderr, "%s: no input %zu in the plan\n", dir.c_str(), i);
      return 1;
    }
    const Input &in = c.inputs[i];
    size_t n = size_t(numel(in.shape)), es = dtypeSize(decl->dtype);
    c.inBytes.emplace_back(n * es);
    for (size_t e = 0; e < n; ++e) {
      float v;
      if (in.isFloat)
        v = std::uniform_real_distribution<float>(float(in.lo), float(in.hi))(rng);
      else
        v = float(int64_t(in.lo) + int64_t(rng() % uint64_t(in.hi - in.lo)));
      fromFloat(decl->dtype, v, c.inBytes.back().data() + e * es);
    }
    writeFile(dir + "/in" + std::to_string(i) + ".bin", c.inBytes.back().data(),
              c.inBytes.back().size());
    ins.push_back(TensorView::contiguous(c.inBytes.back().data(), decl->dtype, in.shape));
  }
  auto shapes = (*exe)->outputShapes(ins);
  if (!shapes) {
    std::fprintf(stderr, "%s: %s\n", dir.c_str(), shapes.message().c_str());
    return 1;
  }
  std::vector<std::vector<char>> outBytes;
  std::vector<TensorView> outs;
  for (size_t i = 0; i < shapes->size(); ++i) {
    const BufferDecl *decl = findBuffer(plan, BufferDecl::Kind::Output, int(i));
    size_t n = size_t(numel((*shapes)[i])), es = dtypeSize(decl->dtype);
    outBytes.emplace_back(n * es);
    for (size_t e = 0; e < n; ++e)
      fromFloat(decl->dtype, NAN, outBytes.back().data() + e * es);
    outs.push_back(TensorView::contiguous(outBytes.back().data(), decl->dtype, (*shapes)[i]));
  }
  ThreadPool pool(2);
  if (Status s = (*exe)->run(ins, outs, pool); !s) {
    std::fprintf(stderr, "%s: %s\n", dir.c_str(), s.message().c_str());
    return 1;
  }
  for (size_t i = 0; i < outs.size(); ++i) {
    const BufferDecl *decl = findBuffer(plan, BufferDecl::Kind::Output, int(i));
    size_t n = size_t(numel((*shapes)[i])), es = dtypeSize(decl->dtype);
    std::vector<float> f(n);
    size_t nans = 0;
    for (size_t e = 0; e < n; ++e) {
      f[e] = toFloat(decl->dtype, outBytes[i].data() + e * es);
      nans += std::isnan(f[e]);
    }
    writeFile(dir + "/want" + std::to_string(i) + ".bin", f.data(), n * 4);
    std::printf("%s: output %zu: %zu elements (%zu NaN on the CPU)\n", dir.c_str(), i, n, nans);
  }
  return 0;
}

/// Runs one case on the GPU; returns false on a failed comparison or error.
bool runCase(Device &dev, const std::string &dir, FILE *results) {
  auto report = [&](const std::string &line) {
    std::printf("%s\n", line.c_str());
    std::fprintf(results, "%s\n", line.c_str());
    std::fflush(results);
  };
  Case c{dir, {}, {}};
  std::string error;
  if (!readSpec(c, error)) {
    report(dir + " ERROR " + error);
    return false;
  }
  auto art = Artifact::readFile(dir + "/gpu.skim");
  if (!art) {
    report(dir + " ERROR " + art.message());
    return false;
  }
  auto exe = GpuExecutable::load(*art, dev);
  if (!exe) {
    report(dir + " ERROR load: " + exe.message());
    return false;
  }
  const Plan &plan = (*exe)->plan();
  std::vector<DevicePtr> ptrs;
  auto freeAll = [&] {
    for (DevicePtr p : ptrs)
      (void)dev.deallocate(p);
  };
  std::vector<TensorView> ins;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    const BufferDecl *decl = findBuffer(plan, BufferDecl::Kind::Input, int(i));
    std::string bytes;
    if (!decl || !readFile(dir + "/in" + std::to_string(i) + ".bin", bytes)) {
      report(dir + " ERROR input " + std::to_string(i));
      freeAll();
      return false;
    }
    auto p = dev.allocate(std::max<size_t>(bytes.size(), 256));
    if (!p) {
      report(dir + " ERROR " + p.message());
      freeAll();
      return false;
    }
    ptrs.push_back(*p);
    (void)dev.copyToDevice(*p, bytes.data(), bytes.size());
    TensorView v = TensorView::contiguous(reinterpret_cast<void *>(*p), decl->dtype,
                                          c.inputs[i].shape);
    v.device = DeviceKind::Cuda;
    ins.push_back(v);
  }
  auto shapes = (*exe)->outputShapes(ins);
  if (!shapes) {
    report(dir + " ERROR " + shapes.message());
    freeAll();
    return false;
  }
  std::vector<TensorView> outs;
  std::vector<size_t> outSizes;
  for (size_t i = 0; i < shapes->size(); ++i) {
    const BufferDecl *decl = findBuffer(plan, BufferDecl::Kind::Output, int(i));
    size_t n = size_t(numel((*shapes)[i])), es = dtypeSize(decl->dtype);
    std::vector<char> poison(n * es);
    for (size_t e = 0; e < n; ++e)
      fromFloat(decl->dtype, NAN, poison.data() + e * es);
    auto p = dev.allocate(std::max<size_t>(poison.size(), 256));
    ptrs.push_back(*p);
    (void)dev.copyToDevice(*p, poison.data(), poison.size());
    TensorView v = TensorView::contiguous(reinterpret_cast<void *>(*p), decl->dtype, (*shapes)[i]);
    v.device = DeviceKind::Cuda;
    outs.push_back(v);
    outSizes.push_back(n);
  }
  if (Status s = (*exe)->run(ins, outs, Stream{}); !s) {
    report(dir + " ERROR run: " + s.message());
    freeAll();
    return false;
  }
  if (Status s = dev.synchronize(Stream{}); !s) {
    report(dir + " ERROR sync: " + s.message());
    freeAll();
    return false;
  }
  bool ok = true;
  std::string line = dir;
  for (size_t i = 0; i < outs.size(); ++i) {
    const BufferDecl *decl = findBuffer(plan, BufferDecl::Kind::Output, int(i));
    size_t n = outSizes[i], es = dtypeSize(decl->dtype);
    std::vector<char> got(n * es);
    (void)dev.copyToHost(got.data(), DevicePtr(reinterpret_cast<uintptr_t>(outs[i].data)),
                         got.size());
    std::string wantBytes;
    readFile(dir + "/want" + std::to_string(i) + ".bin", wantBytes);
    if (wantBytes.size() != n * 4) {
      line += " out" + std::to_string(i) + ": want has the wrong size";
      ok = false;
      continue;
    }
    const float *want = reinterpret_cast<const float *>(wantBytes.data());
    bool bf16 = decl->dtype == DType::BF16;
    double atol = bf16 ? 2e-2 : 1e-4, rtol = bf16 ? 2e-2 : 1e-3;
    double maxErr = 0;
    size_t bad = 0, nans = 0, firstBad = size_t(-1);
    for (size_t e = 0; e < n; ++e) {
      float g = toFloat(decl->dtype, got.data() + e * es), w = want[e];
      bool same = (std::isinf(w) && g == w) || (std::isnan(w) && std::isnan(g));
      if (std::isnan(g) && !std::isnan(w))
        ++nans;
      double err = same ? 0.0 : std::fabs(double(g) - double(w));
      if (!same && (std::isnan(err) || err > atol + rtol * std::fabs(double(w)))) {
        if (firstBad == size_t(-1))
          firstBad = e;
        ++bad;
      }
      if (!std::isnan(err) && err > maxErr)
        maxErr = err;
    }
    char buf[256];
    std::snprintf(buf, sizeof buf, " out%zu[%zu %s] max_err=%.3g bad=%zu nan=%zu", i, n,
                  bf16 ? "bf16" : "f32", maxErr, bad, nans);
    line += buf;
    if (bad) {
      std::snprintf(buf, sizeof buf, " first_bad=%zu(got %g want %g)", firstBad,
                    toFloat(decl->dtype, got.data() + firstBad * es), want[firstBad]);
      line += buf;
      ok = false;
    }
  }
  report((ok ? "PASS " : "FAIL ") + line);
  freeAll();
  return ok;
}

/// Times one case: inputs generated here, events around each run.
int timeCase(Device &dev, const std::string &dir, int repeats) {
  Case c{dir, {}, {}};
  std::string error;
  if (!readSpec(c, error)) {
    std::fprintf(stderr, "%s: %s\n", dir.c_str(), error.c_str());
    return 1;
  }
  auto art = Artifact::readFile(dir + "/gpu.skim");
  if (!art) {
    std::fprintf(stderr, "%s\n", art.message().c_str());
    return 1;
  }
  auto exe = GpuExecutable::load(*art, dev);
  if (!exe) {
    std::fprintf(stderr, "load: %s\n", exe.message().c_str());
    return 1;
  }
  const Plan &plan = (*exe)->plan();
  std::mt19937 rng(7);
  std::vector<TensorView> ins, outs;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    const BufferDecl *decl = findBuffer(plan, BufferDecl::Kind::Input, int(i));
    const Input &in = c.inputs[i];
    size_t n = size_t(numel(in.shape)), es = dtypeSize(decl->dtype);
    std::vector<char> bytes(n * es);
    for (size_t e = 0; e < n; ++e)
      fromFloat(decl->dtype,
                std::uniform_real_distribution<float>(float(in.lo), float(in.hi))(rng),
                bytes.data() + e * es);
    auto p = dev.allocate(std::max<size_t>(bytes.size(), 256));
    if (!p) {
      std::fprintf(stderr, "%s\n", p.message().c_str());
      return 1;
    }
    (void)dev.copyToDevice(*p, bytes.data(), bytes.size());
    TensorView v = TensorView::contiguous(reinterpret_cast<void *>(*p), decl->dtype, in.shape);
    v.device = DeviceKind::Cuda;
    ins.push_back(v);
  }
  auto shapes = (*exe)->outputShapes(ins);
  if (!shapes) {
    std::fprintf(stderr, "%s\n", shapes.message().c_str());
    return 1;
  }
  for (size_t i = 0; i < shapes->size(); ++i) {
    const BufferDecl *decl = findBuffer(plan, BufferDecl::Kind::Output, int(i));
    auto p = dev.allocate(std::max<size_t>(size_t(numel((*shapes)[i])) * dtypeSize(decl->dtype), 256));
    if (!p) {
      std::fprintf(stderr, "%s\n", p.message().c_str());
      return 1;
    }
    TensorView v = TensorView::contiguous(reinterpret_cast<void *>(*p), decl->dtype, (*shapes)[i]);
    v.device = DeviceKind::Cuda;
    outs.push_back(v);
  }
  auto stream = dev.createStream();
  auto start = dev.createEvent(), stop = dev.createEvent();
  if (!stream || !start || !stop) {
    std::fprintf(stderr, "cannot create a stream or events\n");
    return 1;
  }
  std::vector<float> ms;
  for (int r = 0; r <= repeats; ++r) {
    (void)dev.record(*start, *stream);
    if (Status s = (*exe)->run(ins, outs, *stream); !s) {
      std::fprintf(stderr, "run: %s\n", s.message().c_str());
      return 1;
    }
    (void)dev.record(*stop, *stream);
    (void)dev.synchronize(*stop);
    auto t = dev.elapsedMs(*start, *stop);
    if (r > 0 && t) // the first run warms up
      ms.push_back(*t);
  }
  std::sort(ms.begin(), ms.end());
  std::printf("time %s median_ms %.4f\n", dir.c_str(), ms[ms.size() / 2]);
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  if (argc >= 3 && std::string(argv[1]) == "gen") {
    int rc = 0;
    for (int i = 2; i < argc; ++i)
      rc |= gen(argv[i]);
    return rc;
  }
  if (argc >= 4 && (std::string(argv[1]) == "run" || std::string(argv[1]) == "time")) {
    std::vector<std::string> notes;
    auto devices = discoverDevices(&notes);
    Device *cuda = nullptr;
    if (devices)
      for (auto &d : *devices)
        if (d->kind() == DeviceKind::Cuda && !cuda)
          cuda = d.get();
    if (!cuda) {
      std::fprintf(stderr, "no CUDA device\n");
      for (auto &n : notes)
        std::fprintf(stderr, "  %s\n", n.c_str());
      return 2;
    }
    std::printf("device: %s, arch %s, %s\n", cuda->name().c_str(), cuda->arch().c_str(),
                cuda->driver().c_str());
    if (std::string(argv[1]) == "time")
      return timeCase(*cuda, argv[2], std::atoi(argv[3]));
    FILE *results = std::fopen(argv[2], "w");
    int failed = 0;
    for (int i = 3; i < argc; ++i)
      failed += !runCase(*cuda, argv[i], results);
    std::fprintf(results, "%d of %d cases failed\n", failed, argc - 3);
    std::fclose(results);
    std::printf("%d of %d cases failed\n", failed, argc - 3);
    return failed ? 1 : 0;
  }
  std::fprintf(stderr, "usage: gpucheck gen <case>... | gpucheck run <results> <case>... | "
                       "gpucheck time <case> <repeats>\n");
  return 2;
}
