// Element-wise kernels over [n] floats: memory helpers, GELU, SiLU-gated product, residual, dropout, bias.
// Launch geometry, unless a comment says otherwise: 1-D grid of 1-D blocks of 256 threads, grid-stride loops, so any
// grid size is correct; the host uses min(ceil(n / 256), 65536) blocks. n is a 64-bit count.
#pragma once
#include "common.cuh"

// x[i] = value, i < n.
extern "C" __global__ void eva4j_fill_f32(float* x, float value, i64 n) {
    GRID_STRIDE(i, n) x[i] = value;
}

// x[i] = (float) (x[i] * factor) with the product in float64 (Kernels.scale: gradient clipping).
extern "C" __global__ void eva4j_scale_f32(float* x, double factor, i64 n) {
    GRID_STRIDE(i, n) x[i] = (float) ((double) x[i] * factor);
}

// out = gelu(inp) = 0.5 x erfc(-x / sqrt 2) (the exact erf form; erfc avoids cancellation in the negative tail),
// evaluated in float64 and rounded once. out may be inp.
extern "C" __global__ void eva4j_gelu_forward(float* out, const float* inp, i64 n) {
    GRID_STRIDE(i, n) {
        double x = inp[i];
        out[i] = (float) (0.5 * x * erfc(-x * 0.70710678118654752440));
    }
}

// dinp += gelu'(inp) dout, gelu'(x) = Phi(x) + x phi(x), in float64; the sum rounded once.
extern "C" __global__ void eva4j_gelu_backward(float* dinp, const float* dout, const float* inp, i64 n) {
    GRID_STRIDE(i, n) {
        double x = inp[i];
        double grad = 0.5 * erfc(-x * 0.70710678118654752440) + x * exp(-0.5 * x * x) * 0.39894228040143267794;
        dinp[i] = (float) ((double) dinp[i] + grad * (double) dout[i]);
    }
}

// out = silu(gate) * up; silu(g) = g / (1 + e^-g) in float64 rounded to float, then a float product (as the host
// kernels). out may be gate or up (each element is read before it is written, by the same thread).
extern "C" __global__ void eva4j_swiglu_forward(float* out, const float* gate, const float* up, i64 n) {
    GRID_STRIDE(i, n) {
        double g = gate[i];
        float s = (float) (g / (1.0 + exp(-g)));
        out[i] = s * up[i];
    }
}

// dgate += dout up s (1 + g (1 - s)), dup += dout g s, s = sigmoid(gate), in float64. dgate or dup may be null.
extern "C" __global__ void eva4j_swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate,
                                                 const float* up, i64 n) {
    GRID_STRIDE(i, n) {
        double g = gate[i], d = dout[i];
        double s = 1.0 / (1.0 + exp(-g));
        if (dgate != nullptr) dgate[i] = (float) ((double) dgate[i] + d * (double) up[i] * s * (1.0 + g * (1.0 - s)));
        if (dup != nullptr) dup[i] = (float) ((double) dup[i] + d * g * s);
    }
}

// out = a + b (float). out may be a or b.
extern "C" __global__ void eva4j_residual_forward(float* out, const float* a, const float* b, i64 n) {
    GRID_STRIDE(i, n) out[i] = a[i] + b[i];
}

// da += dout; db += dout (float adds). Either may be null.
extern "C" __global__ void eva4j_residual_backward(float* da, float* db, const float* dout, i64 n) {
    GRID_STRIDE(i, n) {
        float d = dout[i];
        if (da != nullptr) da[i] += d;
        if (db != nullptr) db[i] += d;
    }
}

// out[i] = inp[i] * factor(i) with DropoutMask's factor under (seedWord, threshold, keep): the LoRA branch's input.
// Launched only for a rate > 0 (rate 0 uses inp itself).
extern "C" __global__ void eva4j_dropout_forward(float* out, const float* inp, i64 n, uint32_t seed_word,
                                                 uint32_t threshold, float keep) {
    GRID_STRIDE(i, n) out[i] = inp[i] * dropout_factor(seed_word, threshold, keep, i);
}

// dinp[i] += gx[i] * factor(i): the same mask and factor applied to the LoRA branch's input gradient, then added.
extern "C" __global__ void eva4j_dropout_backward_add(float* dinp, const float* gx, i64 n, uint32_t seed_word,
                                                     uint32_t threshold, float keep) {
    GRID_STRIDE(i, n) dinp[i] += gx[i] * dropout_factor(seed_word, threshold, keep, i);
}

// out[r, c] = bias[c] for r < rows, c < cols (the bias a GEMM with beta = 1 then adds to). Grid-stride over rows*cols.
extern "C" __global__ void eva4j_bias_fill(float* out, const float* bias, int rows, int cols) {
    i64 n = (i64) rows * cols;
    GRID_STRIDE(i, n) out[i] = bias[i % cols];
}

