// RoPE, embeddings, softmax cross-entropy and pooling.
#pragma once
#include "common.cuh"

// Rotary position embedding, Hugging Face's rotate-half convention, forward (backward = 0) or backward (1).
// One thread per pair (n, h, i), i < HS/2: angle = (float) pos[n] * invFreq[i] (a float product, as the host
// kernels), cos and sin of it in float64 (sincospi of angle / pi: relative
// error ~1e-16 in the argument, no Payne-Hanek reduction and so no local memory) rounded to float; then with x1 = inp[.., i], x2 = inp[.., i + HS/2]:
//   forward:  out[i] = x1 c - x2 s;          out[i + HS/2] = x2 c + x1 s          (out may be inp)
//   backward: out[i] += x1 c + x2 s;         out[i + HS/2] += x2 c - x1 s         (out = dinp, inp = dout)
// Grid-stride over N * H * HS/2 pairs; blocks of 256.
extern "C" __global__ void eva4j_rope(float* out, const float* inp, const int* positions, const float* inv_freq,
                                     int N, int H, int HS, int backward) {
    int half = HS / 2;
    i64 pairs = (i64) N * H * half;
    GRID_STRIDE(p, pairs) {
        int i = (int) (p % half);
        i64 nh = p / half;
        int n = (int) (nh / H);
        float angle = (float) positions[n] * inv_freq[i];
        double sd, cd;
        sincospi((double) angle * 0.31830988618379067154, &sd, &cd);   // sincos without the slow-path stack frame
        float c = (float) cd, s = (float) sd;
        i64 base = nh * HS;
        float x1 = inp[base + i], x2 = inp[base + i + half];
        if (backward) {
            out[base + i] += __fadd_rn(__fmul_rn(x1, c), __fmul_rn(x2, s));
            out[base + i + half] += __fsub_rn(__fmul_rn(x2, c), __fmul_rn(x1, s));
        } else {
            out[base + i] = __fsub_rn(__fmul_rn(x1, c), __fmul_rn(x2, s));
            out[base + i + half] = __fadd_rn(__fmul_rn(x2, c), __fmul_rn(x1, s));
        }
    }
}

// out[n, c] = table[ids[n], c] (accumulate = 0) or out[n, c] += table[ids[n], c] (accumulate = 1). The ids were
// checked on the host. Grid-stride over N * C.
extern "C" __global__ void eva4j_embedding_forward(float* out, const int* ids, const float* table, int N, int C,
                                                  int accumulate) {
    i64 total = (i64) N * C;
    GRID_STRIDE(i, total) {
        int n = (int) (i / C), c = (int) (i % C);
        float t = table[(i64) ids[n] * C + c];
        if (accumulate) out[i] += t;
        else out[i] = t;
    }
}

// dtable[ids[n], c] += dout[n, c] for n = 0 .. N-1 in order: one thread per column c (grid-stride over C, blocks of
// 256), so repeated ids add in row order without atomics and the result is deterministic (as the host kernels).
extern "C" __global__ void eva4j_embedding_backward(float* dtable, const float* dout, const int* ids, int N, int C) {
    GRID_STRIDE(c, C) {
        for (int n = 0; n < N; n++) dtable[(i64) ids[n] * C + c] += dout[(i64) n * C + c];
    }
}

