//===- Fiber.cpp - cooperative contexts for emulated threads --------------===//

#include "Fiber.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sys/mman.h>
#include <unistd.h>
#include <vector>

using namespace skim::emu::detail;

namespace {

/// A lane's stack holds the compiled lane function's frame (its register
/// arrays and spills) and the emulator calls below it.
constexpr size_t kStackBytes = 256 * 1024;

/// Stacks are mapped once per OS thread and reused by every CTA it runs: a
/// grid of many CTAs would otherwise map and unmap thousands of them.
struct StackPool {
  std::vector<char *> free;
  size_t page = size_t(sysconf(_SC_PAGESIZE));

  char *take() {
    if (!free.empty()) {
      char *s = free.back();
      free.pop_back();
      return s;
    }
    // A guard page below the stack turns an overflow into a fault instead of
    // a write into the neighbouring lane's stack.
    void *p = mmap(nullptr, kStackBytes + page, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1,
                   0);
    if (p == MAP_FAILED) {
      std::fprintf(stderr, "skim lane emulator: cannot map a lane stack\n");
      std::abort();
    }
    mprotect(p, page, PROT_NONE);
    return static_cast<char *>(p) + page;
  }
  void give(char *s) { free.push_back(s); }
  ~StackPool() {
    for (char *s : free)
      munmap(s - page, kStackBytes + page);
  }
};

thread_local StackPool pool;

} // namespace

/// makecontext passes ints only: the fiber's address in two halves.
void Fiber::trampoline(unsigned hi, unsigned lo) {
  auto *fiber = reinterpret_cast<Fiber *>(uintptr_t(hi) << 32 | uintptr_t(lo));
  fiber->entry(fiber->arg);
}

Fiber::~Fiber() {
  if (stack)
    pool.give(stack);
}

void Fiber::start(void (*entry)(void *), void *arg, ucontext_t *scheduler) {
  if (!stack)
    stack = pool.take();
  getcontext(&context);
  context.uc_stack.ss_sp = stack;
  context.uc_stack.ss_size = kStackBytes;
  context.uc_link = scheduler;
  this->entry = entry;
  this->arg = arg;
  auto bits = reinterpret_cast<uintptr_t>(this);
  makecontext(&context, reinterpret_cast<void (*)()>(&trampoline), 2,
              unsigned(bits >> 32), unsigned(bits & 0xffffffffu));
}

void Fiber::resume(ucontext_t *scheduler) { swapcontext(scheduler, &context); }

void Fiber::suspend(ucontext_t *scheduler) { swapcontext(&context, scheduler); }
