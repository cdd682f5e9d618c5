// Scaled dot-product attention with grouped-query heads (query head h reads key/value head g = h / (NH / NKV)) and
// its backward pass, as Kernels.attentionForward / attentionBackward define them. Layouts: q, out, dq, dout
// [B, T, NH, HS]; k, v, dk, dv [B, T, NKV, HS]; mask [B, T] (I32, 0 = padding) or null; att, ds [B, NH, T, T].
//
// The host may process the batch in chunks of sequences [b0, b0 + nb): then att and ds point at the first row of
// sequence b0 (att + b0 * NH * T * T), and blockIdx.x counts rows of the chunk only. A key s is visible to query t
// when mask[b, s] != 0 (mask null: always) and, when causal, s <= t. Hidden keys get p = 0 exactly; a query with no
// visible key gets p = 0 and a zero output.
#pragma once
#include "common.cuh"

// Forward, one block per query row (b, h, t) of the chunk: grid (nb * NH * T), block 128 threads (4 warps).
// 1. scores: warp w computes keys s = w, w + 4, ...: q[b, t, h, :] . k[b, s, g, :] * scale (float, lanes over HS,
//    then a warp reduction), -inf for hidden keys; written to the row's att[b - b0, h, t, :].
// 2. softmax in place: float max; e = expf(score - max); sum in float64; p = e * (float) (1 / sum).
// 3. out[b, t, h, d] = sum_s p[s] v[b, s, g, d], threads over d (float accumulation in key order).
// att must hold the chunk's rows (the caller's scratch when the contract's att is null).
extern "C" __global__ void eva4j_attention_forward(float* out, float* att, const float* q, const float* k,
                                                  const float* v, const int* mask, int b0, int T, int NH, int NKV,
                                                  int HS, int causal, float scale) {
    __shared__ double dscratch[EVA4J_MAX_WARPS];
    __shared__ float fscratch[EVA4J_MAX_WARPS];
    i64 r = blockIdx.x;
    int t = (int) (r % T), h = (int) ((r / T) % NH);
    int b = b0 + (int) (r / ((i64) T * NH));
    int g = h / (NH / NKV);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    i64 qC = (i64) NH * HS, kvC = (i64) NKV * HS;
    const float* qrow = q + ((i64) b * T + t) * qC + (i64) h * HS;
    const float* kbase = k + (i64) b * T * kvC + (i64) g * HS;
    const float* vbase = v + (i64) b * T * kvC + (i64) g * HS;
    float* row = att + r * T;
    int visible = causal ? t + 1 : T;
    for (int s = warp; s < T; s += warps) {
        bool shown = s < visible && (mask == nullptr || mask[(i64) b * T + s] != 0);
        float dot = 0.0f;
        if (shown) {
            const float* krow = kbase + (i64) s * kvC;
            for (int d = lane; d < HS; d += 32) dot = fmaf(qrow[d], krow[d], dot);
            dot = warp_sum_f(dot);
        }
        if (lane == 0) row[s] = shown ? dot * scale : -INFINITY;
    }
    __syncthreads();
    float mx = -INFINITY;
    for (int s = threadIdx.x; s < T; s += blockDim.x) mx = fmaxf(mx, row[s]);
    mx = block_max_f(mx, fscratch);
    float* o = out + ((i64) b * T + t) * qC + (i64) h * HS;
    if (mx == -INFINITY) {   // no visible key (the same decision in every thread)
        for (int s = threadIdx.x; s < T; s += blockDim.x) row[s] = 0.0f;
        for (int d = threadIdx.x; d < HS; d += blockDim.x) o[d] = 0.0f;
        return;
    }
    double sum = 0;
    for (int s = threadIdx.x; s < T; s += blockDim.x) {
        float e = expf(row[s] - mx);   // hidden: expf(-inf) = 0 exactly
        row[s] = e;
        sum += e;
    }
    float inv = (float) (1.0 / block_sum_d(sum, dscratch));
    for (int s = threadIdx.x; s < T; s += blockDim.x) row[s] *= inv;
    __syncthreads();
    for (int d = threadIdx.x; d < HS; d += blockDim.x) {
        float acc = 0.0f;
        for (int s = 0; s < T; s++) {
            float p = row[s];
            if (p != 0.0f) acc = fmaf(p, vbase[(i64) s * kvC + d], acc);
        }
        o[d] = acc;
    }
}

