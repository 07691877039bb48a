// Signals held while a native kernel runs (every N-API entry point of the addon).
#pragma once

#include <pthread.h>
#include <signal.h>

namespace fieldcal {

// Signals held back from the calling thread while a kernel runs, delivered when it returns. A
// signal handled on the thread while a kernel ran broke the kernel: a SIGPROF (node --cpu-prof,
// about one a millisecond) or a SIGWINCH with a handler, arriving during lstmBackward at batch 400,
// corrupted the heap ("corrupted size vs. prev_size", "unaligned tcache chunk") or gave NaN, on the
// Intel Xeon of session 9 (tests/unit/main/compute/nativeSignals.test.ts). Where in the kernels the
// signal frame does harm was not found; not AMX state (the same with ONEDNN_MAX_CPU_ISA=AVX2).
// A stop-gap, not the cure: the kernels' own fault is not found (next: valgrind or ASan on
// tests/helpers/nativeSignals.mjs without this guard). Threads a kernel starts (OpenMP and OpenBLAS
// workers, the physics pool's std::threads) inherit the held mask for life, so signals sent to the
// process go to threads outside the kernels. Side effects: a fault inside a kernel (SIGSEGV, SIGFPE)
// is delivered with its default action, past any installed handler; a CPU profile (SIGPROF) sees a
// kernel's call as one sample when it returns.
class SignalsHeld {
 public:
  SignalsHeld() {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old_);
  }
  ~SignalsHeld() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }
  SignalsHeld(const SignalsHeld&) = delete;
  SignalsHeld& operator=(const SignalsHeld&) = delete;

 private:
  sigset_t old_;
};

}  // namespace fieldcal
