// The EVA step's kernels (one incremental-PCA step of a layer group, as dev.eva4j.api.eva.IncrementalPca's prepare
// and commit compute it on the host): masked row gather, column statistics with float64 accumulation (Chan et al.),
// the stacked matrix M = [diag(S) V; centred rows; mean-correction row], sign flip, convergence cosines and explained
// variance ratios. X is rows x d float32, row-major; statistics are float64 [d].
#pragma once
#include "common.cuh"

// dst[i, :] = src[rows[i], :] for i < count (the rows of the target layer's input whose token is not padding).
// rows[] comes from the host (it knows the attention mask). Grid-stride over count * d.
extern "C" __global__ void eva4j_gather_rows(float* dst, const float* src, const int* rows, int count, int d) {
    i64 total = (i64) count * d;
    GRID_STRIDE(i, total) {
        int r = (int) (i / d), c = (int) (i % d);
        dst[i] = src[(i64) rows[r] * d + c];
    }
}

// sum[c] = sum over chunks y (in order) of partial[y * cols + c]; mean[c] = sum[c] / rows (float64). The second pass
// of the batch's column sums (first pass: eva4j_column_sum_partials). Grid-stride over cols.
extern "C" __global__ void eva4j_column_mean_finish(double* sum, double* mean, const double* partial, int chunks,
                                                   int cols, int rows) {
    GRID_STRIDE(c, cols) {
        double s = 0;
        for (int y = 0; y < chunks; y++) s += partial[(i64) y * cols + c];
        sum[c] = s;
        mean[c] = s / rows;
    }
}

// One pass over the batch x [rows, d] with the batch mean: the centred rows (float) into m[(row_offset + r) * d + c],
// and per chunk y of rows the float64 partials pm2[y * d + c] = sum t^2 and pcomp[y * d + c] = sum t, t = x - mean
// (the compensated sum of squares). Block (32, 8); grid (ceil(d / 32), chunks).
extern "C" __global__ void eva4j_center_partials(float* m, double* pm2, double* pcomp, const float* x,
                                                const double* mean, int rows, int d, i64 row_offset,
                                                int rows_per_chunk) {
    __shared__ double a2[8][33], a1[8][33];
    int c = blockIdx.x * 32 + threadIdx.x;
    int r0 = blockIdx.y * rows_per_chunk, r1 = min(rows, r0 + rows_per_chunk);
    double s2 = 0, s1 = 0;
    if (c < d) {
        double mu = mean[c];
        for (int r = r0 + threadIdx.y; r < r1; r += 8) {
            double t = (double) x[(i64) r * d + c] - mu;
            s2 += t * t;
            s1 += t;
            m[(row_offset + r) * d + c] = (float) t;
        }
    }
    a2[threadIdx.y][threadIdx.x] = s2;
    a1[threadIdx.y][threadIdx.x] = s1;
    __syncthreads();
    if (threadIdx.y == 0 && c < d) {
        double t2 = 0, t1 = 0;
        for (int k = 0; k < 8; k++) {
            t2 += a2[k][threadIdx.x];
            t1 += a1[k][threadIdx.x];
        }
        pm2[(i64) blockIdx.y * d + c] = t2;
        pcomp[(i64) blockIdx.y * d + c] = t1;
    }
}

// Per column c (grid-stride over d): m2 = sum_y pm2 - (sum_y pcomp)^2 / rows; with n = n_old and N = n + rows:
//   n == 0: new_mean = batch_mean, new_var = m2 / N
//   n > 0:  delta = old_mean - batch_mean; new_mean = (n old_mean + sum) / N;
//           new_var = (n old_var + m2 + n rows / N delta^2) / N;
//           correction[c] = (float) (sqrt(n / N * rows) * delta)   (M's last row; null when n == 0)
// old_mean and old_var may be null when n == 0.
extern "C" __global__ void eva4j_pca_stats_finish(double* new_mean, double* new_var, float* correction,
                                                 const double* sum, const double* batch_mean, const double* pm2,
                                                 const double* pcomp, int chunks, const double* old_mean,
                                                 const double* old_var, i64 n_old, int rows, int d) {
    GRID_STRIDE(c, d) {
        double m2 = 0, comp = 0;
        for (int y = 0; y < chunks; y++) {
            m2 += pm2[(i64) y * d + c];
            comp += pcomp[(i64) y * d + c];
        }
        m2 -= comp * comp / rows;
        double n = (double) n_old, total = (double) (n_old + rows);
        if (n_old == 0) {
            new_mean[c] = batch_mean[c];
            new_var[c] = m2 / total;
        } else {
            double delta = old_mean[c] - batch_mean[c];
            new_mean[c] = (n * old_mean[c] + sum[c]) / total;
            new_var[c] = (n * old_var[c] + m2 + n * rows / total * delta * delta) / total;
            if (correction != nullptr) correction[c] = (float) (sqrt(n / total * rows) * delta);
        }
    }
}

