//===- GpuPlanTest.cpp - GPU launch plans and GpuExecutable ---------------===//
//
// Host tests run everywhere: parsing the GPU fields of a plan (launch
// attributes, TMA descriptor arguments, the binary entry) and their errors,
// and the refusals off a GPU (GpuExecutable on the CPU device, TMA encoding
// off CUDA). Cases tagged [gpu] pass with a warning without a CUDA driver; on
// a GPU they build an artifact from hand-written PTX (sm_90) and run it
// through GpuExecutable: two kernels chained through workspace, workspace
// the runtime zeroes before every run, and a kernel
// that loads 64x64 boxes with the bulk tensor copy through a TMA descriptor
// the runtime encodes at launch.
//
//===----------------------------------------------------------------------===//

#include "skim/runtime/CpuExecutable.h"
#include "skim/runtime/Device.h"
#include "skim/runtime/GpuExecutable.h"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <cstring>

using namespace skim::rt;

namespace {

bool contains(const std::string &haystack, const std::string &needle) {
  return haystack.find(needle) != std::string::npos;
}

/// The error of parsing `body` after the header; the test fails if it parses.
std::string parseError(const std::string &body) {
  Expected<Plan> plan = Plan::parse("skim-plan 1\n" + body);
  INFO(body);
  REQUIRE_FALSE(plan);
  return plan.message();
}

// Two buffers of rank 2 and 1, so box ranks can be wrong either way.
const char *kBuffers = "buffer 0 input 0 f32 2 d0.0 d0.1\n"
                       "buffer 1 output 0 f32 1 d0.0\n";

// x -> tmp = x * 2 + 1 -> y = tmp * 3 + 1, through a workspace buffer. The
// first kernel asks for dynamic shared memory, the second for clusters of 2
// (the tests pick n so that the grid divides).
const char *kChainPlan = "skim-plan 1\n"
                         "buffer 0 input 0 f32 1 d0.0\n"
                         "buffer 1 workspace -1 f32 1 d0.0\n"
                         "buffer 2 output 0 f32 1 d0.0\n"
                         "kernel scale_add grid d0.0,256,cdiv 1 1 args 4 t0 t1 "
                         "ed0.0 e2 block 256 1 1 smem 256,4,* cluster 1 1 1\n"
                         "kernel scale_add grid d0.0,256,cdiv 1 1 args 4 t1 t2 "
                         "ed0.0 e3 block 256 1 1 smem 0 cluster 2 1 1\n"
                         "binary cuda.ptx\n";

// Workspace zeroed before each run: the first kernel reads it (y = 0 * 3 +
// 1), the second then dirties it (ws = x * 2 + 1), so a second run sees ones
// again only if the runtime zeroes it again.
const char *kZeroedPlan = "skim-plan 1\n"
                          "buffer 0 input 0 f32 1 d0.0\n"
                          "buffer 1 workspace -1 f32 1 d0.0 zero\n"
                          "buffer 2 output 0 f32 1 d0.0\n"
                          "kernel scale_add grid d0.0,256,cdiv 1 1 args 4 t1 t2 "
                          "ed0.0 e3 block 256 1 1 smem 0 cluster 1 1 1\n"
                          "kernel scale_add grid d0.0,256,cdiv 1 1 args 4 t0 t1 "
                          "ed0.0 e2 block 256 1 1 smem 0 cluster 1 1 1\n"
                          "binary cuda.ptx\n";

// A 2-D copy through TMA: rows and columns dynamic, the source strided.
const char *kTmaPlan = "skim-plan 1\n"
                       "buffer 0 input 0 f32 2 d0.0 d0.1\n"
                       "buffer 1 output 0 f32 2 d0.0 d0.1\n"
                       "kernel tma_copy grid d0.1,64,cdiv d0.0,64,cdiv 1 args 5 "
                       "m0:64x64:none t1 ed0.0 ed0.1 es1.0 block 128 1 1\n"
                       "binary cuda.ptx\n";

// Written by hand for sm_90 (PTX 8.0); the driver JITs it.
constexpr char kPtx[] = R"(
.version 8.0
.target sm_90
.address_size 64

// out[i] = in[i] * s + 1 for i < n; n and s are plan scalars (int64).
.visible .entry scale_add(.param .u64 in, .param .u64 out, .param .u64 n,
                          .param .u64 s)
{
  .reg .pred %p<2>;
  .reg .b32 %r<4>;
  .reg .f32 %f<4>;
  .reg .b64 %rd<10>;
  ld.param.u64 %rd1, [in];
  ld.param.u64 %rd2, [out];
  ld.param.u64 %rd3, [n];
  ld.param.u64 %rd4, [s];
  mov.u32 %r1, %ctaid.x;
  mov.u32 %r2, %ntid.x;
  mov.u32 %r3, %tid.x;
  mul.wide.u32 %rd5, %r1, %r2;
  cvt.u64.u32 %rd6, %r3;
  add.s64 %rd5, %rd5, %rd6;
  setp.ge.s64 %p1, %rd5, %rd3;
  @%p1 bra SCALE_DONE;
  shl.b64 %rd6, %rd5, 2;
  cvta.to.global.u64 %rd7, %rd1;
  add.s64 %rd7, %rd7, %rd6;
  ld.global.f32 %f1, [%rd7];
  cvt.rn.f32.s64 %f2, %rd4;
  fma.rn.f32 %f3, %f1, %f2, 0f3F800000;
  cvta.to.global.u64 %rd8, %rd2;
  add.s64 %rd8, %rd8, %rd6;
  st.global.f32 [%rd8], %f3;
SCALE_DONE:
  ret;
}

// Block (x, y) loads the 64x64 f32 box at column 64x, row 64y of `src`
// with one bulk tensor copy (the descriptor is a 128-byte by-value
// parameter), then writes the box's in-bounds part to `dst`, whose rows are
// `stride` elements apart.
.visible .entry tma_copy(.param .align 128 .b8 src[128], .param .u64 dst,
                         .param .u64 rows, .param .u64 cols,
                         .param .u64 stride)
{
  .reg .pred %p<4>;
  .reg .b32 %r<12>;
  .reg .f32 %f<2>;
  .reg .b64 %rd<10>;
  .shared .align 128 .b8 tile[16384];
  .shared .align 8 .b64 bar;

  mov.b64 %rd1, src;
  cvta.param.u64 %rd1, %rd1;
  ld.param.u64 %rd2, [dst];
  ld.param.u64 %rd3, [rows];
  ld.param.u64 %rd4, [cols];
  ld.param.u64 %rd5, [stride];
  mov.u32 %r1, %ctaid.x;
  shl.b32 %r1, %r1, 6;
  mov.u32 %r2, %ctaid.y;
  shl.b32 %r2, %r2, 6;
  mov.u32 %r3, %tid.x;
  mov.u32 %r4, bar;
  mov.u32 %r5, tile;
  setp.ne.u32 %p1, %r3, 0;
  @%p1 bra TMA_SYNC;
  mbarrier.init.shared::cta.b64 [%r4], 1;
  fence.mbarrier_init.release.cluster;
TMA_SYNC:
  bar.sync 0;
  @%p1 bra TMA_WAIT;
  mov.u32 %r11, 16384;
  mbarrier.arrive.expect_tx.shared::cta.b64 _, [%r4], %r11;
  cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes [%r5], [%rd1, {%r1, %r2}], [%r4];
TMA_WAIT:
  mbarrier.try_wait.parity.shared::cta.b64 %p2, [%r4], 0;
  @!%p2 bra TMA_WAIT;
  mov.u32 %r6, %ntid.x;
  cvta.to.global.u64 %rd6, %rd2;
  mov.u32 %r7, %r3;
TMA_LOOP:
  setp.ge.u32 %p3, %r7, 4096;
  @%p3 bra TMA_DONE;
  shr.u32 %r8, %r7, 6;
  and.b32 %r9, %r7, 63;
  add.u32 %r8, %r8, %r2;
  add.u32 %r9, %r9, %r1;
  cvt.u64.u32 %rd7, %r8;
  cvt.u64.u32 %rd8, %r9;
  setp.ge.s64 %p2, %rd7, %rd3;
  setp.ge.or.s64 %p2, %rd8, %rd4, %p2;
  @%p2 bra TMA_NEXT;
  shl.b32 %r10, %r7, 2;
  add.u32 %r10, %r10, %r5;
  ld.shared.f32 %f1, [%r10];
  mad.lo.s64 %rd9, %rd7, %rd5, %rd8;
  shl.b64 %rd9, %rd9, 2;
  add.s64 %rd9, %rd6, %rd9;
  st.global.f32 [%rd9], %f1;
TMA_NEXT:
  add.u32 %r7, %r7, %r6;
  bra TMA_LOOP;
TMA_DONE:
  ret;
}
)";

