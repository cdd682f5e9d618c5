package dev.eva4j.spi;

import java.lang.foreign.MemorySegment;
import java.util.Optional;
import java.util.Set;

/**
 * Backend-owned memory and every kernel a transformer's forward and backward pass needs, as pairs in llm.c's manner:
 * output operands first, shapes in the comment (B batch, T time, C channels, N = B*T rows, V vocabulary, NH query
 * heads, NKV key/value heads, HS head size, R LoRA rank); a forward saves what its backward needs (LayerNorm mean
 * and rstd, attention probabilities, the LoRA branch's {@code x A^T}); <b>every backward adds</b> into its gradient
 * outputs ({@code d* += ...}), so callers zero gradients first, and a gradient output may be null when it is not
 * wanted (a frozen weight). Matrices are row-major; a linear weight is stored [OUT, IN] as Hugging Face stores it.
 *
 * <p>"Float" operands are {@link #floatType()} buffers (float32 on production backends, float64 on the reference);
 * ids, positions, targets and masks are {@link DType#I32}. Every operand is checked (owner, dtype, enough elements)
 * before any work, and a wrong one is an {@link IllegalArgumentException} naming the kernel and the operand — never
 * a crash. Lengths may exceed what the shape needs (a buffer reused for a smaller batch). Unless stated, an output
 * must not alias an input. Kernels are called from one thread at a time per buffer; implementations may use threads
 * internally.
 *
 * <p>The float64 reference in eva4j-testkit is the oracle every implementation is tested against.
 */
public interface Kernels {

    /** The backend's name, for messages. */
    String name();

    /** The type of every float operand: {@link DType#F32}, or {@link DType#F64} for a reference. */
    DType floatType();

    /** What this backend offers beyond the contract. */
    Set<Capability> capabilities();

    default boolean has(Capability capability) {
        return capabilities().contains(capability);
    }

    // ---------------------------------------------------------------------------------------------------- memory

    /** A new zero-filled buffer of {@code length} elements. */
    Buffer allocate(DType dtype, long length);

    /** A new zero-filled buffer of the float type. */
    default Buffer allocateFloats(long length) {
        return allocate(floatType(), length);
    }

    /** Copies {@code src} into {@code dst[offset ...]} (float buffers; converted to the float type). */
    void upload(Buffer dst, long offset, float[] src);

    /** Copies {@code src} into {@code dst[offset ...]} (float buffers; rounded to the float type). */
    void upload(Buffer dst, long offset, double[] src);

    /** Copies {@code src} into {@code dst[offset ...]} (I32 buffers). */
    void upload(Buffer dst, long offset, int[] src);

    /** Copies {@code src.byteSize() / 4} float32 values from host memory into {@code dst[offset ...]}. */
    void uploadFloats(Buffer dst, long offset, MemorySegment src);

    /** Copies {@code dst.length} values from {@code src[offset ...]} (float buffers; converted to float32). */
    void download(Buffer src, long offset, float[] dst);

    /** Copies {@code dst.length} values from {@code src[offset ...]} (float buffers, widened to float64). */
    void download(Buffer src, long offset, double[] dst);

    /** Copies {@code dst.byteSize() / 4} values from {@code src[offset ...]} into host float32 memory. */
    void downloadFloats(Buffer src, long offset, MemorySegment dst);

    /** A zero-copy host view of a buffer, present only with {@link Capability#HOST_MEMORY}. */
    default Optional<MemorySegment> hostSegment(Buffer buffer) {
        return Optional.empty();
    }

    /** dst[0, n) = src[0, n) (same dtype). */
    void copy(Buffer dst, Buffer src, long n);

    /** x[0, n) = value (float buffers). */
    void fill(Buffer x, double value, long n);

    /** x[0, n) *= factor (float buffers); gradient clipping. */
    void scale(Buffer x, double factor, long n);

    /** Waits until all work issued so far has finished (a no-op on synchronous backends). */
    default void synchronize() {}

    // ------------------------------------------------------------------------------------------------ embeddings

