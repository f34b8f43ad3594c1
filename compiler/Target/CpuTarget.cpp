//===- CpuTarget.cpp - LLVM dialect → host shared object ------------------===//

#include "Target/CpuTarget.h"

#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"

using namespace mlir;
using namespace mlir::skim;

HostCpu HostCpu::detect() {
  HostCpu host;
  host.triple = llvm::sys::getDefaultTargetTriple();
  host.cpu = llvm::sys::getHostCPUName().str();
  llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
  std::vector<std::string> enabled;
  for (const auto &f : features)
    enabled.push_back((f.second ? "+" : "-") + f.first().str());
  std::sort(enabled.begin(), enabled.end());
  for (const std::string &f : enabled)
    host.features += (host.features.empty() ? "" : ",") + f;
  if (features.lookup("avx512f"))
    host.vectorWidth = 16;
  else if (features.lookup("avx2") || features.lookup("avx"))
    host.vectorWidth = 8;
  return host;
}

std::string HostCpu::describe() const {
  return triple + ":" + cpu + ":" + features;
}

/// void <name>_entry(const int64_t *args, i64 x, i64 y, i64 z): unpacks the
/// kernel's parameters from 64-bit words, so the runtime calls every kernel
/// the same way whatever its signature.
static LogicalResult addEntry(llvm::Module &m, const std::string &name) {
  llvm::Function *kernel = m.getFunction(name);
  if (!kernel || kernel->arg_size() < 3)
    return failure();
  llvm::LLVMContext &ctx = m.getContext();
  auto *i64 = llvm::Type::getInt64Ty(ctx);
  auto *ptr = llvm::PointerType::getUnqual(ctx);
  auto *type = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx),
                                       {ptr, i64, i64, i64}, false);
  auto *entry = llvm::Function::Create(type, llvm::Function::ExternalLinkage,
                                       name + "_entry", m);
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", entry));
  std::vector<llvm::Value *> args;
  unsigned words = kernel->arg_size() - 3;
  for (unsigned i = 0; i < words; ++i) {
    llvm::Value *slot = b.CreateConstInBoundsGEP1_64(i64, entry->getArg(0), i);
    llvm::Value *word = b.CreateLoad(i64, slot);
    llvm::Type *want = kernel->getArg(i)->getType();
    if (want->isPointerTy())
      word = b.CreateIntToPtr(word, want);
    else if (want != i64)
      return failure();
    args.push_back(word);
  }
  for (unsigned i = 1; i <= 3; ++i)
    args.push_back(entry->getArg(i));
  b.CreateCall(kernel, args);
  b.CreateRetVoid();
  // Only entries are exported; the kernel inlines into its entry.
  kernel->setLinkage(llvm::GlobalValue::InternalLinkage);
  return success();
}

FailureOr<std::string> mlir::skim::buildCpuSharedObject(ModuleOp module,
                                                        ArrayRef<std::string> kernels,
                                                        const HostCpu &host) {
  registerBuiltinDialectTranslation(*module.getContext());
  registerLLVMDialectTranslation(*module.getContext());
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();

  llvm::LLVMContext ctx;
  std::unique_ptr<llvm::Module> m = translateModuleToLLVMIR(module, ctx, "skim");
  if (!m)
    return module.emitError("cannot translate the kernels to LLVM IR");
  for (const std::string &k : kernels)
    if (failed(addEntry(*m, k)))
      return module.emitError() << "kernel '" << k << "' is missing or has "
                                   "parameters other than pointers and i64";

  std::string error;
  llvm::Triple triple(host.triple);
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return module.emitError() << "no LLVM target for " << host.triple << ": " << error;
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      triple, host.cpu, host.features, llvm::TargetOptions(), llvm::Reloc::PIC_,
      std::nullopt, llvm::CodeGenOptLevel::Aggressive));
  m->setTargetTriple(triple);
  m->setDataLayout(tm->createDataLayout());

  {
    llvm::LoopAnalysisManager lam;
    llvm::FunctionAnalysisManager fam;
    llvm::CGSCCAnalysisManager cam;
    llvm::ModuleAnalysisManager mam;
    llvm::PassBuilder pb(tm.get());
    pb.registerModuleAnalyses(mam);
    pb.registerCGSCCAnalyses(cam);
    pb.registerFunctionAnalyses(fam);
    pb.registerLoopAnalyses(lam);
    pb.crossRegisterProxies(lam, fam, cam, mam);
    pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3).run(*m, mam);
  }

  llvm::SmallString<0> object;
  {
    llvm::raw_svector_ostream os(object);
    llvm::legacy::PassManager pm;
    if (tm->addPassesToEmitFile(pm, os, nullptr, llvm::CodeGenFileType::ObjectFile))
      return module.emitError("the host target cannot emit object files");
    pm.run(*m);
  }

  // Link with lld: the object and the shared object live in temp files only
  // as long as this call.
  llvm::SmallString<128> objPath, soPath;
  int objFd;
  if (llvm::sys::fs::createTemporaryFile("skim-kernels", "o", objFd, objPath) ||
      llvm::sys::fs::createTemporaryFile("skim-kernels", "so", soPath))
    return module.emitError("cannot create temporary files for linking");
  {
    llvm::raw_fd_ostream out(objFd, /*shouldClose=*/true);
    out << object;
  }
  llvm::ErrorOr<std::string> lld =
      llvm::sys::findProgramByName("ld.lld", {LLVM_TOOLS_BINARY_DIR_FOR_SKIM});
  if (!lld)
    lld = llvm::sys::findProgramByName("ld.lld-22");
  if (!lld) {
    llvm::sys::fs::remove(objPath);
    return module.emitError("cannot find ld.lld (install lld-22)");
  }
  std::string message;
  llvm::StringRef args[] = {*lld, "-shared", "--no-undefined-version", "-o",
                            soPath, objPath};
  int rc = llvm::sys::ExecuteAndWait(*lld, args, std::nullopt, {}, 0, 0, &message);
  llvm::sys::fs::remove(objPath);
  if (rc != 0) {
    llvm::sys::fs::remove(soPath);
    return module.emitError() << "ld.lld failed (" << rc << "): " << message;
  }
  auto buffer = llvm::MemoryBuffer::getFile(soPath);
  llvm::sys::fs::remove(soPath);
  if (!buffer)
    return module.emitError("cannot read the linked shared object back");
  return (*buffer)->getBuffer().str();
}
