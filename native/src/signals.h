// Signals held while a native kernel runs (every N-API entry point of the addon).
#pragma once

#include <pthread.h>
#include <signal.h>

namespace fieldcal {

// Signals held back from the calling thread while a kernel runs, delivered when it returns. The
// cause: oneDNN's JIT GEMM kernels (jit_avx512_common_gemm_f32 and the AVX2 one, behind the
// dnnl_sgemm the LSTM kernels call) point rsp at a heap workspace while they run, so the kernel's
// signal frame for any handled signal lands in the heap (oneDNN issue #4845; fixed upstream in PR
// #4855, 2026, after Debian's 2.6.3). Seen here as a SIGPROF from node --cpu-prof or a handled
// SIGWINCH during lstmBackward at batch 400: "corrupted size vs. prev_size", "munmap_chunk():
// invalid pointer" or NaN (tests/unit/main/compute/nativeSignals.test.ts). Without this guard it
// crashes with ONEDNN_MAX_CPU_ISA=AVX2 or AVX512 and not with SSE41 (session 13, this Xeon).
// Threads a kernel starts (OpenMP and OpenBLAS workers, the physics pool's std::threads) inherit
// the held mask for life, so signals sent to the process go to threads outside the kernels. Side
// effects: a fault inside a kernel (SIGSEGV, SIGFPE) is delivered with its default action, past any
// installed handler; a CPU profile (SIGPROF) sees a kernel's call as one sample when it returns.
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