Artifact gpuArtifact(const char *plan) {
  Artifact artifact;
  artifact.sections["compiler"] = "hand-written test";
  artifact.sections["plan"] = plan;
  artifact.sections["cuda.ptx"] = std::string(kPtx, sizeof(kPtx) - 1);
  return artifact;
}

/// The first CUDA device, or null after a warning when there is no driver.
std::unique_ptr<Device> cudaDeviceOrSkip() {
  auto driver = loadCudaDriver(defaultCudaLibraries());
  if (!driver) {
    WARN("skipped, no CUDA driver: " << driver.message());
    return nullptr;
  }
  auto devices = openCudaDevices(*driver);
  INFO(devices.message());
  REQUIRE(devices);
  REQUIRE(!devices->empty());
  return std::move(devices->front());
}

/// 90 for sm_90, 100 for sm_100.
int smVersion(const Device &device) {
  return std::atoi(device.arch().c_str() + 3);
}

/// Device memory freed at scope exit.
struct DeviceBuffer {
  DeviceBuffer(Device &device, size_t bytes) : device(device) {
    auto p = device.allocate(bytes);
    INFO(p.message());
    REQUIRE(p);
    ptr = *p;
  }
  ~DeviceBuffer() { (void)device.deallocate(ptr); }
  void *data() const { return reinterpret_cast<void *>(uintptr_t(ptr)); }
  Device &device;
  DevicePtr ptr = 0;
};

