/*
 * eva4j's row kernels in C: the element-wise ops of a transformer that the Java host kernels (RowKernels) otherwise
 * run through the Vector API. Forward: LayerNorm with the residual add, RMSNorm, bias + GELU, masked softmax, adds, the
 * embedding gather and sum; training: GELU and LayerNorm backward, dropout, the AdamW update. Java calls them through
 * FFM (dev.eva4j.cpu.openblas.NativeRowKernels); every argument has been checked there.
 *
 * Why C: the Vector API is fast only once C2 has compiled a loop; until then each vector operation allocates an object,
 * and the first forward pass of a process spent ~3 s there (the first training step as long). Code compiled ahead of
 * time is fast from its first call.
 *
 * Same numbers as the Java kernels, bit for bit: each function does the float operations of its Java twin in the
 * same order. The Java kernels sum a row's lanes in an order that depends on the vector width (lanes, passed in by
 * Java), so the sums here keep `lanes` separate accumulators and add them up in lane order exactly as Java does.
 * The build forbids contracting a * b + c into an FMA (-ffp-contract=off); where Java fuses, fmaf/fma are explicit.
 * On x86-64 each function is compiled for x86-64-v4 (AVX-512), v3 (AVX2 + FMA) and the baseline, picked when the
 * library loads (elsewhere, or with -DEVA4J_NO_CLONES, once for the build's target).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef EVA4J_NO_CLONES
#define CLONES
#else
#define CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
#define EXPORT __attribute__((visibility("default")))
#define INLINE static inline __attribute__((always_inline))

/* the widest lane count the Java side can report (512-bit float vectors) */
#define MAX_LANES 16
/* elements per block of the element-wise loops: the block lives on the stack, so loads and stores never alias */
#define BLOCK 256

/* (float) (1 / Math.log(2)), (float) (1 / Math.sqrt(2)), (float) (1 / Math.sqrt(2 * Math.PI)) in Java */
static const float LOG2E = 0x1.715476p0f, INV_SQRT2 = 0x1.6a09e6p-1f, INV_SQRT_2PI = 0x1.988454p-2f;
static const float LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f, ROUND = 12582912.0f, EXP_ZERO = -86.0f;
static const float E0 = 5.0000001201e-1f, E1 = 1.6666665459e-1f, E2 = 4.1665795894e-2f, E3 = 8.3334519073e-3f,
                   E4 = 1.3981999507e-3f, E5 = 1.9875691500e-4f;
static const float ERF_SPLIT = 0.921875f, ERFC_ZERO = 3.925f;
static const float P0 = 1.283791512e-01f, P1 = -3.761250675e-01f, P2 = 1.128192768e-01f, P3 = -2.677023970e-02f,
                   P4 = 4.998010118e-03f, P5 = -6.013434613e-04f;
static const float Q0 = -1.285328865e-01f, Q1 = -6.357778907e-01f, Q2 = -1.047905087e-01f, Q3 = 2.190428600e-02f,
                   Q4 = -2.187318169e-03f, Q5 = -3.933172266e-04f, Q6 = 2.085552260e-04f, Q7 = -4.027274554e-05f,
                   Q8 = 3.992297934e-06f, Q9 = -1.673466556e-07f;