// Backward, first pass, one block per query row (b, h, t) of the chunk: grid (nb * NH * T), block 128 threads.
// dP[s] = dout[b, t, h, :] . v[b, s, g, :] (warp per key, only where p[s] != 0), dot = sum_s dP[s] p[s] (float64),
// ds[s] = p[s] == 0 ? 0 : (float) (p[s] (dP[s] - dot)), written to ds (the caller's scratch, chunk rows);
// then, when dq is not null, dq[b, t, h, d] += scale * sum_s ds[s] k[b, s, g, d] (threads over d).
extern "C" __global__ void eva4j_attention_backward_query(float* dq, float* ds, const float* dout, const float* k,
                                                         const float* v, const float* att, int b0, int T, int NH,
                                                         int NKV, int HS, float scale) {
    __shared__ double dscratch[EVA4J_MAX_WARPS];
    i64 r = blockIdx.x;
    int t = (int) (r % T), h = (int) ((r / T) % NH);
    int b = b0 + (int) (r / ((i64) T * NH));
    int g = h / (NH / NKV);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    i64 qC = (i64) NH * HS, kvC = (i64) NKV * HS;
    const float* drow = dout + ((i64) b * T + t) * qC + (i64) h * HS;
    const float* kbase = k + (i64) b * T * kvC + (i64) g * HS;
    const float* vbase = v + (i64) b * T * kvC + (i64) g * HS;
    const float* p = att + r * T;
    float* dsrow = ds + r * T;
    for (int s = warp; s < T; s += warps) {
        float ps = p[s];
        float dot = 0.0f;
        if (ps != 0.0f) {
            const float* vrow = vbase + (i64) s * kvC;
            for (int d = lane; d < HS; d += 32) dot = fmaf(drow[d], vrow[d], dot);
            dot = warp_sum_f(dot);
        }
        if (lane == 0) dsrow[s] = dot;   // dP for now
    }
    __syncthreads();
    double part = 0;
    for (int s = threadIdx.x; s < T; s += blockDim.x) part += (double) dsrow[s] * (double) p[s];
    double dot = block_sum_d(part, dscratch);
    for (int s = threadIdx.x; s < T; s += blockDim.x) {
        float ps = p[s];
        dsrow[s] = ps == 0.0f ? 0.0f : (float) ((double) ps * ((double) dsrow[s] - dot));
    }
    if (dq == nullptr) return;
    __syncthreads();
    float* dqrow = dq + ((i64) b * T + t) * qC + (i64) h * HS;
    for (int d = threadIdx.x; d < HS; d += blockDim.x) {
        float acc = 0.0f;
        for (int s = 0; s < T; s++) {
            float w = dsrow[s];
            if (w != 0.0f) acc = fmaf(w, kbase[(i64) s * kvC + d], acc);
        }
        dqrow[d] += scale * acc;
    }
}

// Backward, second pass, one block per key row (b, g, s) of the chunk: grid (nb * NKV * T), block 64 threads over d.
// Summing over the group's query heads h and the queries t:
//   dk[b, s, g, d] += scale * sum ds[b - b0, h, t, s] q[b, t, h, d]     (when dk and ds are not null)
//   dv[b, s, g, d] += sum att[b - b0, h, t, s] dout[b, t, h, d]         (when dv is not null)
// No atomics: each block owns its key row, so the result does not depend on scheduling.
extern "C" __global__ void eva4j_attention_backward_key(float* dk, float* dv, const float* ds, const float* att,
                                                       const float* q, const float* dout, int b0, int T, int NH,
                                                       int NKV, int HS, float scale) {
    i64 r = blockIdx.x;
    int s = (int) (r % T), g = (int) ((r / T) % NKV);
    int bl = (int) (r / ((i64) T * NKV));
    int b = b0 + bl;
    int group = NH / NKV;
    i64 qC = (i64) NH * HS, kvC = (i64) NKV * HS, tt = (i64) T * T;
    for (int d = threadIdx.x; d < HS; d += blockDim.x) {
        float accK = 0.0f, accV = 0.0f;
        for (int j = 0; j < group; j++) {
            int h = g * group + j;
            const float* pcol = att + ((i64) bl * NH + h) * tt + s;
            const float* dcol = ds == nullptr ? nullptr : ds + ((i64) bl * NH + h) * tt + s;
            const float* qh = q + (i64) b * T * qC + (i64) h * HS + d;
            const float* doh = dout + (i64) b * T * qC + (i64) h * HS + d;
            for (int t = 0; t < T; t++) {
                float pv = pcol[(i64) t * T];
                if (pv == 0.0f) continue;   // hidden key for this query: p and ds are both 0
                if (dv != nullptr) accV = fmaf(pv, doh[(i64) t * qC], accV);
                if (dk != nullptr && dcol != nullptr) accK = fmaf(dcol[(i64) t * T], qh[(i64) t * qC], accK);
            }
        }
        i64 at = ((i64) b * T + s) * kvC + (i64) g * HS + d;
        if (dk != nullptr && ds != nullptr) dk[at] += scale * accK;
        if (dv != nullptr) dv[at] += accV;
    }
}