// m[i, :] = s[i] * v[i, :] (float products) for i < k: the first k rows of M, diag(S) V. Grid-stride over k * d.
extern "C" __global__ void eva4j_scaled_rows(float* m, const float* s, const float* v, int k, int d) {
    i64 total = (i64) k * d;
    GRID_STRIDE(i, total) m[i] = s[i / d] * v[i];
}

// Sign flip: each row i < k of v [k, d] is negated when its largest-magnitude entry (the first one on ties) is
// negative. One block of 256 threads per row: grid (k).
extern "C" __global__ void eva4j_sign_flip(float* v, int k, int d) {
    __shared__ float best[256];
    __shared__ int arg[256];
    int i = blockIdx.x;
    if (i >= k) return;
    float* row = v + (i64) i * d;
    float b = -1.0f;
    int a = 0;
    for (int j = threadIdx.x; j < d; j += blockDim.x) {
        float x = fabsf(row[j]);
        if (x > b) {
            b = x;
            a = j;
        }
    }
    best[threadIdx.x] = b;
    arg[threadIdx.x] = a;
    __syncthreads();
    for (int stride = blockDim.x / 2; stride > 0; stride >>= 1) {
        if (threadIdx.x < stride) {
            float ob = best[threadIdx.x + stride];
            int oa = arg[threadIdx.x + stride];
            if (ob > best[threadIdx.x] || (ob == best[threadIdx.x] && oa < arg[threadIdx.x])) {
                best[threadIdx.x] = ob;
                arg[threadIdx.x] = oa;
            }
        }
        __syncthreads();
    }
    bool flip = row[arg[0]] < 0.0f;
    __syncthreads();   // every thread has read row[arg[0]] before any negates it
    if (flip) {
        for (int j = threadIdx.x; j < d; j += blockDim.x) row[j] = -row[j];
    }
}

// out[i] = cos(a[i, :], b[i, :]) = dot / sqrt(|a|^2 |b|^2) in float64 (0 when either row is zero), i < k: the
// convergence test's cosine between a component and its previous value. One block of 256 threads per row: grid (k).
extern "C" __global__ void eva4j_row_cosines(double* out, const float* a, const float* b, int k, int d) {
    __shared__ double scratch[EVA4J_MAX_WARPS];
    int i = blockIdx.x;
    if (i >= k) return;
    double dot = 0, na = 0, nb = 0;
    for (int j = threadIdx.x; j < d; j += blockDim.x) {
        double x = a[(i64) i * d + j], y = b[(i64) i * d + j];
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    dot = block_sum_d(dot, scratch);
    na = block_sum_d(na, scratch);
    nb = block_sum_d(nb, scratch);
    if (threadIdx.x == 0) out[i] = na > 0 && nb > 0 ? dot / sqrt(na * nb) : 0.0;
}

// evr[i] = s[i]^2 / total for i < k, total = sum_c var[c] * n_total (float64; 0 when total is not positive).
// One block of 256 threads: grid (1).
extern "C" __global__ void eva4j_explained_variance(double* evr, const float* s, const double* var, i64 n_total,
                                                   int k, int d) {
    __shared__ double scratch[EVA4J_MAX_WARPS];
    double t = 0;
    for (int c = threadIdx.x; c < d; c += blockDim.x) t += var[c] * (double) n_total;
    double total = block_sum_d(t, scratch);
    for (int i = threadIdx.x; i < k; i += blockDim.x) evr[i] = total > 0 ? (double) s[i] * (double) s[i] / total : 0.0;
}
