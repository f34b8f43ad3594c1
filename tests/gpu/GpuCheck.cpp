//===- GpuCheck.cpp - GPU artifacts against CPU outputs ---------------------===//
//
// A runtime-only driver (no LLVM): builds with g++ on a GPU machine through
// tests/gpu/CMakeLists.txt.
//
//   gpucheck gen <case>...  on the compile machine: random inputs from
//                         <case>/spec.txt, run <case>/cpu.skim (checked
//                         against the reference by the pipeline tests), write
//                         want<i>.bin (the CPU's output bytes) and
//                         inputs.fnv (a checksum of the inputs). A NaN or an
//                         unwritten element in a CPU output is an error: no
//                         variant legitimately makes one.
//   gpucheck time <case> <repeats>  on the GPU: random inputs from spec.txt
//                         made there (large shapes need not travel), one
//                         warm-up, then `repeats` runs timed with events on
//                         one stream; prints "time <case> median_ms <ms>".
//   gpucheck run <results> <case>...  on the GPU: load <case>/gpu.skim with
//                         GpuExecutable, make the same inputs (checked
//                         against inputs.fnv), copy them, poison the outputs
//                         (NaN, or INT32_MIN for i32), run, copy back and
//                         compare. Floats pass when |got − want| ≤ atol +
//                         rtol·|want| for the output's dtype (f32 5e-5 +
//                         1e-4, near f32 rounding after a different order
//                         of sums and ex2.approx; bf16 1e-2 + 1.6e-2, two
//                         ulps; f16 2e-3 + 2e-3), and equal infinities;
//                         i32 outputs must match exactly. One line per case,
//                         appended to <results>.
//   gpucheck probe        exit 0 when a CUDA device is there, 77 otherwise.
//
// `run` and `probe` exit with 77 when there is no CUDA device (ctest's
// SKIP_RETURN_CODE). A case still running after $SKIM_GPUCHECK_TIMEOUT
// seconds (60) is recorded as "FAIL <case> TIMEOUT" and `run` exits with
// 124 at once; scripts/gpu_check.sh goes on with the remaining cases.
//
// spec.txt: one line per input in argument order, `<kind> <lo> <hi> <rank>
// <dims...>`, where kind is
//   float   uniform in [lo, hi)
//   int     integers uniform in [lo, hi) (selection indices, counts)
//   ties    the same integers as floats: exact ties among scores
//   mixed   float, but 20% −inf, 5% NaN, 5% +inf and 10% exactly 0.5
//           (top-k's special scores)
//   holes   float, but 30% −inf (partial attentions that saw no key)
// Inputs are made from the spec and the case's name on either machine, so
// only the expected outputs travel; the generator below is defined bit for
// bit (no std:: distributions, whose results differ between libraries).
//
//===----------------------------------------------------------------------===//

#include "skim/runtime/Artifact.h"
#include "skim/runtime/CpuExecutable.h"
#include "skim/runtime/Device.h"
#include "skim/runtime/GpuExecutable.h"
#include "skim/runtime/Tensor.h"
#include "skim/runtime/ThreadPool.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace skim::rt;