TensorView deviceView(const DeviceBuffer &b, std::vector<int64_t> shape,
                      DeviceKind kind) {
  TensorView v = TensorView::contiguous(b.data(), DType::F32, std::move(shape));
  v.device = kind;
  return v;
}

} // namespace

//===----------------------------------------------------------------------===//
// Parsing
//===----------------------------------------------------------------------===//

TEST_CASE("GPU launch attributes, TMA arguments and the binary entry parse",
          "[runtime][plan]") {
  auto plan = Plan::parse(std::string("skim-plan 1\n") + kBuffers +
                          "kernel k grid d0.0,64,cdiv 2 1 args 3 m0:64x32:128 "
                          "t1 ed0.1 block 128 2 1 smem d0.1,4,* cluster 2 1 1\n"
                          "kernel plain grid 1 1 1 args 1 t0\n"
                          "binary cuda.cubin\n");
  INFO(plan.message());
  REQUIRE(plan);
  CHECK(plan->binary == "cuda.cubin");
  REQUIRE(plan->kernels.size() == 2);
  const KernelDecl &k = plan->kernels[0];
  REQUIRE(k.args.size() == 3);
  CHECK(k.args[0].kind == KernelArg::Kind::TensorMap);
  CHECK(k.args[0].buffer == 0);
  CHECK(k.args[0].box == std::vector<int64_t>{64, 32});
  CHECK(k.args[0].swizzle == Swizzle::B128);
  CHECK(k.args[1].kind == KernelArg::Kind::Tensor);
  CHECK(k.args[1].buffer == 1);
  CHECK(k.args[2].kind == KernelArg::Kind::Scalar);
  CHECK(k.args[2].scalar.str() == "d0.1");
  CHECK(k.block == std::array<int64_t, 3>{128, 2, 1});
  CHECK(k.sharedBytes.str() == "d0.1,4,*");
  CHECK(k.cluster == std::array<int64_t, 3>{2, 1, 1});
  // A kernel without attributes is a CPU kernel: 1x1x1, no shared memory.
  const KernelDecl &plain = plan->kernels[1];
  CHECK(plain.block == std::array<int64_t, 3>{1, 1, 1});
  CHECK(plain.sharedBytes.str() == "0");
  CHECK(plain.cluster == std::array<int64_t, 3>{1, 1, 1});

  SECTION("every swizzle") {
    for (auto [text, swizzle] :
         {std::pair{"none", Swizzle::None}, std::pair{"32", Swizzle::B32},
          std::pair{"64", Swizzle::B64}, std::pair{"128", Swizzle::B128}}) {
      auto p = Plan::parse(std::string("skim-plan 1\n") + kBuffers +
                           "kernel k grid 1 1 1 args 1 m1:16:" + text + "\n");
      INFO(p.message());
      REQUIRE(p);
      CHECK(p->kernels[0].args[0].swizzle == swizzle);
      CHECK(std::string(swizzleName(swizzle)) == text);
    }
  }
  SECTION("attributes may be left out, the rest keeping their order") {
    auto p = Plan::parse(std::string("skim-plan 1\n") + kBuffers +
                         "kernel a grid 1 1 1 args 0 block 64 1 1\n"
                         "kernel b grid 1 1 1 args 0 smem 4096\n"
                         "kernel c grid 1 1 1 args 0 block 32 1 1 cluster 4 1 1\n");
    INFO(p.message());
    REQUIRE(p);
    CHECK(p->kernels[0].block[0] == 64);
    CHECK(p->kernels[0].sharedBytes.str() == "0");
    CHECK(p->kernels[1].block[0] == 1);
    CHECK(p->kernels[1].sharedBytes.str() == "4096");
    CHECK(p->kernels[2].cluster[0] == 4);
    CHECK(p->binary.empty());
  }
}

