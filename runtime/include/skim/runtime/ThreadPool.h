//===- ThreadPool.h - the CPU device's workers ------------------*- C++ -*-===//
//
// Persistent workers that run a grid's blocks; the caller waits. Workers have
// large stacks because kernels keep per-block scratch (a row of block scores)
// on the stack, as a GPU keeps it in shared memory.
//
//===----------------------------------------------------------------------===//

#ifndef SKIM_RUNTIME_THREADPOOL_H
#define SKIM_RUNTIME_THREADPOOL_H

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <pthread.h>
#include <vector>

namespace skim::rt {

class ThreadPool {
public:
  /// `threads` = 0 uses every hardware thread (or $SKIM_NUM_THREADS).
  explicit ThreadPool(unsigned threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool &) = delete;
  ThreadPool &operator=(const ThreadPool &) = delete;

  unsigned size() const { return static_cast<unsigned>(workers.size()); }
  /// Runs fn(i) for i in [0, n) on the workers and returns when all are done.
  void parallelFor(int64_t n, const std::function<void(int64_t)> &fn);

private:
  static void *workerMain(void *self);
  void work();

  std::vector<pthread_t> workers;
  std::mutex mutex;
  std::condition_variable wake, done;
  const std::function<void(int64_t)> *job = nullptr;
  int64_t total = 0, next = 0, finished = 0;
  uint64_t generation = 0;
  bool stopping = false;
};

} // namespace skim::rt

#endif // SKIM_RUNTIME_THREADPOOL_H