namespace {

/// ctest's SKIP_RETURN_CODE: no CUDA device here.
constexpr int kNoDevice = 77;
/// The exit code after a case that did not finish (the results say which).
constexpr int kTimedOut = 124;
/// What an unwritten i32 output element holds: no index or count is this.
constexpr int32_t kIntPoison = INT32_MIN;

struct Input {
  std::string kind;
  double lo, hi;
  std::vector<int64_t> shape;
};

bool knownKind(const std::string &k) {
  return k == "float" || k == "int" || k == "ties" || k == "mixed" || k == "holes";
}

/// One random input element of `kind`.
float draw(const Input &in, std::mt19937 &rng) {
  if (in.kind == "int" || in.kind == "ties")
    return float(int64_t(in.lo) + int64_t(rng() % uint64_t(in.hi - in.lo)));
  // 24 random bits: u in [lo, hi), the same on every machine.
  double unit = double(rng() >> 8) / double(1 << 24);
  float u = float(in.lo + (in.hi - in.lo) * unit);
  unsigned pick = rng() % 20;
  if (in.kind == "mixed")
    return pick < 4 ? -INFINITY : pick == 4 ? NAN : pick == 5 ? INFINITY : pick < 8 ? 0.5f : u;
  if (in.kind == "holes")
    return pick < 6 ? -INFINITY : u;
  return u;
}

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

/// IEEE binary16 to float and back (round to nearest even); the runtime only
/// converts bf16.
float halfToFloat(uint16_t h) {
  int sign = h >> 15, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
  float v;
  if (exp == 0)
    v = std::ldexp(float(man), -24);
  else if (exp == 31)
    v = man ? NAN : INFINITY;
  else
    v = std::ldexp(float(man | 0x400), exp - 25);
  return sign ? -v : v;
}

uint16_t floatToHalf(float f) {
  uint16_t sign = std::signbit(f) ? 0x8000 : 0;
  float a = std::fabs(f);
  if (std::isnan(f))
    return 0x7e00;
  if (a >= 65520.f) // rounds to infinity
    return sign | 0x7c00;
  if (a < std::ldexp(1.f, -14)) // subnormal: units of 2^-24
    return sign | uint16_t(std::nearbyint(std::ldexp(a, 24)));
  int exp;
  float m = std::frexp(a, &exp); // a = m · 2^exp, m in [0.5, 1)
  // 11 significant bits; a carry into the exponent is still the right code.
  uint32_t q = uint32_t(std::nearbyint(std::ldexp(m, 11)));
  return sign | uint16_t(((exp + 14) << 10) + (q - 0x400));
}

float toFloat(DType t, const char *p) {
  if (t == DType::F32 || t == DType::I32) {
    float f;
    int32_t i;
    std::memcpy(&f, p, 4);
    std::memcpy(&i, p, 4);
    return t == DType::F32 ? f : float(i);
  }
  uint16_t h;
  std::memcpy(&h, p, 2);
  return t == DType::BF16 ? bf16ToFloat(h) : halfToFloat(h);
}

void fromFloat(DType t, float f, char *p) {
  if (t == DType::F32) {
    std::memcpy(p, &f, 4);
  } else if (t == DType::I32) {
    int32_t i = std::isnan(f) ? kIntPoison : int32_t(f);
    std::memcpy(p, &i, 4);
  } else {
    uint16_t h = t == DType::BF16 ? floatToBf16(f) : floatToHalf(f);
    std::memcpy(p, &h, 2);
  }
}

/// An output of `n` elements of `t`, every one NaN (or kIntPoison).
std::vector<char> poisoned(DType t, size_t n) {
  std::vector<char> bytes(n * dtypeSize(t));
  for (size_t e = 0; e < n; ++e)
    fromFloat(t, NAN, bytes.data() + e * dtypeSize(t));
  return bytes;
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
  Input in;
  while (f >> in.kind) {
    int rank;
    f >> in.lo >> in.hi >> rank;
    in.shape.resize(size_t(std::max(rank, 0)));
    for (int64_t &d : in.shape)
      f >> d;
    if (!f || !knownKind(in.kind) || ((in.kind == "int" || in.kind == "ties") && in.hi <= in.lo)) {
      error = "malformed spec.txt";
      return false;
    }
    c.inputs.push_back(in);
  }
  return true;
}

uint64_t fnv1a(const void *data, size_t bytes, uint64_t h = 0xcbf29ce484222325ull) {
  for (size_t i = 0; i < bytes; ++i)
    h = (h ^ static_cast<const unsigned char *>(data)[i]) * 0x100000001b3ull;
  return h;
}

/// The case's name: the last component of its directory.
std::string caseName(const std::string &dir) {
  std::string d = dir;
  while (!d.empty() && d.back() == '/')
    d.pop_back();
  return d.substr(d.find_last_of('/') + 1);
}

/// Random inputs of the plan's dtypes, seeded by the case's name; returns
/// their checksum in `sum`.
bool makeInputs(Case &c, const Plan &plan, uint64_t &sum, std::string &error) {
  std::string name = caseName(c.dir);
  std::mt19937 rng(uint32_t(fnv1a(name.data(), name.size())));
  sum = fnv1a(nullptr, 0);
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    const BufferDecl *decl = findBuffer(plan, BufferDecl::Kind::Input, int(i));
    if (!decl) {
      error = "no input " + std::to_string(i) + " in the plan";
      return false;
    }
    const Input &in = c.inputs[i];
    size_t n = size_t(numel(in.shape)), es = dtypeSize(decl->dtype);
    c.inBytes.emplace_back(n * es);
    for (size_t e = 0; e < n; ++e)
      fromFloat(decl->dtype, draw(in, rng), c.inBytes.back().data() + e * es);
    sum = fnv1a(c.inBytes.back().data(), c.inBytes.back().size(), sum);
  }
  return true;
}

