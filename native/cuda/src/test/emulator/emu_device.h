// A CPU emulation of the CUDA device-side features eva4j's kernels use, so that the very same kernel source
// (src/main/cuda) can be compiled by a host C++ compiler and run in a test without a GPU: threadIdx/blockIdx/blockDim/
// gridDim, __shared__ memory, __syncthreads, warp shuffles, and the float intrinsics. Every CUDA thread of a block
// is a fiber (ucontext) of one OS thread; blocks run one after the other, so __shared__ can be a static variable.
// Barriers are real: a thread waits (yields) until every live thread of its block (warp, for shuffles) arrives.
// This checks the kernels' logic, indexing, reductions and the Java side's launches and argument passing; it says
// nothing about timing, memory coalescing or the GPU's own arithmetic (its erfc, expf, ... are the C library's).
#pragma once
#include <math.h>
#include <stdint.h>
#include <string.h>

struct dim3 {
    unsigned int x, y, z;
};

extern dim3 emu_thread_idx, emu_block_idx, emu_block_dim, emu_grid_dim;
#define threadIdx emu_thread_idx
#define blockIdx emu_block_idx
#define blockDim emu_block_dim
#define gridDim emu_grid_dim

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static

void emu_syncthreads();
void emu_warp_barrier();
extern double emu_shfl_slots[1024];

inline void __syncthreads() { emu_syncthreads(); }

inline int emu_linear_tid() {
    return (int) (threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z));
}

template <typename T>
inline T __shfl_down_sync(unsigned int, T v, int offset) {
    int t = emu_linear_tid();
    emu_shfl_slots[t] = (double) v;   // float -> double -> float is exact
    emu_warp_barrier();
    int lane = t & 31;
    T r = lane + offset < 32 ? (T) emu_shfl_slots[t + offset] : v;
    emu_warp_barrier();
    return r;
}

inline int min(int a, int b) { return a < b ? a : b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline void sincospi(double x, double* s, double* c) {
    *s = sin(M_PI * x);
    *c = cos(M_PI * x);
}