TEST_CASE("a plan without GPU fields parses as before", "[runtime][plan]") {
  // The causal example of docs/LaunchPlan.md.
  const char *text =
      "skim-plan 1\n"
      "buffer 0 input 0 f32 4 d0.0 d0.1 8 64\n"
      "buffer 1 input 1 f32 4 d1.0 d1.1 2 64\n"
      "buffer 2 input 2 f32 4 d2.0 d2.1 2 64\n"
      "buffer 3 output 0 f32 4 d0.0 d0.1 8 64\n"
      "buffer 4 output 1 f32 3 d0.0 8 d0.1\n"
      "kernel skim_k0_attention grid d0.1,16,cdiv 2 d0.0 args 22 t0 t1 t2 "
      "ed0.1 ed1.1 es0.0 es0.1 es0.2 es1.0 es1.1 es1.2 es2.0 es2.1 es2.2 t3 t4 "
      "es3.0 es3.1 es3.2 es4.0 es4.1 es4.2\n";
  auto plan = Plan::parse(text);
  INFO(plan.message());
  REQUIRE(plan);
  CHECK(plan->binary.empty());
  REQUIRE(plan->kernels.size() == 1);
  const KernelDecl &k = plan->kernels[0];
  CHECK(k.args.size() == 22);
  int tensors = 0;
  for (const KernelArg &a : k.args)
    tensors += a.kind == KernelArg::Kind::Tensor;
  CHECK(tensors == 5);
  CHECK(k.block == std::array<int64_t, 3>{1, 1, 1});
  CHECK(k.cluster == std::array<int64_t, 3>{1, 1, 1});
  CHECK(k.sharedBytes.str() == "0");
}

TEST_CASE("workspace marked zero is zeroed before each run", "[runtime][plan]") {
  auto plan = Plan::parse(kZeroedPlan);
  INFO(plan.message());
  REQUIRE(plan);
  CHECK_FALSE(plan->buffers[0].zeroed);
  CHECK(plan->buffers[1].zeroed);
  CHECK_FALSE(plan->buffers[2].zeroed);
  CHECK(contains(parseError("buffer 0 input 0 f32 1 d0.0 zero\n"),
                 "line 2: only workspace can be zeroed before a run"));
  CHECK(contains(parseError("buffer 0 workspace -1 i32 1 8 zeroes\n"),
                 "unexpected text after the buffer's dims ('zeroes')"));
  CHECK(contains(parseError("buffer 0 workspace -1 i32 1 8 zero zero\n"),
                 "unexpected text after the buffer's zero flag"));
}