int gen(const std::string &dir) {
  Case c{dir, {}, {}};
  std::string error;
  auto fail = [&](const std::string &why) {
    std::fprintf(stderr, "%s: %s\n", dir.c_str(), why.c_str());
    return 1;
  };
  if (!readSpec(c, error))
    return fail(error);
  auto art = Artifact::readFile(dir + "/cpu.skim");
  if (!art)
    return fail(art.message());
  auto exe = CpuExecutable::load(*art);
  if (!exe)
    return fail(exe.message());
  const Plan &plan = (*exe)->plan();
  uint64_t sum;
  if (!makeInputs(c, plan, sum, error))
    return fail(error);
  std::string sumText = std::to_string(sum) + "\n";
  writeFile(dir + "/inputs.fnv", sumText.data(), sumText.size());
  std::vector<TensorView> ins;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    ins.push_back(TensorView::contiguous(
        c.inBytes[i].data(), findBuffer(plan, BufferDecl::Kind::Input, int(i))->dtype,
        c.inputs[i].shape));
  }
  auto shapes = (*exe)->outputShapes(ins);
  if (!shapes)
    return fail(shapes.message());
  std::vector<std::vector<char>> outBytes;
  std::vector<TensorView> outs;
  for (size_t i = 0; i < shapes->size(); ++i) {
    const BufferDecl *decl = findBuffer(plan, BufferDecl::Kind::Output, int(i));
    outBytes.push_back(poisoned(decl->dtype, size_t(numel((*shapes)[i]))));
    outs.push_back(TensorView::contiguous(outBytes.back().data(), decl->dtype, (*shapes)[i]));
  }
  ThreadPool pool(2);
  if (Status s = (*exe)->run(ins, outs, pool); !s)
    return fail(s.message());
  for (size_t i = 0; i < outs.size(); ++i) {
    const BufferDecl *decl = findBuffer(plan, BufferDecl::Kind::Output, int(i));
    size_t n = size_t(numel((*shapes)[i])), es = dtypeSize(decl->dtype);
    size_t nans = 0;
    for (size_t e = 0; e < n; ++e) {
      const char *p = outBytes[i].data() + e * es;
      nans += decl->dtype == DType::I32 ? toFloat(DType::I32, p) == float(kIntPoison)
                                        : std::isnan(toFloat(decl->dtype, p));
    }
    if (nans)
      return fail("output " + std::to_string(i) + ": " + std::to_string(nans) +
                  " elements unwritten or NaN on the CPU");
    writeFile(dir + "/want" + std::to_string(i) + ".bin", outBytes[i].data(),
              outBytes[i].size());
    std::printf("%s: output %zu: %zu %s elements\n", dir.c_str(), i, n,
                dtypeName(decl->dtype));
  }
  return 0;
}

/// atol and rtol for an output of dtype `t` (see the file comment).
std::pair<double, double> tolerance(DType t) {
  switch (t) {
  case DType::BF16:
    return {1e-2, 1.6e-2};
  case DType::F16:
    return {2e-3, 2e-3};
  default:
    return {5e-5, 1e-4};
  }
}

