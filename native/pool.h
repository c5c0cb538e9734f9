// A tiny persistent thread pool for the kernels: one parallel loop at a time, items handed out
// dynamically (so a worker that the OS schedules late does not hold the others up).
#pragma once
#include <cstddef>

namespace rm {

// Number of threads a parallel loop uses, the calling thread included (>= 1).
int pool_threads();
// Resizes the pool to n threads in all (n - 1 workers); returns the number actually running.
int pool_set_threads(int n);

using ItemFn = void (*)(void* ctx, int item);
void pool_run(int items, ItemFn fn, void* ctx);

// Work below this many element-operations runs on the calling thread: waking a worker costs
// microseconds, more than small loops take.
constexpr size_t kMinParallelWork = 32768;

// Runs body(i) for every i in [0, items). `work` is the total amount of work (elements), used only
// to run small loops inline. Items must write disjoint outputs; how items are split must not depend
// on the thread count, so that results do not either.
template <class Body>
void parallel_for(int items, size_t work, Body&& body) {
  if (items <= 0) return;
  if (items == 1 || work < kMinParallelWork || pool_threads() == 1) {
    for (int i = 0; i < items; i++) body(i);
    return;
  }
  pool_run(items, [](void* ctx, int i) { (*static_cast<Body*>(ctx))(i); }, &body);
}

// Scratch doubles owned by the calling thread, valid until its next call (grows, never shrinks:
// no fresh pages per call).
double* scratch_f64(size_t n);

}  // namespace rm