TEST_CASE("malformed GPU fields are errors naming the line", "[runtime][plan]") {
  const std::string buffers = kBuffers;
  auto kernel = [&](const std::string &rest) {
    return parseError(buffers + "kernel k grid 1 1 1 " + rest + "\n");
  };
  SECTION("a swizzle that does not exist") {
    std::string e = kernel("args 1 m0:64x64:16");
    CHECK(contains(e, "launch plan line 4: "));
    CHECK(contains(e, "swizzle '16' (expected none, 32, 64 or 128)"));
  }
  SECTION("a box whose rank is not the buffer's") {
    CHECK(contains(kernel("args 1 m0:64:none"),
                   "has a rank-1 box over rank-2 buffer 0"));
    CHECK(contains(kernel("args 1 m1:8x8:none"),
                   "has a rank-2 box over rank-1 buffer 1"));
  }
  SECTION("box sizes that are not positive integers") {
    CHECK(contains(kernel("args 1 m0:64x0:none"), "box size '0'"));
    CHECK(contains(kernel("args 1 m0:64xq:none"), "box size 'q'"));
    CHECK(contains(kernel("args 1 m0::none"), "rank-0 box"));
  }
  SECTION("a descriptor argument without its parts") {
    CHECK(contains(kernel("args 1 m0:64x64"),
                   "expected m<buffer>:<box>:<swizzle>"));
    CHECK(contains(kernel("args 1 m0:64x64:none:x"),
                   "expected m<buffer>:<box>:<swizzle>"));
    CHECK(contains(kernel("args 1 m7:64x64:none"), "names unknown buffer m7"));
  }
  SECTION("launch attributes") {
    CHECK(contains(kernel("args 0 block 64 1"), "kernel block needs three sizes"));
    CHECK(contains(kernel("args 0 block 64 0 1"), "size '0' is not a positive"));
    CHECK(contains(kernel("args 0 cluster x 1 1"), "size 'x' is not a positive"));
    CHECK(contains(kernel("args 0 smem"), "kernel smem needs an expression"));
    CHECK(contains(kernel("args 0 smem 0 block 1 1 1"), "out of order"));
    CHECK(contains(kernel("args 0 block 1 1 1 block 1 1 1"), "repeated"));
    CHECK(contains(kernel("args 0 block 1 1 1 surprise"),
                   "unexpected text 'surprise' after the kernel's launch attributes"));
    CHECK(contains(kernel("args 0 t0"), "kernel has more args than it declares"));
  }
  SECTION("the binary entry") {
    CHECK(contains(parseError("binary\n"), "malformed binary entry"));
    CHECK(contains(parseError("binary a b\n"), "malformed binary entry"));
    CHECK(contains(parseError("binary cuda.ptx\nbinary cuda.cubin\n"),
                   "line 3: a second binary entry"));
  }
}

//===----------------------------------------------------------------------===//
// Refusals off a GPU
//===----------------------------------------------------------------------===//

TEST_CASE("GpuExecutable names what is missing", "[runtime][executable]") {
  std::unique_ptr<Device> cpu = openCpuDevice();
  SECTION("the CPU device") {
    auto exe = GpuExecutable::load(gpuArtifact(kChainPlan), *cpu);
    REQUIRE_FALSE(exe);
    CHECK(contains(exe.message(), "GpuExecutable needs a GPU device, not the CPU"));
    CHECK(contains(exe.message(), "CpuExecutable"));
  }
  SECTION("a binary entry naming a missing section") {
    Artifact artifact = gpuArtifact(kChainPlan);
    artifact.sections.erase("cuda.ptx");
    auto exe = GpuExecutable::load(artifact, *cpu);
    REQUIRE_FALSE(exe);
    CHECK(contains(exe.message(), "names section 'cuda.ptx', which the artifact "
                                  "lacks (it has: compiler, plan)"));
  }
  SECTION("a plan without a binary entry") {
    Artifact artifact;
    artifact.sections["plan"] = "skim-plan 1\nbuffer 0 input 0 f32 1 d0.0\n";
    auto exe = GpuExecutable::load(artifact, *cpu);
    REQUIRE_FALSE(exe);
    CHECK(contains(exe.message(), "names no GPU image (no 'binary' entry)"));
  }
  SECTION("no plan") {
    auto exe = GpuExecutable::load(Artifact(), *cpu);
    REQUIRE_FALSE(exe);
    CHECK(contains(exe.message(), "no launch plan"));
  }
}

