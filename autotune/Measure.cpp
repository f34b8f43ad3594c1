//===- Measure.cpp - timing a compiled variant on a device ----------------===//

#include "autotune/Measure.h"

#include "skim/runtime/CpuExecutable.h"
#include "skim/runtime/GpuExecutable.h"
#include "skim/runtime/Tensor.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <numeric>
#include <random>

namespace skim::tune {

using namespace skim::rt;

namespace {

int64_t numel(const std::vector<int64_t> &shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

void store(char *out, DType dtype, int64_t i, float value) {
  switch (dtype) {
  case DType::F32:
    std::memcpy(out + 4 * i, &value, 4);
    return;
  case DType::I32: {
    int32_t v = int32_t(value);
    std::memcpy(out + 4 * i, &v, 4);
    return;
  }
  case DType::BF16: {
    uint16_t h = floatToBf16(value);
    std::memcpy(out + 2 * i, &h, 2);
    return;
  }
  case DType::F16: {
    _Float16 half = static_cast<_Float16>(value);
    std::memcpy(out + 2 * i, &half, 2);
    return;
  }
  }
}

/// Blocks the last token of selection row `row` may see (causal).
int64_t visibleBlocks(const InputSpec &s, int64_t row) {
  int64_t lastToken = std::min(s.tokens, (row + 1) * s.qBlock) - 1;
  int64_t position = lastToken + std::max<int64_t>(0, s.keys - s.tokens);
  int64_t blocks = (s.keys + s.kvBlock - 1) / s.kvBlock;
  return std::min(blocks, position / s.kvBlock + 1);
}

} // namespace

std::vector<char> makeInput(const InputSpec &spec, uint64_t seed) {
  int64_t n = numel(spec.shape);
  std::vector<char> bytes(size_t(n) * dtypeSize(spec.dtype));
  std::mt19937_64 rng(seed);
  switch (spec.fill) {
  case InputSpec::Fill::Signed:
  case InputSpec::Fill::Unit: {
    std::uniform_real_distribution<float> dist(
        spec.fill == InputSpec::Fill::Unit ? 0.f : -1.f, 1.f);
    for (int64_t i = 0; i < n; ++i)
      store(bytes.data(), spec.dtype, i, dist(rng));
    break;
  }
  case InputSpec::Fill::Selection:
  case InputSpec::Fill::Counts: {
    // [B, rows, H', n] or [B, rows, H']: the row index is dim 1.
    bool counts = spec.fill == InputSpec::Fill::Counts;
    int64_t entries = counts ? 1 : spec.shape.back();
    int64_t heads = spec.shape[2];
    int64_t rows = spec.shape[1];
    std::vector<int32_t> pool;
    for (int64_t i = 0; i < n / (heads * entries); ++i) {
      int64_t row = i % rows;
      int64_t visible = visibleBlocks(spec, row);
      for (int64_t h = 0; h < heads; ++h) {
        int64_t base = (i * heads + h) * entries;
        if (counts) {
          int64_t want = spec.shape.size() > 3 ? spec.shape[3] : 16;
          store(bytes.data(), spec.dtype, base,
                float(std::min<int64_t>(want, visible)));
          continue;
        }
        pool.resize(size_t(visible));
        std::iota(pool.begin(), pool.end(), 0);
        for (int64_t e = 0; e < entries; ++e) {
          int32_t block = -1;
          if (e < visible) {
            std::uniform_int_distribution<int64_t> pick(e, visible - 1);
            std::swap(pool[e], pool[pick(rng)]);
            block = pool[e];
          }
          store(bytes.data(), spec.dtype, base + e, float(block));
        }
      }
    }
    break;
  }
  }
  return bytes;
}

Expected<std::unique_ptr<Measurer>>
Measurer::create(Device &device, std::vector<InputSpec> inputs,
                 MeasureOptions options) {
  std::unique_ptr<Measurer> m(new Measurer(device, options));
  m->specs = std::move(inputs);
  size_t setBytes = 0;
  for (const InputSpec &s : m->specs)
    setBytes += size_t(numel(s.shape)) * dtypeSize(s.dtype);
  size_t copies = std::clamp<size_t>(
      setBytes ? (options.rotateBytes + setBytes - 1) / setBytes : 1, 1, 8);
  bool gpu = device.kind() != DeviceKind::Cpu;
  for (size_t c = 0; c < copies; ++c) {
    std::vector<Buffer> set;
    for (size_t i = 0; i < m->specs.size(); ++i) {
      Buffer b;
      b.host = makeInput(m->specs[i], options.seed + 1000 * c + i);
      if (gpu) {
        auto ptr = device.allocate(std::max<size_t>(b.host.size(), 1));
        if (!ptr)
          return Error{"cannot allocate input '" + m->specs[i].name + "' on " +
                       device.name() + ": " + ptr.message()};
        b.device = *ptr;
        if (Status s =
                device.copyToDevice(b.device, b.host.data(), b.host.size());
            !s)
          return Error{"cannot copy input '" + m->specs[i].name +
                       "': " + s.message()};
        b.host.clear();
        b.host.shrink_to_fit();
      }
      set.push_back(std::move(b));
    }
    m->sets.push_back(std::move(set));
  }
  if (!gpu)
    m->pool = std::make_unique<ThreadPool>();
  return m;
}

Measurer::~Measurer() {
  for (auto &set : sets)
    for (Buffer &b : set)
      if (b.device)
        (void)device.deallocate(b.device);
  for (Buffer &b : outputs)
    if (b.device)
      (void)device.deallocate(b.device);
}

Expected<double> Measurer::measure(const std::string &artifactBytes) {
  auto artifact = Artifact::deserialize(artifactBytes);
  if (!artifact)
    return Error{artifact.message()};
  bool gpu = device.kind() != DeviceKind::Cpu;
  std::unique_ptr<GpuExecutable> gpuExe;
  std::unique_ptr<CpuExecutable> cpuExe;
  if (gpu) {
    auto e = GpuExecutable::load(*artifact, device);
    if (!e)
      return Error{e.message()};
    gpuExe = std::move(*e);
  } else {
    auto e = CpuExecutable::load(*artifact);
    if (!e)
      return Error{e.message()};
    cpuExe = std::move(*e);
  }
  DeviceKind kind = device.kind();
  auto views = [&](std::vector<Buffer> &set) {
    std::vector<TensorView> v;
    for (size_t i = 0; i < set.size(); ++i) {
      TensorView t =
          TensorView::contiguous(set[i].data(), specs[i].dtype, specs[i].shape);
      t.device = kind;
      v.push_back(t);
    }
    return v;
  };
  std::vector<TensorView> first = views(sets[0]);
  auto shapes = gpu ? gpuExe->outputShapes(first) : cpuExe->outputShapes(first);
  if (!shapes)
    return Error{shapes.message()};
  const Plan &plan = gpu ? gpuExe->plan() : cpuExe->plan();
  // Outputs are made once, for the first artifact's shapes (every
  // candidate of a variant has the same results).
  if (outputs.empty() || outputShapes != *shapes) {
    for (Buffer &b : outputs)
      if (b.device)
        (void)device.deallocate(b.device);
    outputs.clear();
    outputShapes = *shapes;
    for (size_t i = 0; i < shapes->size(); ++i) {
      DType dtype = DType::F32;
      for (const BufferDecl &d : plan.buffers)
        if (d.kind == BufferDecl::Kind::Output && d.index == int(i))
          dtype = d.dtype;
      size_t bytes = size_t(numel((*shapes)[i])) * dtypeSize(dtype);
      Buffer b;
      if (gpu) {
        auto ptr = device.allocate(std::max<size_t>(bytes, 1));
        if (!ptr)
          return Error{"cannot allocate output " + std::to_string(i) + ": " +
                       ptr.message()};
        b.device = *ptr;
      } else {
        b.host.resize(bytes);
      }
      outputs.push_back(std::move(b));
    }
  }
  std::vector<TensorView> outViews;
  for (size_t i = 0; i < outputs.size(); ++i) {
    DType dtype = DType::F32;
    for (const BufferDecl &d : plan.buffers)
      if (d.kind == BufferDecl::Kind::Output && d.index == int(i))
        dtype = d.dtype;
    TensorView t =
        TensorView::contiguous(outputs[i].data(), dtype, outputShapes[i]);
    t.device = kind;
    outViews.push_back(t);
  }

  Stream stream{};
  Event start{}, stop{};
  if (gpu) {
    auto a = device.createEvent(), b = device.createEvent();
    if (!a || !b)
      return Error{"cannot create events: " + (a ? b.message() : a.message())};
    start = *a;
    stop = *b;
  }
  auto destroyEvents = [&] {
    if (gpu) {
      (void)device.destroyEvent(start);
      (void)device.destroyEvent(stop);
    }
  };
  std::vector<double> times;
  auto began = std::chrono::steady_clock::now();
  int warmup = options.warmup;
  for (int r = 0; r < warmup + options.repeats; ++r) {
    std::vector<TensorView> in = views(sets[next++ % sets.size()]);
    double ms = 0;
    if (gpu) {
      Status s = device.record(start, stream);
      if (s)
        s = gpuExe->run(in, outViews, stream);
      if (s)
        s = device.record(stop, stream);
      if (s)
        s = device.synchronize(stop);
      if (!s) {
        destroyEvents();
        return Error{s.message()};
      }
      auto elapsed = device.elapsedMs(start, stop);
      if (!elapsed) {
        destroyEvents();
        return Error{elapsed.message()};
      }
      ms = *elapsed;
    } else {
      auto t0 = std::chrono::steady_clock::now();
      if (Status s = cpuExe->run(in, outViews, *pool); !s)
        return Error{s.message()};
      ms = std::chrono::duration<double, std::milli>(
               std::chrono::steady_clock::now() - t0)
               .count();
    }
    if (r >= warmup)
      times.push_back(ms);
    else if (ms > 250 * options.maxSecondsPerConfig)
      warmup = r + 1; // a slow config needs no more warming up
    double spent =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - began)
            .count();
    // Enough: three timed runs once the time is spent, one when a single
    // run takes that long (a loser either way; the median of the fast
    // ones is what decides).
    if ((times.size() >= 3 && spent > options.maxSecondsPerConfig) ||
        (!times.empty() && spent > 3 * options.maxSecondsPerConfig))
      break;
  }
  destroyEvents();
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

} // namespace skim::tune
