package dev.eva4j.models.ops;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API kernels of the element-wise ops that are hot in a forward pass (GELU's erf, softmax's exp): the scalar
 * versions called Math.exp per element and took over half of a BERT forward.
 */
final class VectorKernels {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final float INV_SQRT2 = (float) (1 / Math.sqrt(2));
    // Numerical Recipes' erfcc: erfc(z) = t exp(-z^2 + P(t)), t = 1 / (1 + z / 2), fractional error < 1.2e-7
    private static final float[] P = {-1.26551223f, 1.00002368f, 0.37409196f, 0.09678418f, -0.18628806f,
        0.27886807f, -1.13520398f, 1.48851587f, -0.82215223f, 0.17087277f};

    private VectorKernels() {}

    /**
     * erfc(|x| / sqrt 2), lane-wise. The exponent -x^2/2 is kept exact: x^2 = hi + lo (fma), exp(-hi/2) exp(P) and
     * (1 - lo/2) are multiplied, so the deep tails keep their relative accuracy in float32.
     */
    static FloatVector erfcOfScaled(FloatVector x) {
        FloatVector z = x.abs().mul(INV_SQRT2);
        FloatVector t = FloatVector.broadcast(S, 1f).div(z.fma(FloatVector.broadcast(S, 0.5f), FloatVector.broadcast(S, 1f)));
        FloatVector p = FloatVector.broadcast(S, P[9]);
        for (int i = 8; i >= 0; i--) p = p.fma(t, FloatVector.broadcast(S, P[i]));
        FloatVector hi = x.mul(x);
        FloatVector lo = x.fma(x, hi.neg());
        FloatVector gauss = hi.mul(-0.5f).lanewise(VectorOperators.EXP);
        return t.mul(gauss).mul(p.lanewise(VectorOperators.EXP)).mul(lo.fma(FloatVector.broadcast(S, -0.5f),
                FloatVector.broadcast(S, 1f)));
    }

    /** GELU of one value through the float64 {@link Erf} (array tails and single values; not hot). */
    static float gelu(float x) {
        return (float) (0.5 * x * Erf.erfc(-x / Math.sqrt(2)));
    }

    /** out[i] = gelu(inp[i]) for i in [first, end). */
    static void gelu(MemorySegment out, MemorySegment inp, long first, long end) {
        long i = first;
        for (long upper = end - S.length(); i <= upper; i += S.length()) {
            FloatVector x = FloatVector.fromMemorySegment(S, inp, i * 4, NATIVE);
            FloatVector e = erfcOfScaled(x);
            VectorMask<Float> negative = x.compare(VectorOperators.LT, 0f);
            FloatVector positive = x.mul(e.fma(FloatVector.broadcast(S, -0.5f), FloatVector.broadcast(S, 1f)));
            FloatVector neg = x.mul(e).mul(0.5f);
            positive.blend(neg, negative).intoMemorySegment(out, i * 4, NATIVE);
        }
        for (; i < end; i++) out.setAtIndex(Floats.F32, i, gelu(inp.getAtIndex(Floats.F32, i)));
    }

    /** Softmax of the {@code k} floats from index {@code base} (max-subtracted; a row of -inf gives zeros). */
    static void softmaxRow(MemorySegment out, MemorySegment inp, long base, int k) {
        long off = base * 4;
        int i = 0, upper = k - S.length();
        FloatVector vmax = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        for (; i <= upper; i += S.length()) vmax = vmax.max(FloatVector.fromMemorySegment(S, inp, off + i * 4L, NATIVE));
        float max = vmax.reduceLanes(VectorOperators.MAX);
        for (; i < k; i++) max = Math.max(max, inp.getAtIndex(Floats.F32, base + i));
        if (max == Float.NEGATIVE_INFINITY) {
            for (int j = 0; j < k; j++) out.setAtIndex(Floats.F32, base + j, 0f);
            return;
        }
        double sum = 0;
        for (i = 0; i <= upper; i += S.length()) {
            FloatVector e = FloatVector.fromMemorySegment(S, inp, off + i * 4L, NATIVE).sub(max)
                    .lanewise(VectorOperators.EXP);
            e.intoMemorySegment(out, off + i * 4L, NATIVE);
            sum += e.reduceLanes(VectorOperators.ADD);
        }
        for (; i < k; i++) {
            float e = (float) Math.exp(inp.getAtIndex(Floats.F32, base + i) - max);
            out.setAtIndex(Floats.F32, base + i, e);
            sum += e;
        }
        float inv = (float) (1 / sum);
        for (i = 0; i <= upper; i += S.length()) {
            FloatVector.fromMemorySegment(S, out, off + i * 4L, NATIVE).mul(inv).intoMemorySegment(out, off + i * 4L, NATIVE);
        }
        for (; i < k; i++) out.setAtIndex(Floats.F32, base + i, out.getAtIndex(Floats.F32, base + i) * inv);
    }
}