// Softmax cross-entropy forward, one block of 512 threads per row n: grid (N).
// max over the row (float); e = exp((double) l - max) in float64, sum in float64; probs[n, v] =
// (float) ((double) (float) e * (1 / sum)) (the host kernels' two roundings); losses[n] = log(sum) - (l_t - max) for
// a counted row (target != ignore_index), 0 otherwise. The mean over counted rows is eva4j_sum_d over losses,
// divided on the host by the count it knows from the targets.
extern "C" __global__ void eva4j_cross_entropy_forward(float* probs, double* losses, const float* logits,
                                                      const int* targets, int N, int V, int ignore_index) {
    __shared__ double dscratch[EVA4J_MAX_WARPS];
    __shared__ float fscratch[EVA4J_MAX_WARPS];
    int n = blockIdx.x;
    if (n >= N) return;
    const float* l = logits + (i64) n * V;
    float* p = probs + (i64) n * V;
    float mx = -INFINITY;
    for (int v = threadIdx.x; v < V; v += blockDim.x) mx = fmaxf(mx, l[v]);
    mx = block_max_f(mx, fscratch);
    double sum = 0;
    for (int v = threadIdx.x; v < V; v += blockDim.x) {
        double e = exp((double) l[v] - (double) mx);
        p[v] = (float) e;
        sum += e;   // the unrounded exponentials, as the host kernels
    }
    sum = block_sum_d(sum, dscratch);
    double inv = 1.0 / sum;
    for (int v = threadIdx.x; v < V; v += blockDim.x) p[v] = (float) ((double) p[v] * inv);
    if (threadIdx.x == 0) {
        int t = targets[n];
        losses[n] = t == ignore_index ? 0.0 : log(sum) - ((double) l[t] - (double) mx);
    }
}

// dlogits[n, v] += (float) ((double) dlogits + factor * (probs[n, v] - (v == target))) on counted rows, factor =
// dloss / count (float64, from the host, which knows the count). Grid-stride over N * V.
extern "C" __global__ void eva4j_cross_entropy_backward(float* dlogits, const float* probs, const int* targets, int N,
                                                       int V, int ignore_index, double factor) {
    i64 total = (i64) N * V;
    GRID_STRIDE(i, total) {
        int n = (int) (i / V), v = (int) (i % V);
        int t = targets[n];
        if (t == ignore_index) continue;
        double g = factor * ((double) probs[i] - (v == t ? 1.0 : 0.0));
        dlogits[i] = (float) ((double) dlogits[i] + g);
    }
}

// out[b, c] = (float) (sum of inp[b, t, c] over mask[b, t] != 0 (float64) / count_b), 0 when count_b = 0.
// Grid (ceil(C / 256), B), blocks of 256 threads, one thread per (b, c).
extern "C" __global__ void eva4j_mean_pool_forward(float* out, const float* inp, const int* mask, int B, int T, int C) {
    int c = blockIdx.x * blockDim.x + threadIdx.x, b = blockIdx.y;
    if (c >= C || b >= B) return;
    double s = 0;
    int count = 0;
    for (int t = 0; t < T; t++) {
        if (mask[(i64) b * T + t] == 0) continue;
        count++;
        s += inp[((i64) b * T + t) * C + c];
    }
    out[(i64) b * C + c] = count == 0 ? 0.0f : (float) (s / count);
}

// dinp[b, t, c] += (float) ((double) dinp + (double) dout[b, c] / count_b) where mask[b, t] != 0.
// Grid (ceil(C / 256), B), blocks of 256 threads, one thread per (b, c) looping over t.
extern "C" __global__ void eva4j_mean_pool_backward(float* dinp, const float* dout, const int* mask, int B, int T,
                                                   int C) {
    int c = blockIdx.x * blockDim.x + threadIdx.x, b = blockIdx.y;
    if (c >= C || b >= B) return;
    int count = 0;
    for (int t = 0; t < T; t++) count += mask[(i64) b * T + t] != 0;
    if (count == 0) return;
    double g = (double) dout[(i64) b * C + c] / count;
    for (int t = 0; t < T; t++) {
        if (mask[(i64) b * T + t] == 0) continue;
        i64 at = ((i64) b * T + t) * C + c;
        dinp[at] = (float) ((double) dinp[at] + g);
    }
}

// out[b, c] = inp[b, 0, c] (backward = 0), or inp[b, 0, c] += out[b, c] (backward = 1, inp = dinp, out = dout).
// Grid-stride over B * C.
extern "C" __global__ void eva4j_cls_pool(float* out, float* inp, int B, int T, int C, int backward) {
    i64 total = (i64) B * C;
    GRID_STRIDE(i, total) {
        int b = (int) (i / C), c = (int) (i % C);
        i64 at = (i64) b * T * C + c;
        if (backward) inp[at] += out[i];
        else out[i] = inp[at];
    }
}
