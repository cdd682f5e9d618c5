// Shared helpers of eva4j's CUDA kernels: block reductions in float and double, the grid-stride loop and the
// dropout hash of dev.eva4j.spi.DropoutMask. Included once, by eva4j_kernels.cu (one translation unit, one fatbin).
#pragma once

#include <stdint.h>

// Every kernel's block size is a multiple of 32 and at most 1024: reductions keep one partial per warp.
#define EVA4J_MAX_WARPS 32

typedef long long i64;

// for (i64 i = first; i < n; i += stride) over a 1-D grid of 1-D blocks
#define GRID_STRIDE(i, n) \
    for (i64 i = (i64) blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (i64) gridDim.x * blockDim.x)

__device__ __forceinline__ double warp_sum_d(double v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float warp_sum_f(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float warp_max_f(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_down_sync(0xffffffffu, v, o));
    return v;
}

// The sum of v over the block, returned to every thread. The order of the additions is fixed by the block shape
// (lanes, then warps), so a result does not change from run to run. Uses `scratch` (EVA4J_MAX_WARPS doubles) and
// synchronises the block twice; every thread of the block must call it.
__device__ double block_sum_d(double v, double* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    v = warp_sum_d(v);
    __syncthreads();                 // scratch may still be read by a previous call
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    double total = 0;
    for (int w = 0; w < warps; w++) total += scratch[w];
    return total;
}

// As block_sum_d for the maximum of floats (-inf when every v is -inf).
__device__ float block_max_f(float v, float* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    v = warp_max_f(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    float m = scratch[0];
    for (int w = 1; w < warps; w++) m = fmaxf(m, scratch[w]);
    return m;
}

// dev.eva4j.spi.DropoutMask.hash: MurmurHash3's finaliser over seedWord ^ (index * 0x85EBCA6B), in unsigned 32-bit
// arithmetic (Java's int arithmetic wraps the same way; its >>> is this unsigned shift). `index` is taken modulo 2^32.
__host__ __device__ __forceinline__ uint32_t dropout_hash(uint32_t seed_word, i64 index) {
    uint32_t x = seed_word ^ ((uint32_t) index * 0x85EBCA6Bu);
    x += 0x632BE5ABu;
    x ^= x >> 16;
    x *= 0x85EBCA6Bu;
    x ^= x >> 13;
    x *= 0xC2B2AE35u;
    x ^= x >> 16;
    return x;
}

// DropoutMask.factor: `keep` (= 1f / (1f - p), computed by the caller in float) when (hash >>> 8) >= threshold
// (= DropoutMask.threshold(p)), else 0.
__host__ __device__ __forceinline__ float dropout_factor(uint32_t seed_word, uint32_t threshold, float keep, i64 index) {
    return (dropout_hash(seed_word, index) >> 8) >= threshold ? keep : 0.0f;
}
