// LayerNorm and RMSNorm, forward and backward, over rows of C channels. Row statistics in float64; the forward's
// normalisation in float in the order (x - mean) * rstd * w + b with mean and rstd rounded to float (the host
// kernels' order). Row kernels: one block of 256 threads per row, grid (N); a row is read from global memory per
// pass (it stays in L1/L2). The weight gradients are column sums in two passes: per-chunk float64 partials
// (grid (ceil(C / 32), chunks), block (32, 8)), then eva4j_add_partials.
#pragma once
#include "common.cuh"

// out = (inp - mean) * rstd * weight + bias per row; mean = sum / C, var = sum (x - mean)^2 / C (two passes, float64),
// rstd = 1 / sqrt(var + eps). mean and rstd [N] are written when not null. out may be inp.
extern "C" __global__ void eva4j_layernorm_forward(float* out, float* mean, float* rstd, const float* inp,
                                                  const float* weight, const float* bias, int N, int C, float eps) {
    __shared__ double scratch[EVA4J_MAX_WARPS];
    int n = blockIdx.x;
    if (n >= N) return;
    const float* x = inp + (i64) n * C;
    double s = 0;
    for (int c = threadIdx.x; c < C; c += blockDim.x) s += x[c];
    double mu = block_sum_d(s, scratch) / C;
    double sq = 0;
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        double d = (double) x[c] - mu;
        sq += d * d;
    }
    sq = block_sum_d(sq, scratch);
    float m = (float) mu;
    float r = (float) (1.0 / sqrt(sq / C + (double) eps));
    if (threadIdx.x == 0 && mean != nullptr) {
        mean[n] = m;
        rstd[n] = r;
    }
    float* o = out + (i64) n * C;
    for (int c = threadIdx.x; c < C; c += blockDim.x) o[c] = __fadd_rn(__fmul_rn(__fmul_rn(x[c] - m, r), weight[c]), bias[c]);
}

// dinp[n, :] += (dnorm - mean(dnorm) - norm mean(dnorm norm)) rstd, dnorm = dout w, norm = (x - mean) rstd, all in
// float64 (the sum rounded once). One block per row; launched only when dinp is wanted.
extern "C" __global__ void eva4j_layernorm_backward(float* dinp, const float* dout, const float* inp,
                                                   const float* weight, const float* mean, const float* rstd,
                                                   int N, int C) {
    __shared__ double scratch[EVA4J_MAX_WARPS];
    int n = blockIdx.x;
    if (n >= N) return;
    const float* d = dout + (i64) n * C;
    const float* x = inp + (i64) n * C;
    double m = mean[n], r = rstd[n];
    double s1 = 0, s2 = 0;
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        double norm = ((double) x[c] - m) * r, dn = (double) d[c] * (double) weight[c];
        s1 += dn;
        s2 += dn * norm;
    }
    double meanDn = block_sum_d(s1, scratch) / C;
    double meanDnNorm = block_sum_d(s2, scratch) / C;
    float* g = dinp + (i64) n * C;
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        double norm = ((double) x[c] - m) * r, dn = (double) d[c] * (double) weight[c];
        g[c] = (float) ((double) g[c] + (dn - meanDn - norm * meanDnNorm) * r);
    }
}

