#include "pool.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace rm {
namespace {

class Pool {
 public:
  ~Pool() { resize(1); }

  int threads() const { return static_cast<int>(workers_.size()) + 1; }

  int resize(int n) {
    std::lock_guard<std::mutex> submit(submit_mu_);
    stop_workers();
    for (int i = 1; i < n; i++) {
      try {
        workers_.emplace_back([this] { work(); });
      } catch (...) {
        break;  // could not start a thread: run with fewer
      }
    }
    return threads();
  }

  void run(int items, ItemFn fn, void* ctx) {
    // The pool serves one loop at a time; a second caller (another JS thread) runs its loop itself.
    std::unique_lock<std::mutex> submit(submit_mu_, std::try_to_lock);
    if (!submit.owns_lock() || workers_.empty()) {
      for (int i = 0; i < items; i++) fn(ctx, i);
      return;
    }
    {
      std::lock_guard<std::mutex> lk(mu_);
      fn_ = fn;
      ctx_ = ctx;
      items_ = items;
      next_.store(0, std::memory_order_relaxed);
      done_ = 0;
      generation_++;
    }
    wake_.notify_all();
    int mine = take_items();
    std::unique_lock<std::mutex> lk(mu_);
    done_ += mine;
    finished_.wait(lk, [this] { return done_ == items_ && active_ == 0; });
    fn_ = nullptr;
  }

 private:
  int take_items() {
    int n = 0;
    for (int i; (i = next_.fetch_add(1, std::memory_order_relaxed)) < items_; n++) fn_(ctx_, i);
    return n;
  }

  void work() {
    uint64_t seen = 0;
    std::unique_lock<std::mutex> lk(mu_);
    seen = generation_;
    for (;;) {
      wake_.wait(lk, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      if (fn_ == nullptr) continue;
      active_++;
      lk.unlock();
      int n = take_items();
      lk.lock();
      done_ += n;
      active_--;
      if (done_ == items_ && active_ == 0) finished_.notify_one();
    }
  }

  void stop_workers() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_ = true;
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
    stop_ = false;
  }

  std::mutex submit_mu_;
  std::mutex mu_;
  std::condition_variable wake_, finished_;
  std::vector<std::thread> workers_;
  uint64_t generation_ = 0;
  bool stop_ = false;
  ItemFn fn_ = nullptr;
  void* ctx_ = nullptr;
  int items_ = 0;
  int done_ = 0;
  int active_ = 0;
  std::atomic<int> next_{0};
};

Pool& pool() {
  static Pool* p = new Pool();  // never destroyed: workers must not be joined during static teardown
  return *p;
}

}  // namespace

int pool_threads() { return pool().threads(); }
int pool_set_threads(int n) { return pool().resize(n < 1 ? 1 : n); }
void pool_run(int items, ItemFn fn, void* ctx) { pool().run(items, fn, ctx); }

double* scratch_f64(size_t n) {
  thread_local std::vector<double> buf;
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}

}  // namespace rm
