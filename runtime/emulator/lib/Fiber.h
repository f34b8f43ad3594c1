//===- Fiber.h - cooperative contexts for emulated threads ------*- C++ -*-===//
//
// One fiber per GPU thread of a CTA. A CTA runs on one OS thread and its
// fibers never move to another, so switching needs no locks, and the CPU
// runtime's pool can run several CTAs at once, each on its own thread.
//
//===----------------------------------------------------------------------===//

#ifndef SKIM_EMULATOR_FIBER_H
#define SKIM_EMULATOR_FIBER_H

#include <ucontext.h>

namespace skim::emu::detail {

class Fiber {
public:
  Fiber() = default;
  Fiber(const Fiber &) = delete;
  Fiber &operator=(const Fiber &) = delete;
  ~Fiber();

  /// Prepares the fiber to call entry(arg) on its own stack when first
  /// resumed; when entry returns, control goes back to `scheduler`.
  void start(void (*entry)(void *), void *arg, ucontext_t *scheduler);
  /// Runs the fiber until it suspends or ends (from the scheduler).
  void resume(ucontext_t *scheduler);
  /// Goes back to the scheduler (from the fiber).
  void suspend(ucontext_t *scheduler);

private:
  static void trampoline(unsigned hi, unsigned lo);

  ucontext_t context;
  char *stack = nullptr;
  void (*entry)(void *) = nullptr;
  void *arg = nullptr;
};

} // namespace skim::emu::detail

#endif // SKIM_EMULATOR_FIBER_H