/// Compares output `i`; appends " out<i>[...] ..." to `line`. Returns false
/// on a mismatch.
bool compareOutput(size_t i, DType t, const std::vector<char> &got,
                   const std::string &wantBytes, std::string &line) {
  size_t es = dtypeSize(t), n = got.size() / es;
  char buf[320];
  if (wantBytes.size() != got.size()) {
    line += " out" + std::to_string(i) + ": want has the wrong size";
    return false;
  }
  auto [atol, rtol] = tolerance(t);
  double maxErr = 0, worst = 0; // worst: the largest error / allowed
  size_t bad = 0, unwritten = 0, firstBad = size_t(-1);
  for (size_t e = 0; e < n; ++e) {
    const char *g = got.data() + e * es;
    const char *w = wantBytes.data() + e * es;
    bool ok;
    double err = 0;
    if (t == DType::I32) {
      int32_t gi, wi;
      std::memcpy(&gi, g, 4);
      std::memcpy(&wi, w, 4);
      unwritten += gi == kIntPoison;
      ok = gi == wi;
      err = std::fabs(double(gi) - double(wi));
    } else {
      float gf = toFloat(t, g), wf = toFloat(t, w);
      unwritten += std::isnan(gf);
      if (std::isinf(wf) || std::isinf(gf)) {
        ok = gf == wf;
        err = ok ? 0 : INFINITY;
      } else {
        err = std::fabs(double(gf) - double(wf));
        double allowed = atol + rtol * std::fabs(double(wf));
        ok = err <= allowed; // false for NaN
        worst = std::max(worst, std::isnan(err) ? INFINITY : err / allowed);
      }
    }
    if (!std::isnan(err))
      maxErr = std::max(maxErr, err);
    if (!ok) {
      if (firstBad == size_t(-1))
        firstBad = e;
      ++bad;
    }
  }
  std::snprintf(buf, sizeof buf, " out%zu[%zu %s] max_err=%.3g worst=%.2f bad=%zu unwritten=%zu",
                i, n, dtypeName(t), maxErr, worst, bad, unwritten);
  line += buf;
  if (!bad)
    return true;
  std::snprintf(buf, sizeof buf, " first_bad=%zu(got %g want %g)", firstBad,
                toFloat(t, got.data() + firstBad * es),
                toFloat(t, wantBytes.data() + firstBad * es));
  line += buf;
  return false;
}

/// Device memory for one case, freed with it.
struct DeviceBuffers {
  Device &dev;
  std::vector<DevicePtr> ptrs;
  ~DeviceBuffers() {
    for (DevicePtr p : ptrs)
      (void)dev.deallocate(p);
  }
  /// A CUDA view of `shape` holding `bytes` (copied in).
  Expected<TensorView> upload(const std::vector<char> &bytes, DType t,
                              const std::vector<int64_t> &shape) {
    auto p = dev.allocate(std::max<size_t>(bytes.size(), 256));
    if (!p)
      return Error{p.message()};
    ptrs.push_back(*p);
    if (Status s = dev.copyToDevice(*p, bytes.data(), bytes.size()); !s)
      return Error{s.message()};
    TensorView v = TensorView::contiguous(reinterpret_cast<void *>(*p), t, shape);
    v.device = DeviceKind::Cuda;
    return v;
  }
};