// Per chunk y of rows: pw[y * C + c] = sum dout norm, pb[y * C + c] = sum dout (float64), norm = (x - mean) rstd.
// Either pw or pb may be null. Block (32, 8); grid (ceil(C / 32), chunks).
extern "C" __global__ void eva4j_layernorm_param_partials(double* pw, double* pb, const float* dout, const float* inp,
                                                         const float* mean, const float* rstd, int N, int C,
                                                         int rows_per_chunk) {
    __shared__ double aw[8][33], ab[8][33];
    int c = blockIdx.x * 32 + threadIdx.x;
    int r0 = blockIdx.y * rows_per_chunk, r1 = min(N, r0 + rows_per_chunk);
    double sw = 0, sb = 0;
    if (c < C) {
        for (int n = r0 + threadIdx.y; n < r1; n += 8) {
            double d = dout[(i64) n * C + c];
            sw += d * (((double) inp[(i64) n * C + c] - (double) mean[n]) * (double) rstd[n]);
            sb += d;
        }
    }
    aw[threadIdx.y][threadIdx.x] = sw;
    ab[threadIdx.y][threadIdx.x] = sb;
    __syncthreads();
    if (threadIdx.y == 0 && c < C) {
        double tw = 0, tb = 0;
        for (int k = 0; k < 8; k++) {
            tw += aw[k][threadIdx.x];
            tb += ab[k][threadIdx.x];
        }
        if (pw != nullptr) pw[(i64) blockIdx.y * C + c] = tw;
        if (pb != nullptr) pb[(i64) blockIdx.y * C + c] = tb;
    }
}

// out = inp * rstd * weight per row, rstd = 1 / sqrt(sum x^2 / C + eps) (float64, rounded to float); rstd [N] written
// when not null. out may be inp. One block per row.
extern "C" __global__ void eva4j_rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight,
                                                int N, int C, float eps) {
    __shared__ double scratch[EVA4J_MAX_WARPS];
    int n = blockIdx.x;
    if (n >= N) return;
    const float* x = inp + (i64) n * C;
    double sq = 0;
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        double v = x[c];
        sq += v * v;
    }
    sq = block_sum_d(sq, scratch);
    float r = (float) (1.0 / sqrt(sq / C + (double) eps));
    if (threadIdx.x == 0 && rstd != nullptr) rstd[n] = r;
    float* o = out + (i64) n * C;
    for (int c = threadIdx.x; c < C; c += blockDim.x) o[c] = __fmul_rn(__fmul_rn(x[c], r), weight[c]);
}

// dinp[n, :] += rstd w dout - x rstd^3 / C sum(dout w x), in float64. One block per row; launched when dinp is wanted.
extern "C" __global__ void eva4j_rmsnorm_backward(float* dinp, const float* dout, const float* inp, const float* weight,
                                                 const float* rstd, int N, int C) {
    __shared__ double scratch[EVA4J_MAX_WARPS];
    int n = blockIdx.x;
    if (n >= N) return;
    const float* d = dout + (i64) n * C;
    const float* x = inp + (i64) n * C;
    double r = rstd[n];
    double dot = 0;
    for (int c = threadIdx.x; c < C; c += blockDim.x) dot += (double) d[c] * (double) weight[c] * (double) x[c];
    dot = block_sum_d(dot, scratch);
    double k = r * r * r * dot / C;
    float* g = dinp + (i64) n * C;
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        g[c] = (float) ((double) g[c] + (r * (double) weight[c] * (double) d[c] - (double) x[c] * k));
    }
}

// Per chunk y of rows: pw[y * C + c] = sum dout x rstd (float64). Block (32, 8); grid (ceil(C / 32), chunks).
extern "C" __global__ void eva4j_rmsnorm_param_partials(double* pw, const float* dout, const float* inp,
                                                       const float* rstd, int N, int C, int rows_per_chunk) {
    __shared__ double aw[8][33];
    int c = blockIdx.x * 32 + threadIdx.x;
    int r0 = blockIdx.y * rows_per_chunk, r1 = min(N, r0 + rows_per_chunk);
    double sw = 0;
    if (c < C) {
        for (int n = r0 + threadIdx.y; n < r1; n += 8) {
            sw += (double) dout[(i64) n * C + c] * (double) inp[(i64) n * C + c] * (double) rstd[n];
        }
    }
    aw[threadIdx.y][threadIdx.x] = sw;
    __syncthreads();
    if (threadIdx.y == 0 && c < C) {
        double tw = 0;
        for (int k = 0; k < 8; k++) tw += aw[k][threadIdx.x];
        pw[(i64) blockIdx.y * C + c] = tw;
    }
}