    /**
     * out[n, :] = table[ids[n], :], or {@code +=} when {@code accumulate} (position and token-type embeddings).
     * Shapes: out [N, C]; ids [N] I32, each in [0, V); table [V, C]. An id out of range is an
     * {@link IllegalArgumentException} naming it.
     */
    void embeddingForward(Buffer out, Buffer ids, Buffer table, int N, int V, int C, boolean accumulate);

    /** dtable[ids[n], :] += dout[n, :] (scatter-add). Shapes: dtable [V, C]; dout [N, C]; ids [N]. */
    void embeddingBackward(Buffer dtable, Buffer dout, Buffer ids, int N, int V, int C);

    // ---------------------------------------------------------------------------------------------------- norms

    /**
     * out = (inp - mean) * rstd * weight + bias per row, mean and biased variance over C, rstd = 1/sqrt(var + eps)
     * (statistics accumulated in at least float64 on float32 backends). mean and rstd [N] are saved for the backward
     * pass, or both null (inference). out may be inp. Shapes: inp, out [N, C]; weight, bias [C].
     */
    void layerNormForward(Buffer out, Buffer mean, Buffer rstd, Buffer inp, Buffer weight, Buffer bias,
                          int N, int C, float eps);

    /**
     * Adds the gradients of {@link #layerNormForward}: dinp [N, C]; dweight, dbias [C] (either may be null).
     * Shapes: dout, inp [N, C]; weight [C]; mean, rstd [N] as saved by the forward pass.
     */
    void layerNormBackward(Buffer dinp, Buffer dweight, Buffer dbias, Buffer dout, Buffer inp, Buffer weight,
                           Buffer mean, Buffer rstd, int N, int C);

    /**
     * out = inp * rstd * weight per row, rstd = 1/sqrt(mean(inp^2) + eps) (Llama's RMSNorm); rstd [N] is saved, or
     * null. out may be inp. Shapes: inp, out [N, C]; weight [C].
     */
    void rmsNormForward(Buffer out, Buffer rstd, Buffer inp, Buffer weight, int N, int C, float eps);

    /** Adds the gradients of {@link #rmsNormForward}: dinp [N, C], dweight [C] (may be null). */
    void rmsNormBackward(Buffer dinp, Buffer dweight, Buffer dout, Buffer inp, Buffer weight, Buffer rstd,
                         int N, int C);

    // -------------------------------------------------------------------------------------------------- linear

    /** out = inp weight^T (+ bias). Shapes: inp [N, IN]; weight [OUT, IN]; bias [OUT] or null; out [N, OUT]. */
    void matmulForward(Buffer out, Buffer inp, Buffer weight, Buffer bias, int N, int IN, int OUT);

    /**
     * Adds the gradients of {@link #matmulForward}: dinp [N, IN] += dout weight; dweight [OUT, IN] += dout^T inp;
     * dbias [OUT] += column sums of dout. Each may be null. Shapes: dout [N, OUT].
     */
    void matmulBackward(Buffer dinp, Buffer dweight, Buffer dbias, Buffer dout, Buffer inp, Buffer weight,
                        int N, int IN, int OUT);

    /**
     * The linear layer with a GELU epilogue (BERT's intermediate layer): preact = inp weight^T (+ bias), kept for
     * {@link #geluBackward}; out = gelu(preact) as {@link #geluForward}. out may be preact (inference: nothing kept);
     * neither may be inp. Shapes: inp [N, IN]; weight [OUT, IN]; bias [OUT] or null; preact, out [N, OUT]. The
     * default is those two calls; a backend may fuse the bias and the GELU into one pass over the output.
     */
    default void matmulGeluForward(Buffer preact, Buffer out, Buffer inp, Buffer weight, Buffer bias, int N, int IN,
                                   int OUT) {
        matmulForward(preact, inp, weight, bias, N, IN, OUT);
        geluForward(out, preact, (long) N * OUT);
    }