/// Runs one case on the GPU; returns false on a failed comparison or error.
bool runCase(Device &dev, const std::string &dir, FILE *results) {
  auto report = [&](const std::string &line) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
    std::fprintf(results, "%s\n", line.c_str());
    std::fflush(results);
  };
  auto error = [&](const std::string &why) {
    report("FAIL " + dir + " ERROR " + why);
    return false;
  };
  Case c{dir, {}, {}};
  std::string why;
  if (!readSpec(c, why))
    return error(why);
  auto art = Artifact::readFile(dir + "/gpu.skim");
  if (!art)
    return error(art.message());
  auto exe = GpuExecutable::load(*art, dev);
  if (!exe)
    return error("load: " + exe.message());
  const Plan &plan = (*exe)->plan();
  uint64_t sum;
  std::string wantSum;
  if (!makeInputs(c, plan, sum, why))
    return error(why);
  if (!readFile(dir + "/inputs.fnv", wantSum) || wantSum != std::to_string(sum) + "\n")
    return error("the inputs made here differ from those the expected outputs came from");
  DeviceBuffers mem{dev, {}};
  std::vector<TensorView> ins;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    auto v = mem.upload(c.inBytes[i], findBuffer(plan, BufferDecl::Kind::Input, int(i))->dtype,
                        c.inputs[i].shape);
    if (!v)
      return error(v.message());
    ins.push_back(*v);
  }
  auto shapes = (*exe)->outputShapes(ins);
  if (!shapes)
    return error(shapes.message());
  std::vector<TensorView> outs;
  for (size_t i = 0; i < shapes->size(); ++i) {
    const BufferDecl *decl = findBuffer(plan, BufferDecl::Kind::Output, int(i));
    auto v = mem.upload(poisoned(decl->dtype, size_t(numel((*shapes)[i]))), decl->dtype,
                        (*shapes)[i]);
    if (!v)
      return error(v.message());
    outs.push_back(*v);
  }
  if (Status s = (*exe)->run(ins, outs, Stream{}); !s)
    return error("run: " + s.message());
  if (Status s = dev.synchronize(Stream{}); !s)
    return error("sync: " + s.message());
  bool ok = true;
  std::string line = dir;
  for (size_t i = 0; i < outs.size(); ++i) {
    DType t = outs[i].dtype;
    std::vector<char> got(size_t(outs[i].numel()) * dtypeSize(t));
    if (Status s = dev.copyToHost(got.data(), DevicePtr(uintptr_t(outs[i].data)),
                                  got.size());
        !s)
      return error("copy back: " + s.message());
    std::string want;
    readFile(dir + "/want" + std::to_string(i) + ".bin", want);
    ok &= compareOutput(i, t, got, want, line);
  }
  report((ok ? "PASS " : "FAIL ") + line);
  return ok;
}

/// Seconds a case may take before the watchdog ends the process:
/// $SKIM_GPUCHECK_TIMEOUT, 60 by default (compute-sanitizer is slow).
int caseTimeoutSeconds() {
  const char *env = std::getenv("SKIM_GPUCHECK_TIMEOUT");
  return env && std::atoi(env) > 0 ? std::atoi(env) : 60;
}

/// Writes "FAIL <case> TIMEOUT" and exits with kTimedOut when a case is
/// still running after `seconds`.
class Watchdog {
public:
  Watchdog(std::string dir, FILE *results, int seconds)
      : thread([this, dir = std::move(dir), results, seconds] {
          std::unique_lock<std::mutex> lock(mutex);
          if (cv.wait_for(lock, std::chrono::seconds(seconds), [this] { return done; }))
            return;
          std::fprintf(results, "FAIL %s TIMEOUT after %d s\n", dir.c_str(), seconds);
          std::fflush(results);
          std::printf("FAIL %s TIMEOUT after %d s\n", dir.c_str(), seconds);
          std::fflush(stdout);
          std::_Exit(kTimedOut);
        }) {}
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      done = true;
    }
    cv.notify_one();
    thread.join();
  }

private:
  std::mutex mutex;
  std::condition_variable cv;
  bool done = false;
  std::thread thread;
};

