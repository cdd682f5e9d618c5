package dev.eva4j.api.kernels;

import java.lang.foreign.MemorySegment;

/**
 * The element-wise arithmetic of the host kernels, one range of rows (or elements) per call: forward, LayerNorm with
 * the residual add, RMSNorm, bias + GELU, GELU, the add, the embedding gather and sum, attention's masked softmax; in
 * training, GELU's and LayerNorm's backward, dropout and the AdamW update. {@link HostKernels}
 * checks every argument, splits the work across threads and hands each range to a {@code RowKernels}; it never passes a
 * range outside the segments.
 *
 * <p>{@link #vectorApi()} computes in Java with the Vector API. A backend may supply another implementation (the OpenBLAS
 * backend's runs compiled C, fast from its first call, where the Vector API is fast only after the JIT has compiled
 * it). Every implementation must give the same floats, bit for bit, as {@link #vectorApi()}: the same float32
 * operations in the same order, float64 where it uses float64, lanes summed in the order of {@link #lanes()}; so a
 * model computes the same numbers whichever implementation runs. Implementations are thread-safe and stateless.
 *
 * <p>Shapes are row-major. Optional arguments are {@code null}.
 */
public interface RowKernels {
    /** What runs the arithmetic, for reports ("Vector API", "native C (...)"). */
    String description();

    /**
     * Rows [first, end) of [N, C]: x = sum (+ bias) + residual, written back to sum when sum is not null (else x is
     * residual alone); out = (x - mean) rstd w + lnBias with the statistics in float64 and applied in float32 as
     * {@code (x - m) * r * w + b}, m and r rounded to float; mean and rstd [N] saved when not null. out may be residual.
     */
    void residualLayerNorm(MemorySegment sum, MemorySegment out, MemorySegment mean, MemorySegment rstd,
                           MemorySegment bias, MemorySegment residual, MemorySegment weight, MemorySegment lnBias,
                           int first, int end, int C, float eps);

    /** Rows [first, end) of [N, C]: out = x rstd w, rstd = 1 / sqrt(mean(x^2) + eps) saved when not null. out may be inp. */
    void rmsNorm(MemorySegment out, MemorySegment rstd, MemorySegment inp, MemorySegment weight, int first, int end,
                 int C, float eps);

    /**
     * Rows [first, end) of [N, C]: x = inp + bias (bias [C], or x = inp without one); preact = x when preact is not
     * null; out = gelu(x). inp may be preact or out.
     */
    void biasGelu(MemorySegment preact, MemorySegment out, MemorySegment inp, MemorySegment bias, int first, int end,
                  int C);

    /** out[i] = gelu(inp[i]) for i in [first, end); out may be inp. */
    void gelu(MemorySegment out, MemorySegment inp, long first, long end);

    /** out[i] = a[i] + b[i] for i in [first, end); out may be a or b. */
    void add(MemorySegment out, MemorySegment a, MemorySegment b, long first, long end);

    /**
     * Rows [first, end) of out [N, C]: out[n, :] = table[ids[n], :], or += when {@code accumulate} (ids I32, each a
     * row of table).
     */
    void embedding(MemorySegment out, MemorySegment ids, MemorySegment table, int first, int end, int C,
                   boolean accumulate);

    /**
     * Attention's softmax over one T x T block of scores, in place, row t the query: a key s gets no weight when
     * mask[s] == 0 (mask [T] I32, or null) or, when causal, s > t; a row with no visible key becomes zeros.
     */
    void maskedSoftmax(MemorySegment att, MemorySegment mask, int T, boolean causal);

    // ------------------------------------------------------------------------------------------ training

    /** dinp[i] += gelu'(inp[i]) dout[i] for i in [first, end), gelu' in float32 and the update fused (one rounding). */
    void geluBackward(MemorySegment dinp, MemorySegment dout, MemorySegment inp, long first, long end);

    /**
     * Inverted dropout ({@link dev.eva4j.spi.DropoutMask} of {@code seed}, rate p > 0) over [first, end): out[i] =
     * x[i] factor(i), or out[i] += x[i] factor(i) when {@code add}. out may be x.
     */
    void dropout(MemorySegment out, MemorySegment x, long first, long end, float p, long seed, boolean add);

    /**
     * One AdamW update of [first, end) in float64 per element (PyTorch's order): m = b1 m + (1 - b1) g;
     * v = b2 v + (1 - b2) g g; p = p decay - stepSize m / (sqrt(v) / bc2Sqrt + eps); m, v, p stored as float.
     */
    void adamw(MemorySegment params, MemorySegment grads, MemorySegment m, MemorySegment v, long first, long end,
               double beta1, double beta2, double decay, double stepSize, double bc2Sqrt, float eps);

    /**
     * LayerNorm's backward for rows [first, end) of [N, C], in float64: dinp += (dnorm - mean(dnorm) - norm
     * mean(dnorm norm)) rstd, dnorm = dout w, norm = (x - mean) rstd (dinp may be null); when dweight and dbias (C
     * doubles each, both or neither) are given, dweight[c] += dout norm and dbias[c] += dout, row by row in order.
     */
    void layerNormBackward(MemorySegment dinp, MemorySegment dweight, MemorySegment dbias, MemorySegment dout,
                           MemorySegment inp, MemorySegment weight, MemorySegment mean, MemorySegment rstd, int first,
                           int end, int C);

    /** The host kernels' own implementation: Java, through the Vector API. */
    static RowKernels vectorApi() {
        return VectorRowKernels.INSTANCE;
    }

    /**
     * The float lanes of the Vector API's preferred species on this JVM (16 with AVX-512, 8 with AVX2): the softmax sums
     * its exponentials in this many float lanes.
     */
    static int lanes() {
        return VectorOps.S.length();
    }

    /**
     * The lanes of LayerNorm's and RMSNorm's row statistics: {@link #lanes()} when a float vector widens into two double
     * vectors (the statistics then sum whole vectors, half of the float lanes per double vector), else 0 (they sum
     * element by element).
     */
    static int normLanes() {
        return VectorOps.WIDE_PARTS == 2 ? VectorOps.S.length() : 0;
    }
}