INLINE uint32_t bits(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

INLINE float from_bits(uint32_t u) {
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* exp(x) for x in [-86, 88], garbage outside (VectorOps.expInRange): x = k ln2 + r, a polynomial, 2^k in the bits */
INLINE float exp_in_range(float x) {
    float t = fmaf(x, LOG2E, ROUND);
    float k = t - ROUND;
    float r = fmaf(k, -LN2_HI, x);
    r = fmaf(k, -LN2_LO, r);
    float e = fmaf(fmaf(fmaf(fmaf(fmaf(E5, r, E4), r, E3), r, E2), r, E1), r, E0);
    e = fmaf(e, r * r, r) + 1.0f;
    return from_bits(bits(e) + (bits(t) << 23));
}

/* VectorOps.exp: 0 below -86 (and for -inf) */
INLINE float exp_float(float x) {
    float e = exp_in_range(x);
    return x < EXP_ZERO ? 0.0f : e;
}

/* erfc(z) for z >= 0 (VectorOps.erfcNonNegative): both branches, then a select */
INLINE float erfc_non_negative(float z) {
    float s = z * z;
    float p = fmaf(fmaf(fmaf(fmaf(fmaf(P5, s, P4), s, P3), s, P2), s, P1), s, P0);
    float small = fmaf(-z, p, 1.0f - z);
    float q = fmaf(fmaf(fmaf(fmaf(fmaf(fmaf(fmaf(fmaf(fmaf(Q9, z, Q8), z, Q7), z, Q6), z, Q5), z, Q4), z, Q3), z, Q2),
                        z, Q1), z, Q0);
    float large = exp_in_range(fmaf(z, q, -z));
    large = z >= ERFC_ZERO ? 0.0f : large;
    return z >= ERF_SPLIT ? large : small;
}

/* gelu(x) = 0.5 x erfc(|x| / sqrt 2) for x < 0, x - 0.5 x erfc(x / sqrt 2) else (VectorOps.gelu) */
INLINE float gelu(float x) {
    float h = (x * erfc_non_negative(fabsf(x) * INV_SQRT2)) * 0.5f;
    return x < 0.0f ? h : x - h;
}

/*
 * out[i] = gelu(x[i]), x[i] = inp[i] (+ bias[i] when bias is not NULL); preact[i] = x[i] when preact is not NULL.
 * inp may be preact or out: a block is read into the stack before anything is written.
 */
INLINE void gelu_span(float *preact, float *out, const float *inp, const float *bias, int64_t n) {
    float x[BLOCK];
    for (int64_t at = 0; at < n; at += BLOCK) {
        int64_t m = n - at < BLOCK ? n - at : BLOCK;
        if (bias != NULL) {
            for (int64_t i = 0; i < m; i++) x[i] = inp[at + i] + bias[at + i];
        } else {
            for (int64_t i = 0; i < m; i++) x[i] = inp[at + i];
        }
        if (preact != NULL) memcpy(preact + at, x, (size_t) m * sizeof(float));
        for (int64_t i = 0; i < m; i++) out[at + i] = gelu(x[i]);
    }
}

/* Rows [first, end) of [*, C]: x = inp + bias (bias [C], may be NULL); preact = x when preact is not NULL; out = gelu(x). */
EXPORT CLONES void eva4j_bias_gelu_rows(float *preact, float *out, const float *inp, const float *bias, int64_t first,
                                        int64_t end, int64_t C) {
    for (int64_t n = first; n < end; n++) gelu_span(preact ? preact + n * C : NULL, out + n * C, inp + n * C, bias, C);
}

/* out[i] = gelu(inp[i]) for i in [first, end) */
EXPORT CLONES void eva4j_gelu(float *out, const float *inp, int64_t first, int64_t end) {
    gelu_span(NULL, out + first, inp + first, NULL, end - first);
}

/* out[i] = a[i] + b[i] for i in [0, n); out may be a or b */
EXPORT CLONES void eva4j_add(float *out, const float *a, const float *b, int64_t n) {
    float x[BLOCK];
    for (int64_t at = 0; at < n; at += BLOCK) {
        int64_t m = n - at < BLOCK ? n - at : BLOCK;
        for (int64_t i = 0; i < m; i++) x[i] = a[at + i] + b[at + i];
        memcpy(out + at, x, (size_t) m * sizeof(float));
    }
}

/* out[n, :] = table[ids[n], :], or += when accumulate, for rows n in [first, end); ids are in range (checked by Java) */
EXPORT CLONES void eva4j_embedding_rows(float *out, const int32_t *ids, const float *table, int64_t first,
                                        int64_t end, int64_t C, int accumulate) {
    for (int64_t n = first; n < end; n++) {
        const float *row = table + (int64_t) ids[n] * C;
        if (accumulate) eva4j_add(out + n * C, out + n * C, row, C);
        else memcpy(out + n * C, row, (size_t) C * sizeof(float));
    }
}

/*
 * sum of row[0, C) in float64 as NormOps.rowSum: with lanes > 0, whole vectors of `lanes` floats are widened into two
 * halves, each half's lanes summed in its own double, the halves added lane by lane, the lanes summed in order;
 * then the tail. lanes == 0: the tail loop alone (Java's vector loop does not run).
 */
INLINE double row_sum(const float *row, int64_t C, int lanes) {
    double acc0[MAX_LANES / 2] = {0}, acc1[MAX_LANES / 2] = {0};
    int64_t c = 0;
    int half = lanes / 2;
    if (lanes > 0) {
        for (int64_t upper = C - C % lanes; c < upper; c += lanes) {
            for (int j = 0; j < half; j++) {
                acc0[j] += (double) row[c + j];
                acc1[j] += (double) row[c + half + j];
            }
        }
    }
    double s = 0;
    for (int j = 0; j < half; j++) s += acc0[j] + acc1[j];
    for (; c < C; c++) s += row[c];
    return s;
}

/* sum of (row[c] - mu)^2 over [0, C) in float64 as NormOps.squaredDeviations (fused in the vector part) */
INLINE double squared_deviations(const float *row, int64_t C, double mu, int lanes) {
    double acc0[MAX_LANES / 2] = {0}, acc1[MAX_LANES / 2] = {0};
    int64_t c = 0;
    int half = lanes / 2;
    if (lanes > 0) {
        for (int64_t upper = C - C % lanes; c < upper; c += lanes) {
            for (int j = 0; j < half; j++) {
                double d0 = (double) row[c + j] - mu, d1 = (double) row[c + half + j] - mu;
                acc0[j] = fma(d0, d0, acc0[j]);
                acc1[j] = fma(d1, d1, acc1[j]);
            }
        }
    }
    double s = 0;
    for (int j = 0; j < half; j++) s += acc0[j] + acc1[j];
    for (; c < C; c++) {
        double d = row[c] - mu;
        s += d * d;
    }
    return s;
}

/*
 * row_sum and squared_deviations with the two lane counts Java reports on x86 (AVX-512, AVX2) as constants, so their
 * lane loops have a constant trip count; other counts take the general loops.
 */
INLINE double row_sum_lanes(const float *row, int64_t C, int lanes) {
    return lanes == 16 ? row_sum(row, C, 16) : lanes == 8 ? row_sum(row, C, 8) : row_sum(row, C, lanes);
}

INLINE double squared_deviations_lanes(const float *row, int64_t C, double mu, int lanes) {
    return lanes == 16 ? squared_deviations(row, C, mu, 16)
            : lanes == 8 ? squared_deviations(row, C, mu, 8) : squared_deviations(row, C, mu, lanes);
}

/*
 * NormOps.residualLayerNormForward for rows [first, end) of [*, C]: x = sum (+ bias) + residual, written back to sum,
 * when sum is not NULL, else x = residual; out = (x - mean) rstd w + b with float64 statistics; mean and rstd [N]
 * saved when not NULL. out may be residual.
 */
EXPORT CLONES int eva4j_residual_layernorm_rows(float *sum, float *out, float *mean, float *rstd, const float *bias,
                                                const float *residual, const float *w, const float *b, int64_t first,
                                                int64_t end, int64_t C, float eps, int lanes) {
    if (lanes < 0 || lanes > MAX_LANES || lanes % 2 != 0) return 1;
    float *row = malloc((size_t) C * sizeof(float));
    if (row == NULL) return 2;
    for (int64_t n = first; n < end; n++) {
        int64_t base = n * C;
        if (sum == NULL) {
            memcpy(row, residual + base, (size_t) C * sizeof(float));
        } else {
            if (bias != NULL) {
                for (int64_t c = 0; c < C; c++) row[c] = sum[base + c] + bias[c] + residual[base + c];
            } else {
                for (int64_t c = 0; c < C; c++) row[c] = sum[base + c] + residual[base + c];
            }
            memcpy(sum + base, row, (size_t) C * sizeof(float));
        }
        double mu = row_sum_lanes(row, C, lanes) / C;
        double sq = squared_deviations_lanes(row, C, mu, lanes);
        float m = (float) mu;
        float r = (float) (1 / sqrt(sq / C + eps));
        if (mean != NULL) {
            mean[n] = m;
            rstd[n] = r;
        }
        float *o = out + base;
        for (int64_t c = 0; c < C; c++) o[c] = (row[c] - m) * r * w[c] + b[c];
    }
    free(row);
    return 0;
}

/* NormOps.rmsNormForward for rows [first, end): out = x rstd w, rstd = 1 / sqrt(mean(x^2) + eps) saved when not NULL */
EXPORT CLONES int eva4j_rmsnorm_rows(float *out, float *rstd, const float *inp, const float *w, int64_t first,
                                     int64_t end, int64_t C, float eps, int lanes) {
    if (lanes < 0 || lanes > MAX_LANES || lanes % 2 != 0) return 1;
    float *row = malloc((size_t) C * sizeof(float));
    if (row == NULL) return 2;
    for (int64_t n = first; n < end; n++) {
        memcpy(row, inp + n * C, (size_t) C * sizeof(float));
        double sq = squared_deviations_lanes(row, C, 0, lanes);
        float r = (float) (1 / sqrt(sq / C + eps));
        if (rstd != NULL) rstd[n] = r;
        float *o = out + n * C;
        for (int64_t c = 0; c < C; c++) o[c] = row[c] * r * w[c];
    }
    free(row);
    return 0;
}

/* GCC vector types: lowered to whatever the clone's target has (one zmm, two ymm, four xmm) */
typedef float v16sf __attribute__((vector_size(64)));
typedef int32_t v16si __attribute__((vector_size(64)));
typedef float v8sf __attribute__((vector_size(32)));

/* the largest of x[0, k) (NaN aside, a max in any order is the max) */
INLINE float row_max(const float *x, int64_t k) {
    int64_t i = 0;
    float max = -INFINITY;
    if (k >= 16) {
        v16sf m;
        memcpy(&m, x, sizeof m);
        for (i = 16; i + 16 <= k; i += 16) {
            v16sf v;
            memcpy(&v, x + i, sizeof v);
            v16si greater = v > m;
            m = (v16sf) (((v16si) v & greater) | ((v16si) m & ~greater));
        }
        for (int j = 0; j < 16; j++) max = m[j] > max ? m[j] : max;
    }
    for (; i < k; i++) max = x[i] > max ? x[i] : max;
    return max;
}

/*
 * The float lane sums of x[b0, b1) (whole vectors of `lanes`) into block[0, lanes), as Java's FloatVector adds do:
 * lane j gets x[b0 + j], x[b0 + lanes + j], ... in that order.
 */
INLINE void lane_sums(const float *x, int64_t b0, int64_t b1, int lanes, float *block) {
    if (lanes == 16) {
        v16sf acc = {0};
        for (int64_t i = b0; i < b1; i += 16) {
            v16sf v;
            memcpy(&v, x + i, sizeof v);
            acc += v;
        }
        memcpy(block, &acc, sizeof acc);
    } else if (lanes == 8) {
        v8sf acc = {0};
        for (int64_t i = b0; i < b1; i += 8) {
            v8sf v;
            memcpy(&v, x + i, sizeof v);
            acc += v;
        }
        memcpy(block, &acc, sizeof acc);
    } else {
        for (int j = 0; j < lanes; j++) block[j] = 0;
        for (int64_t i = b0; i < b1; i += lanes) {
            for (int j = 0; j < lanes; j++) block[j] += x[i + j];
        }
    }
}

/*
 * VectorOps.softmaxRow on x[0, k), in place: max over whole vectors and the tail; exp(x - max) over whole vectors in
 * blocks of at most 16 vectors, each block's float lanes summed in lane order into a double; the tail through double
 * exp; then every element times (float) (1 / sum). A row whose max is -inf becomes zeros.
 */
INLINE void softmax_row(float *x, int64_t k, int lanes) {
    int64_t whole = k - k % lanes; /* the elements Java's vector loops cover: floor(k / lanes) whole vectors */
    float max = row_max(x, k);
    if (max == -INFINITY) {
        memset(x, 0, (size_t) k * sizeof(float));
        return;
    }
    /* the exponentials as one straight loop (element-wise, so any vector width gives Java's values) ... */
    for (int64_t i = 0; i < whole; i++) x[i] = exp_float(x[i] - max);
    /* ... then Java's sums: float lanes over blocks of 16 vectors, each block's lanes in order into a double */
    double sum = 0;
    for (int64_t b0 = 0; b0 < whole; b0 += 16 * (int64_t) lanes) {
        int64_t b1 = whole < b0 + 16 * (int64_t) lanes ? whole : b0 + 16 * (int64_t) lanes;
        float block[MAX_LANES];
        lane_sums(x, b0, b1, lanes, block);
        double lanes_sum = 0; /* VectorOps.sumLanes */
        for (int j = 0; j < lanes; j++) lanes_sum += block[j];
        sum += lanes_sum;
    }
    for (int64_t i = whole; i < k; i++) {
        float e = (float) exp((double) (x[i] - max));
        x[i] = e;
        sum += e;
    }
    float inv = (float) (1 / sum);
    for (int64_t i = 0; i < k; i++) x[i] *= inv;
}

/*
 * The masked softmax of attention (AttentionOps) over the T x T scores at att, row t the query: keys s > t (when
 * causal) and keys with mask[s] == 0 (mask [T] or NULL) get no weight; a row with no visible key becomes zeros.
 */
EXPORT CLONES int eva4j_masked_softmax(float *att, const int32_t *mask, int64_t T, int causal, int lanes) {
    if (lanes < 2 || lanes > MAX_LANES) return 1;
    for (int64_t t = 0; t < T; t++) {
        float *row = att + t * T;
        int64_t visible = causal ? t + 1 : T;
        if (mask != NULL) {
            for (int64_t s = 0; s < visible; s++) {
                if (mask[s] == 0) row[s] = -INFINITY;
            }
        }
        softmax_row(row, visible, lanes);
        for (int64_t s = visible; s < T; s++) row[s] = 0.0f;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ training (backward) */

/* gelu'(x) = Phi(x) + x phi(x) (VectorOps.geluGrad): Phi per sign from erfc, phi through exp */
INLINE float gelu_grad(float x) {
    float e = erfc_non_negative(fabsf(x) * INV_SQRT2);
    float phi = x < 0.0f ? e * 0.5f : fmaf(e, -0.5f, 1.0f);
    return phi + exp_float((x * x) * -0.5f) * INV_SQRT_2PI * x;
}

/* dinp[i] += gelu'(inp[i]) dout[i] for i in [first, end), fused as Java's g.fma(dout, dinp) */
EXPORT CLONES void eva4j_gelu_backward(float *dinp, const float *dout, const float *inp, int64_t first, int64_t end) {
    float g[BLOCK];
    for (int64_t at = first; at < end; at += BLOCK) {
        int64_t m = end - at < BLOCK ? end - at : BLOCK;
        for (int64_t i = 0; i < m; i++) g[i] = fmaf(gelu_grad(inp[at + i]), dout[at + i], dinp[at + i]);
        memcpy(dinp + at, g, (size_t) m * sizeof(float));
    }
}

/* DropoutMask.hash: the 32-bit hash of element `index` under a folded seed (int arithmetic, wrapping) */
INLINE uint32_t dropout_hash(uint32_t word, int64_t index) {
    uint32_t x = word ^ ((uint32_t) index * 0x85EBCA6Bu);
    x += 0x632BE5ABu;
    x ^= x >> 16;
    x *= 0x85EBCA6Bu;
    x ^= x >> 13;
    x *= 0xC2B2AE35u;
    x ^= x >> 16;
    return x;
}

/*
 * Inverted dropout (DropoutMask, DropoutBlock): element i is kept, times 1 / (1 - p), when (hash(word, i) >>> 8) >=
 * threshold, else 0. add == 0: out[i] = x[i] factor(i); add != 0: out[i] += x[i] factor(i). For i in [first, end).
 */
EXPORT CLONES void eva4j_dropout(float *out, const float *x, int64_t first, int64_t end, float p, int32_t word,
                                 int32_t threshold, int add) {
    float keep = 1.0f / (1.0f - p), v[BLOCK];
    for (int64_t at = first; at < end; at += BLOCK) {
        int64_t m = end - at < BLOCK ? end - at : BLOCK;
        for (int64_t i = 0; i < m; i++) {
            int32_t k = (int32_t) (dropout_hash((uint32_t) word, at + i) >> 8);
            v[i] = x[at + i] * (k >= threshold ? keep : 0.0f);
        }
        if (add) {
            for (int64_t i = 0; i < m; i++) v[i] = out[at + i] + v[i];
        }
        memcpy(out + at, v, (size_t) m * sizeof(float));
    }
}

/*
 * OptimizerOps.adamw over [first, end), in float64 per element: m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g g;
 * p = p decay - step_size m / (sqrt(v) / bc2_sqrt + eps); m, v, p stored as float.
 */
EXPORT CLONES void eva4j_adamw(float *params, const float *grads, float *m, float *v, int64_t first, int64_t end,
                               double b1, double b2, double decay, double step_size, double bc2_sqrt, float eps) {
    for (int64_t i = first; i < end; i++) {
        double g = grads[i];
        double mi = b1 * m[i] + (1 - b1) * g;
        double vi = b2 * v[i] + (1 - b2) * g * g;
        double p = params[i] * decay - step_size * mi / (sqrt(vi) / bc2_sqrt + eps);
        m[i] = (float) mi;
        v[i] = (float) vi;
        params[i] = (float) p;
    }
}

/*
 * NormOps.layerNormBackward for rows [first, end) of [N, C], in float64: dinp += (dnorm - mean(dnorm) - norm
 * mean(dnorm norm)) rstd with dnorm = dout w, norm = (x - mean) rstd; dw[c] += dout norm and db[c] += dout summed
 * into this range's partial sums (C doubles each, or NULL). dinp may be NULL. norm and dnorm: 2 C doubles of scratch.
 */
EXPORT CLONES int eva4j_layernorm_backward_rows(float *dinp, double *dw, double *db, const float *dout,
                                                const float *inp, const float *weight, const float *mean,
                                                const float *rstd, int64_t first, int64_t end, int64_t C) {
    double *norm = malloc((size_t) C * 2 * sizeof(double));
    if (norm == NULL) return 2;
    double *dnorm = norm + C;
    int params = dw != NULL || db != NULL;
    for (int64_t n = first; n < end; n++) {
        int64_t base = n * C;
        double mu = mean[n], r = rstd[n];
        double sum_dnorm = 0, sum_dnorm_norm = 0;
        for (int64_t c = 0; c < C; c++) {
            double d = dout[base + c];
            norm[c] = (inp[base + c] - mu) * r;
            dnorm[c] = d * weight[c];
            sum_dnorm += dnorm[c];
            sum_dnorm_norm += dnorm[c] * norm[c];
            if (params) {
                dw[c] += d * norm[c];
                db[c] += d;
            }
        }
        if (dinp == NULL) continue;
        double mean_dnorm = sum_dnorm / C, mean_dnorm_norm = sum_dnorm_norm / C;
        for (int64_t c = 0; c < C; c++) {
            double g = (dnorm[c] - mean_dnorm - norm[c] * mean_dnorm_norm) * r;
            dinp[base + c] = (float) (dinp[base + c] + g);
        }
    }
    free(norm);
    return 0;
}

/* The library's interface version: Java refuses a library whose version differs from its own. */
EXPORT int eva4j_rows_version(void) {
    return 3;
}