TEST_CASE("TMA descriptors need a CUDA device", "[runtime][executable]") {
  std::unique_ptr<Device> cpu = openCpuDevice();
  std::vector<float> data(64 * 64);
  TensorMapSpec spec;
  spec.base = DevicePtr(uintptr_t(data.data()));
  spec.shape = {64, 64};
  spec.strides = {64, 1};
  spec.box = {64, 64};
  TensorMap map;
  Status s = cpu->encodeTensorMap(map, spec);
  REQUIRE_FALSE(s);
  CHECK(contains(s.message(), "TMA descriptors need a CUDA device; this is a cpu device"));
  CHECK(alignof(TensorMap) == 128);
}

TEST_CASE("the CPU refuses plans with TMA descriptors", "[runtime][executable]") {
  Artifact artifact;
  artifact.sections["plan"] = std::string("skim-plan 1\n") + kBuffers +
                              "kernel k grid 1 1 1 args 1 m0:8x8:none\n";
  artifact.sections["cpu.so"] = "";
  auto exe = CpuExecutable::load(artifact);
  REQUIRE_FALSE(exe);
  CHECK(contains(exe.message(), "kernel 'k' takes a TMA descriptor"));
}

//===----------------------------------------------------------------------===//
// On a CUDA device
//===----------------------------------------------------------------------===//

TEST_CASE("GpuExecutable runs two kernels chained through workspace",
          "[gpu][cuda]") {
  auto device = cudaDeviceOrSkip();
  if (!device)
    return;
  auto exe = GpuExecutable::load(gpuArtifact(kChainPlan), *device);
  INFO(exe.message());
  REQUIRE(exe);
  auto stream = device->createStream();
  REQUIRE(stream);

  // 1000 and 3000 elements: 4 and 12 blocks, so clusters of 2 divide them.
  for (int64_t n : {int64_t(1000), int64_t(1000), int64_t(3000), int64_t(1000)}) {
    INFO("n = " << n);
    std::vector<float> x(static_cast<size_t>(n)), y(static_cast<size_t>(n), -1.0f);
    for (int64_t i = 0; i < n; ++i)
      x[size_t(i)] = float(i % 97) - 40.0f;
    DeviceBuffer dx(*device, x.size() * sizeof(float));
    DeviceBuffer dy(*device, y.size() * sizeof(float));
    REQUIRE(device->copyToDevice(dx.ptr, x.data(), x.size() * sizeof(float),
                                 *stream));
    TensorView in = deviceView(dx, {n}, DeviceKind::Cuda);
    TensorView out = deviceView(dy, {n}, DeviceKind::Cuda);
    auto shapes = (*exe)->outputShapes({in});
    REQUIRE(shapes);
    CHECK((*shapes)[0] == std::vector<int64_t>{n});
    Status ran = (*exe)->run({in}, {out}, *stream);
    INFO(ran.message());
    REQUIRE(ran);
    REQUIRE(device->copyToHost(y.data(), dy.ptr, y.size() * sizeof(float),
                               *stream));
    REQUIRE(device->synchronize(*stream));
    for (int64_t i = 0; i < n; ++i)
      REQUIRE(y[size_t(i)] == (x[size_t(i)] * 2 + 1) * 3 + 1);
  }
  // The first run allocated; the second reused; 3000 grew it; 1000 fit.
  CHECK((*exe)->workspaceAllocations() == 2);
  // Empty tensors: both grids are 0 wide, so nothing launches.
  TensorView none = TensorView::contiguous(nullptr, DType::F32, {0});
  none.device = DeviceKind::Cuda;
  Status empty = (*exe)->run({none}, {none}, *stream);
  INFO(empty.message());
  CHECK(empty);
  CHECK((*exe)->workspaceAllocations() == 2);

  SECTION("tensors must live on the executable's device") {
    DeviceBuffer dx(*device, 1000 * sizeof(float));
    DeviceBuffer dy(*device, 1000 * sizeof(float));
    TensorView in = deviceView(dx, {1000}, DeviceKind::Cpu);
    TensorView out = deviceView(dy, {1000}, DeviceKind::Cuda);
    Status ran = (*exe)->run({in}, {out}, *stream);
    REQUIRE_FALSE(ran);
    CHECK(contains(ran.message(),
                   "input #0 is a cpu tensor, but this executable runs on cuda"));
    in.device = DeviceKind::Cuda;
    out.device = DeviceKind::Hip;
    ran = (*exe)->run({in}, {out}, *stream);
    REQUIRE_FALSE(ran);
    CHECK(contains(ran.message(), "output #0 is a hip tensor"));
  }
  CHECK(device->destroyStream(*stream));
}