    /**
     * The linear layer with a residual + LayerNorm epilogue (a post-norm block's output projections): sum = inp
     * weight^T (+ bias) + residual, kept as LayerNorm's input for {@link #layerNormBackward}; out = layerNorm(sum)
     * with mean and rstd saved (or both null) as {@link #layerNormForward}. out may be residual; sum may be neither
     * inp nor residual. Shapes: inp [N, IN]; weight [C, IN]; bias [C] or null; residual, sum, out [N, C]; lnWeight,
     * lnBias [C]; mean, rstd [N]. The default is {@link #matmulForward}, {@link #residualForward} and
     * {@link #layerNormForward}; a backend may fuse the epilogue into one pass over each row.
     */
    default void matmulResidualLayerNormForward(Buffer sum, Buffer out, Buffer mean, Buffer rstd, Buffer inp,
                                                Buffer weight, Buffer bias, Buffer residual, Buffer lnWeight,
                                                Buffer lnBias, int N, int IN, int C, float eps) {
        matmulForward(sum, inp, weight, bias, N, IN, C);
        residualForward(sum, sum, residual, (long) N * C);
        layerNormForward(out, mean, rstd, sum, lnWeight, lnBias, N, C, eps);
    }

    /**
     * The LoRA linear layer: out = inp W^T (+ bias) + scale * (drop(inp) A^T) B^T, with inverted dropout of rate
     * {@code dropout} on the LoRA branch only, its mask {@link DropoutMask} over the N*IN elements of inp under
     * {@code seed} (regenerated by the backward pass, never stored). Saves xa = drop(inp) A^T [N, R].
     * Shapes: inp [N, IN]; weight [OUT, IN]; bias [OUT] or null; a [R, IN]; b [OUT, R]; xa [N, R]; out [N, OUT].
     */
    void loraForward(Buffer out, Buffer xa, Buffer inp, Buffer weight, Buffer bias, Buffer a, Buffer b,
                     float scale, float dropout, long seed, int N, int IN, int OUT, int R);

    /**
     * Adds the gradients of {@link #loraForward} (same seed and dropout): with g = scale * dout B [N, R],
     * db [OUT, R] += scale * dout^T xa; da [R, IN] += g^T drop(inp); dinp [N, IN] += dout W + drop'(g A), where
     * drop' applies the same mask and factor. Each gradient output may be null. The base weight gets no gradient.
     */
    void loraBackward(Buffer dinp, Buffer da, Buffer db, Buffer dout, Buffer inp, Buffer xa, Buffer weight,
                      Buffer a, Buffer b, float scale, float dropout, long seed, int N, int IN, int OUT, int R);

    // ----------------------------------------------------------------------------------------------- attention

    /**
     * Scaled dot-product attention with grouped-query heads (query head h reads key/value head h / (NH / NKV)):
     * for each sequence b, head h and query t, p = softmax over the visible keys s of q.k / sqrt(HS); out = sum p v.
     * A key s is visible when mask[b, s] != 0 (mask null: all are) and, when causal, s <= t; a query with no visible
     * key gets p = 0 and a zero output. att [B, NH, T, T] receives p (hidden keys 0) for the backward pass, or is
     * null (inference). Shapes: q [B, T, NH, HS]; k, v [B, T, NKV, HS]; mask [B, T] I32 or null; out [B, T, NH, HS].
     */
    void attentionForward(Buffer out, Buffer att, Buffer q, Buffer k, Buffer v, Buffer mask,
                          int B, int T, int NH, int NKV, int HS, boolean causal);

    /**
     * Adds the gradients of {@link #attentionForward} into dq [B, T, NH, HS], dk and dv [B, T, NKV, HS] (the NH/NKV
     * query heads of a group sum into their key/value head), from dout [B, T, NH, HS] and the saved att.
     */
    void attentionBackward(Buffer dq, Buffer dk, Buffer dv, Buffer dout, Buffer q, Buffer k, Buffer v, Buffer att,
                           int B, int T, int NH, int NKV, int HS);

    /**
     * Rotary position embedding, Hugging Face's rotate-half convention: with h = HS/2 and angle a = pos[n] *
     * invFreq[i] (computed in the float type), out[i] = x[i] cos a - x[i+h] sin a, out[i+h] = x[i+h] cos a +
     * x[i] sin a. out may be inp. Shapes: inp, out [N, H, HS]; positions [N] I32; invFreq [HS/2].
     */
    void ropeForward(Buffer out, Buffer inp, Buffer positions, Buffer invFreq, int N, int H, int HS);