// One AdamW step (PyTorch's order) per element, in float64: p = p * decay - step_size m' / (sqrt(v') / bc2_sqrt + eps)
// with m' = b1 m + (1 - b1) g, v' = b2 v + (1 - b2) g^2; decay = 1 - lr wd, step_size = lr / (1 - b1^step) and
// bc2_sqrt = sqrt(1 - b2^step) computed once on the host in float64 (as the host kernels).
extern "C" __global__ void eva4j_adamw(float* params, const float* grads, float* m, float* v, i64 n, double b1,
                                       double b2, double eps, double decay, double step_size, double bc2_sqrt) {
    GRID_STRIDE(i, n) {
        double g = grads[i];
        double mi = b1 * (double) m[i] + (1.0 - b1) * g;
        double vi = b2 * (double) v[i] + (1.0 - b2) * g * g;
        double p = (double) params[i] * decay - step_size * mi / (sqrt(vi) / bc2_sqrt + eps);
        m[i] = (float) mi;
        v[i] = (float) vi;
        params[i] = (float) p;
    }
}

// partial[blockIdx.x] = sum over this block's grid-stride elements of x[i]^2, in float64 (first pass of the
// gradient norm). Blocks of 256 threads; the grid size G is chosen by the host (<= 1024) and partial holds G doubles.
extern "C" __global__ void eva4j_sumsq_partials(double* partial, const float* x, i64 n) {
    __shared__ double scratch[EVA4J_MAX_WARPS];
    double s = 0;
    GRID_STRIDE(i, n) {
        double v = x[i];
        s += v * v;
    }
    s = block_sum_d(s, scratch);
    if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

// out[0] = sum of partial[0, count) in a fixed order (block-strided, then the block reduction). One block of 256
// threads. The second pass of the gradient norm and of the cross-entropy loss; deterministic.
extern "C" __global__ void eva4j_sum_d(double* out, const double* partial, int count) {
    __shared__ double scratch[EVA4J_MAX_WARPS];
    double s = 0;
    for (int i = threadIdx.x; i < count; i += blockDim.x) s += partial[i];
    s = block_sum_d(s, scratch);
    if (threadIdx.x == 0) out[0] = s;
}

// dst[c] = (float) (dst[c] + sum over y < chunks of partial[y * cols + c]) (chunks added in order, float64): the
// second pass of every column sum (bias, norm weight gradients). Grid-stride over cols.
extern "C" __global__ void eva4j_add_partials(float* dst, const double* partial, int chunks, int cols) {
    GRID_STRIDE(c, cols) {
        double s = 0;
        for (int y = 0; y < chunks; y++) s += partial[(i64) y * cols + c];
        dst[c] = (float) ((double) dst[c] + s);
    }
}

// partial[y * cols + c] = sum over rows r of chunk y of m[r, c] in float64 (first pass of dbias += column sums).
// Geometry: block (32, 8); grid (ceil(cols / 32), chunks); chunk y covers rows [y * rows_per_chunk, ...).
extern "C" __global__ void eva4j_column_sum_partials(double* partial, const float* m, int rows, int cols,
                                                     int rows_per_chunk) {
    __shared__ double acc[8][33];
    int c = blockIdx.x * 32 + threadIdx.x;
    int r0 = blockIdx.y * rows_per_chunk, r1 = min(rows, r0 + rows_per_chunk);
    double s = 0;
    if (c < cols) {
        for (int r = r0 + threadIdx.y; r < r1; r += 8) s += m[(i64) r * cols + c];
    }
    acc[threadIdx.y][threadIdx.x] = s;
    __syncthreads();
    if (threadIdx.y == 0 && c < cols) {
        double t = 0;
        for (int k = 0; k < 8; k++) t += acc[k][threadIdx.x];
        partial[(i64) blockIdx.y * cols + c] = t;
    }
}

// dst[c, r] = src[r, c]: a row-major rows x cols matrix transposed (column-major <-> row-major for cuSOLVER).
// Geometry: block (32, 8); grid (ceil(cols / 32), ceil(rows / 32)); 32x32 tiles through shared memory.
extern "C" __global__ void eva4j_transpose(float* dst, const float* src, int rows, int cols) {
    __shared__ float tile[32][33];
    int c = blockIdx.x * 32 + threadIdx.x;
    for (int k = threadIdx.y; k < 32; k += 8) {
        int r = blockIdx.y * 32 + k;
        if (r < rows && c < cols) tile[k][threadIdx.x] = src[(i64) r * cols + c];
    }
    __syncthreads();
    int r = blockIdx.y * 32 + threadIdx.x;
    for (int k = threadIdx.y; k < 32; k += 8) {
        int cc = blockIdx.x * 32 + k;
        if (r < rows && cc < cols) dst[(i64) cc * rows + r] = tile[threadIdx.x][k];
    }
}