TEST_CASE("GpuExecutable zeroes marked workspace before every run",
          "[gpu][cuda]") {
  auto device = cudaDeviceOrSkip();
  if (!device)
    return;
  auto exe = GpuExecutable::load(gpuArtifact(kZeroedPlan), *device);
  INFO(exe.message());
  REQUIRE(exe);
  auto stream = device->createStream();
  REQUIRE(stream);
  const int64_t n = 1000;
  std::vector<float> x(size_t(n), 5.0f);
  DeviceBuffer dx(*device, x.size() * sizeof(float));
  DeviceBuffer dy(*device, x.size() * sizeof(float));
  REQUIRE(device->copyToDevice(dx.ptr, x.data(), x.size() * sizeof(float), *stream));
  TensorView in = deviceView(dx, {n}, DeviceKind::Cuda);
  TensorView out = deviceView(dy, {n}, DeviceKind::Cuda);
  for (int run = 0; run < 2; ++run) {
    INFO("run " << run);
    std::vector<float> y(size_t(n), -1.0f);
    Status ran = (*exe)->run({in}, {out}, *stream);
    INFO(ran.message());
    REQUIRE(ran);
    REQUIRE(device->copyToHost(y.data(), dy.ptr, y.size() * sizeof(float), *stream));
    REQUIRE(device->synchronize(*stream));
    CHECK(y == std::vector<float>(size_t(n), 1.0f));
  }
  CHECK((*exe)->workspaceAllocations() == 1);
  CHECK(device->destroyStream(*stream));
}

TEST_CASE("GpuExecutable validates selection indices in device memory",
          "[gpu][cuda]") {
  auto device = cudaDeviceOrSkip();
  if (!device)
    return;
  // No kernels: only the check runs.
  auto exe = GpuExecutable::load(gpuArtifact("skim-plan 1\n"
                                             "buffer 0 input 0 i32 2 d0.0 2\n"
                                             "validate 0 4\n"
                                             "binary cuda.ptx\n"),
                                 *device);
  INFO(exe.message());
  REQUIRE(exe);
  std::vector<int32_t> indices = {0, 1, -1, 3, 2, 7};
  DeviceBuffer buffer(*device, indices.size() * sizeof(int32_t));
  REQUIRE(device->copyToDevice(buffer.ptr, indices.data(),
                               indices.size() * sizeof(int32_t)));
  TensorView view = TensorView::contiguous(buffer.data(), DType::I32, {3, 2});
  view.device = DeviceKind::Cuda;
  RunOptions validate;
  validate.validateIndices = true;
  CHECK((*exe)->run({view}, {}, Stream{}));
  Status bad = (*exe)->run({view}, {}, Stream{}, validate);
  REQUIRE_FALSE(bad);
  CHECK(contains(bad.message(), "input #0 entry [2, 1] is 7: a selection entry "
                                "must be -1 or a KV block in [0, 4)"));
  view.shape = {2, 2}; // the first four entries are fine
  CHECK((*exe)->run({view}, {}, Stream{}, validate));
}