/// Times one case: inputs generated here, events around each run.
int timeCase(Device &dev, const std::string &dir, int repeats) {
  Case c{dir, {}, {}};
  std::string error;
  auto fail = [&](const std::string &why) {
    std::fprintf(stderr, "%s: %s\n", dir.c_str(), why.c_str());
    return 1;
  };
  if (!readSpec(c, error))
    return fail(error);
  auto art = Artifact::readFile(dir + "/gpu.skim");
  if (!art)
    return fail(art.message());
  auto exe = GpuExecutable::load(*art, dev);
  if (!exe)
    return fail("load: " + exe.message());
  const Plan &plan = (*exe)->plan();
  uint64_t sum;
  if (!makeInputs(c, plan, sum, error))
    return fail(error);
  DeviceBuffers mem{dev, {}};
  std::vector<TensorView> ins, outs;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    auto v = mem.upload(c.inBytes[i], findBuffer(plan, BufferDecl::Kind::Input, int(i))->dtype,
                        c.inputs[i].shape);
    if (!v)
      return fail(v.message());
    ins.push_back(*v);
  }
  auto shapes = (*exe)->outputShapes(ins);
  if (!shapes)
    return fail(shapes.message());
  for (size_t i = 0; i < shapes->size(); ++i) {
    DType t = findBuffer(plan, BufferDecl::Kind::Output, int(i))->dtype;
    auto v = mem.upload(poisoned(t, size_t(numel((*shapes)[i]))), t, (*shapes)[i]);
    if (!v)
      return fail(v.message());
    outs.push_back(*v);
  }
  auto stream = dev.createStream();
  auto start = dev.createEvent(), stop = dev.createEvent();
  if (!stream || !start || !stop)
    return fail("cannot create a stream or events");
  std::vector<float> ms;
  for (int r = 0; r <= repeats; ++r) {
    (void)dev.record(*start, *stream);
    if (Status s = (*exe)->run(ins, outs, *stream); !s)
      return fail("run: " + s.message());
    (void)dev.record(*stop, *stream);
    (void)dev.synchronize(*stop);
    auto t = dev.elapsedMs(*start, *stop);
    if (r > 0 && t) // the first run warms up
      ms.push_back(*t);
  }
  if (ms.empty())
    return fail("no timed run");
  std::sort(ms.begin(), ms.end());
  std::printf("time %s median_ms %.4f\n", dir.c_str(), ms[ms.size() / 2]);
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  std::string mode = argc >= 2 ? argv[1] : "";
  if (mode == "gen" && argc >= 3) {
    int rc = 0;
    for (int i = 2; i < argc; ++i)
      rc |= gen(argv[i]);
    return rc;
  }
  bool runs = (mode == "run" || mode == "time") && argc >= 4;
  if (!runs && mode != "probe") {
    std::fprintf(stderr, "usage: gpucheck gen <case>... | gpucheck run <results> <case>... | "
                         "gpucheck time <case> <repeats> | gpucheck probe\n");
    return 2;
  }
  std::vector<std::string> notes;
  auto devices = discoverDevices(&notes);
  Device *cuda = nullptr;
  if (devices)
    for (auto &d : *devices)
      if (d->kind() == DeviceKind::Cuda && !cuda)
        cuda = d.get();
  if (!cuda) {
    std::fprintf(stderr, "no CUDA device: skipped\n");
    for (auto &n : notes)
      std::fprintf(stderr, "  %s\n", n.c_str());
    return kNoDevice;
  }
  std::printf("device: %s, arch %s, %s\n", cuda->name().c_str(), cuda->arch().c_str(),
              cuda->driver().c_str());
  if (mode == "probe")
    return 0;
  if (mode == "time")
    return timeCase(*cuda, argv[2], std::atoi(argv[3]));
  FILE *results = std::fopen(argv[2], "a");
  if (!results) {
    std::fprintf(stderr, "cannot open %s\n", argv[2]);
    return 2;
  }
  int failed = 0;
  for (int i = 3; i < argc; ++i) {
    // A kernel that never finishes (a lost barrier, a scratch slot never
    // freed) cannot be stopped from the host: record it and leave, so that
    // the script goes on with the next case in a new process.
    Watchdog watchdog(argv[i], results, caseTimeoutSeconds());
    failed += !runCase(*cuda, argv[i], results);
  }
  std::fclose(results);
  std::printf("%d of %d cases failed\n", failed, argc - 3);
  return failed ? 1 : 0;
}
