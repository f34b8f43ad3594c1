//===- ThreadPool.cpp - the CPU device's workers --------------------------===//

#include "skim/runtime/ThreadPool.h"

#include <cstdlib>
#include <thread>

using namespace skim::rt;

static constexpr size_t kWorkerStack = 64ull << 20;

ThreadPool::ThreadPool(unsigned threads) {
  if (threads == 0) {
    if (const char *env = std::getenv("SKIM_NUM_THREADS"))
      threads = static_cast<unsigned>(std::atoi(env));
    if (threads == 0)
      threads = std::max(1u, std::thread::hardware_concurrency());
  }
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, kWorkerStack);
  for (unsigned i = 0; i < threads; ++i) {
    pthread_t t;
    if (pthread_create(&t, &attr, &ThreadPool::workerMain, this) == 0)
      workers.push_back(t);
  }
  pthread_attr_destroy(&attr);
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex);
    stopping = true;
  }
  wake.notify_all();
  for (pthread_t t : workers)
    pthread_join(t, nullptr);
}

void *ThreadPool::workerMain(void *self) {
  static_cast<ThreadPool *>(self)->work();
  return nullptr;
}

void ThreadPool::work() {
  uint64_t seen = 0;
  std::unique_lock<std::mutex> lock(mutex);
  while (true) {
    wake.wait(lock, [&] { return stopping || generation != seen; });
    if (stopping)
      return;
    seen = generation;
    while (next < total) {
      int64_t i = next++;
      const std::function<void(int64_t)> *fn = job;
      lock.unlock();
      (*fn)(i);
      lock.lock();
      if (++finished == total)
        done.notify_all();
    }
  }
}

void ThreadPool::parallelFor(int64_t n, const std::function<void(int64_t)> &fn) {
  if (n <= 0)
    return;
  if (workers.empty()) {
    for (int64_t i = 0; i < n; ++i)
      fn(i);
    return;
  }
  std::unique_lock<std::mutex> lock(mutex);
  job = &fn;
  total = n;
  next = 0;
  finished = 0;
  ++generation;
  wake.notify_all();
  done.wait(lock, [&] { return finished == total; });
  job = nullptr;
  total = 0;
}