TEST_CASE("TMA descriptors encode on a CUDA device", "[gpu][cuda]") {
  auto device = cudaDeviceOrSkip();
  if (!device)
    return;
  if (!device->features().tensorMaps) {
    WARN("skipped: " << device->driver() << " lacks cuTensorMapEncodeTiled");
    return;
  }
  DeviceBuffer buffer(*device, 100 * 132 * sizeof(float));
  TensorMapSpec spec;
  spec.base = buffer.ptr;
  spec.shape = {100, 130};
  spec.strides = {132, 1};
  spec.box = {64, 64};
  TensorMap map;
  Status ok = device->encodeTensorMap(map, spec);
  INFO(ok.message());
  CHECK(ok);
  bool written = false;
  for (unsigned char byte : map.bytes)
    written |= byte != 0;
  CHECK(written);

  spec.box = {64, 512}; // boxes are at most 256 per dim
  Status big = device->encodeTensorMap(map, spec);
  REQUIRE_FALSE(big);
  CHECK(contains(big.message(), "cuTensorMapEncodeTiled failed: CUDA_ERROR_"));
  CHECK(contains(big.message(), "box [64, 512]"));

  spec.box = {64, 64};
  spec.strides = {130, 1}; // 520-byte rows: not a multiple of 16
  Status stride = device->encodeTensorMap(map, spec);
  REQUIRE_FALSE(stride);
  CHECK(contains(stride.message(), "cuTensorMapEncodeTiled failed: CUDA_ERROR_"));

  spec.strides = {132, 2};
  Status inner = device->encodeTensorMap(map, spec);
  REQUIRE_FALSE(inner);
  CHECK(contains(inner.message(), "unit stride in the innermost dim"));
}

TEST_CASE("GpuExecutable passes TMA descriptors to a bulk tensor copy",
          "[gpu][cuda]") {
  auto device = cudaDeviceOrSkip();
  if (!device)
    return;
  if (!device->features().tensorMaps || smVersion(*device) < 90) {
    WARN("skipped: " << device->name() << " (" << device->arch() << ", "
                     << device->driver() << ") has no TMA");
    return;
  }
  auto exe = GpuExecutable::load(gpuArtifact(kTmaPlan), *device);
  INFO(exe.message());
  REQUIRE(exe);
  auto stream = device->createStream();
  REQUIRE(stream);
  // 100x130 through 64x64 boxes: 3x2 blocks, the last ones partly out of
  // bounds. The source's rows are 132 elements apart (TMA wants strides in
  // multiples of 16 bytes); the destination is contiguous.
  const int64_t rows = 100, cols = 130, pitch = 132;
  std::vector<float> x(size_t(rows * pitch), -7.0f);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      x[size_t(r * pitch + c)] = float(r * 1000 + c);
  std::vector<float> y(size_t(rows * cols), -1.0f);
  DeviceBuffer dx(*device, x.size() * sizeof(float));
  DeviceBuffer dy(*device, y.size() * sizeof(float));
  REQUIRE(device->copyToDevice(dx.ptr, x.data(), x.size() * sizeof(float), *stream));
  TensorView in = deviceView(dx, {rows, cols}, DeviceKind::Cuda);
  in.strides = {pitch, 1};
  TensorView out = deviceView(dy, {rows, cols}, DeviceKind::Cuda);
  for (int repeat = 0; repeat < 2; ++repeat) {
    Status ran = (*exe)->run({in}, {out}, *stream);
    INFO(ran.message());
    REQUIRE(ran);
  }
  REQUIRE(device->copyToHost(y.data(), dy.ptr, y.size() * sizeof(float), *stream));
  REQUIRE(device->synchronize(*stream));
  int64_t wrong = 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      wrong += y[size_t(r * cols + c)] != float(r * 1000 + c);
  CHECK(wrong == 0);
  CHECK((*exe)->workspaceAllocations() == 0);

  SECTION("a descriptor the driver refuses names the kernel and argument") {
    TensorView odd = in;
    odd.strides = {cols, 1}; // 520-byte rows
    DeviceBuffer dz(*device, x.size() * sizeof(float));
    odd.data = dz.data();
    Status ran = (*exe)->run({odd}, {out}, *stream);
    REQUIRE_FALSE(ran);
    INFO(ran.message());
    CHECK(contains(ran.message(), "tma_copy: argument 0 (m0:64x64:none): "
                                  "cuTensorMapEncodeTiled failed: CUDA_ERROR_"));
  }
  CHECK(device->destroyStream(*stream));
}
