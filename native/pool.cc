#include "pool.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace rm {
namespace {

// How long a thread that waits for the pool (a worker for the next loop, the caller for its loop's
// last items) polls before it sleeps. Loops come tens of microseconds apart in a training step (the
// LSTM's recurrent products, one per time step), and a sleep costs a futex wake-up on each side.
constexpr auto kSpin = std::chrono::microseconds(100);

// Polls `waiting` until it turns false or kSpin has passed.
template <class Pred>
void spin_while(Pred waiting) {
  const auto until = std::chrono::steady_clock::now() + kSpin;
  for (int n = 0; waiting(); n++) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
    if ((n & 63) == 63 && std::chrono::steady_clock::now() > until) return;
  }
}

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
    const int mine = take_items();
    done_ += mine;
    spin_while([this] { return done_.load() != items_ || active_.load() != 0; });
    std::unique_lock<std::mutex> lk(mu_);
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
    std::unique_lock<std::mutex> lk(mu_);
    uint64_t seen = generation_;
    for (;;) {
      if (!stop_ && generation_ == seen) {
        lk.unlock();
        spin_while([&] { return !stop_.load() && generation_.load() == seen; });
        lk.lock();
      }
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
  // Changed under mu_; atomic so that the spinning threads may poll them without it.
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> stop_{false};
  std::atomic<int> done_{0};
  std::atomic<int> active_{0};
  ItemFn fn_ = nullptr;
  void* ctx_ = nullptr;
  int items_ = 0;
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