    /** Adds the gradient of {@link #ropeForward}: dinp += R(-a) dout. Shapes as the forward pass. */
    void ropeBackward(Buffer dinp, Buffer dout, Buffer positions, Buffer invFreq, int N, int H, int HS);

    // --------------------------------------------------------------------------------------------- elementwise

    /** out = gelu(inp) with the exact erf form, 0.5 x (1 + erf(x / sqrt 2)). out may be inp. Shapes: [n]. */
    void geluForward(Buffer out, Buffer inp, long n);

    /** dinp += gelu'(inp) dout. Shapes: [n]. */
    void geluBackward(Buffer dinp, Buffer dout, Buffer inp, long n);

    /** out = silu(gate) * up, silu(x) = x / (1 + e^-x) (the SiLU-gated MLP). out may be gate or up. Shapes: [n]. */
    void swigluForward(Buffer out, Buffer gate, Buffer up, long n);

    /** dgate += dout up silu'(gate); dup += dout silu(gate). Shapes: [n]. */
    void swigluBackward(Buffer dgate, Buffer dup, Buffer dout, Buffer gate, Buffer up, long n);

    /** out = a + b (the residual connection). out may be a or b. Shapes: [n]. */
    void residualForward(Buffer out, Buffer a, Buffer b, long n);

    /** da += dout; db += dout (either may be null). Shapes: [n]. */
    void residualBackward(Buffer da, Buffer db, Buffer dout, long n);

    // ------------------------------------------------------------------------------------------ loss and pooling

    /**
     * Softmax cross-entropy: probs [N, V] = softmax(logits) per row (saved for the backward pass); returns the mean
     * of -log probs[n, targets[n]] over the counted rows, those whose target is not {@code ignoreIndex}, accumulated
     * in float64 (0 when no row counts). A target outside [0, V) other than ignoreIndex is an
     * {@link IllegalArgumentException}. Shapes: logits [N, V]; targets [N] I32.
     */
    double crossEntropyForward(Buffer probs, Buffer logits, Buffer targets, int N, int V, int ignoreIndex);

    /**
     * Adds the gradient of {@code dloss * loss} into dlogits [N, V]: dloss * (probs - onehot(target)) / count for
     * counted rows, nothing for ignored ones.
     */
    void crossEntropyBackward(Buffer dlogits, Buffer probs, Buffer targets, int N, int V, int ignoreIndex,
                              float dloss);

    /**
     * out[b, :] = mean of inp[b, t, :] over the positions with mask[b, t] != 0 (zero when there is none).
     * Shapes: inp [B, T, C]; mask [B, T] I32; out [B, C].
     */
    void meanPoolForward(Buffer out, Buffer inp, Buffer mask, int B, int T, int C);

    /** dinp[b, t, :] += dout[b, :] / count_b where mask[b, t] != 0. */
    void meanPoolBackward(Buffer dinp, Buffer dout, Buffer mask, int B, int T, int C);

    /** out[b, :] = inp[b, 0, :] (the CLS token). Shapes: inp [B, T, C]; out [B, C]. */
    void clsPoolForward(Buffer out, Buffer inp, int B, int T, int C);

    /** dinp[b, 0, :] += dout[b, :]. */
    void clsPoolBackward(Buffer dinp, Buffer dout, int B, int T, int C);

    // ------------------------------------------------------------------------------------------------ optimiser

    /**
     * One AdamW step over a contiguous parameter block, PyTorch's order: p *= 1 - lr*weightDecay (decoupled);
     * m = beta1 m + (1 - beta1) g; v = beta2 v + (1 - beta2) g^2; p -= (lr / (1 - beta1^step)) m /
     * (sqrt(v) / sqrt(1 - beta2^step) + eps). Shapes: params, grads, m, v [n]; step >= 1.
     */
    void adamw(Buffer params, Buffer grads, Buffer m, Buffer v, long n, float lr, float beta1, float beta2,
               float eps, float weightDecay, int step);

    /** The L2 norm of grads[0, n), accumulated in float64 (clip with {@link #scale}). */
    double norm(Buffer grads, long n);
}
