package dev.eva4j.api.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API loops over float32 segments (indices in elements): GELU's erfc and softmax's exp, which called Math.exp
 * per element and took over half of a BERT forward when scalar, and the plain adds and scalings. Each lane does the
 * same float operations, in the same order, as the scalar tail, so results do not depend on the vector width.
 */
final class VectorOps {
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT;
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final float INV_SQRT2 = (float) (1 / Math.sqrt(2));
    // Numerical Recipes' erfcc: erfc(z) = t exp(-z^2 + P(t)), t = 1 / (1 + z / 2), fractional error < 1.2e-7
    private static final float[] P = {-1.26551223f, 1.00002368f, 0.37409196f, 0.09678418f, -0.18628806f,
        0.27886807f, -1.13520398f, 1.48851587f, -0.82215223f, 0.17087277f};

    private VectorOps() {}

    static FloatVector load(MemorySegment s, long index) {
        return FloatVector.fromMemorySegment(S, s, index * Float.BYTES, NATIVE);
    }

    static void store(FloatVector v, MemorySegment s, long index) {
        v.intoMemorySegment(s, index * Float.BYTES, NATIVE);
    }

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

    /**
     * out[i] = gelu(inp[i]) for i in [first, end): 0.5 x erfc(-x / sqrt 2) per sign (no cancellation in either tail)
     * with a vectorised erfc of fractional error below 1.2e-7.
     */
    static void gelu(MemorySegment out, MemorySegment inp, long first, long end) {
        long i = first;
        for (long upper = end - S.length(); i <= upper; i += S.length()) {
            FloatVector x = load(inp, i);
            FloatVector e = erfcOfScaled(x);
            VectorMask<Float> negative = x.compare(VectorOperators.LT, 0f);
            FloatVector positive = x.mul(e.fma(FloatVector.broadcast(S, -0.5f), FloatVector.broadcast(S, 1f)));
            FloatVector neg = x.mul(e).mul(0.5f);
            store(positive.blend(neg, negative), out, i);
        }
        for (; i < end; i++) out.setAtIndex(F32, i, gelu(inp.getAtIndex(F32, i)));
    }

    /**
     * dinp[i] += gelu'(inp[i]) dout[i] for i in [first, end), gelu'(x) = Phi(x) + x phi(x): Phi per sign from the
     * vectorised erfc (as {@link #gelu}), phi through the vector exp; float32 throughout.
     */
    static void geluBackward(MemorySegment dinp, MemorySegment dout, MemorySegment inp, long first, long end) {
        long i = first;
        FloatVector one = FloatVector.broadcast(S, 1f), minusHalf = FloatVector.broadcast(S, -0.5f);
        float invSqrt2Pi = (float) (1 / Math.sqrt(2 * Math.PI));
        for (long upper = end - S.length(); i <= upper; i += S.length()) {
            FloatVector x = load(inp, i);
            FloatVector e = erfcOfScaled(x);
            VectorMask<Float> negative = x.compare(VectorOperators.LT, 0f);
            FloatVector phi = e.fma(minusHalf, one).blend(e.mul(0.5f), negative);
            FloatVector pdf = x.mul(x).mul(-0.5f).lanewise(VectorOperators.EXP).mul(invSqrt2Pi).mul(x);
            store(phi.add(pdf).fma(load(dout, i), load(dinp, i)), dinp, i);
        }
        for (; i < end; i++) {
            double x = inp.getAtIndex(F32, i);
            double grad = 0.5 * Erf.erfc(-x / Math.sqrt(2)) + x * Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
            dinp.setAtIndex(F32, i, (float) (dinp.getAtIndex(F32, i) + grad * dout.getAtIndex(F32, i)));
        }
    }

    /** Softmax of the {@code k} floats from index {@code base} (max-subtracted; a row of -inf gives zeros). */
    static void softmaxRow(MemorySegment out, MemorySegment inp, long base, int k) {
        int i = 0, upper = k - S.length();
        FloatVector vmax = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        for (; i <= upper; i += S.length()) vmax = vmax.max(load(inp, base + i));
        float max = vmax.reduceLanes(VectorOperators.MAX);
        for (; i < k; i++) max = Math.max(max, inp.getAtIndex(F32, base + i));
        if (max == Float.NEGATIVE_INFINITY) {
            for (int j = 0; j < k; j++) out.setAtIndex(F32, base + j, 0f);
            return;
        }
        double sum = 0;
        for (i = 0; i <= upper; i += S.length()) {
            FloatVector e = load(inp, base + i).sub(max).lanewise(VectorOperators.EXP);
            store(e, out, base + i);
            sum += e.reduceLanes(VectorOperators.ADD);
        }
        for (; i < k; i++) {
            float e = (float) Math.exp(inp.getAtIndex(F32, base + i) - max);
            out.setAtIndex(F32, base + i, e);
            sum += e;
        }
        float inv = (float) (1 / sum);
        for (i = 0; i <= upper; i += S.length()) store(load(out, base + i).mul(inv), out, base + i);
        for (; i < k; i++) out.setAtIndex(F32, base + i, out.getAtIndex(F32, base + i) * inv);
    }

    /** out[o + i] = a[ia + i] + b[ib + i] for i in [0, n). */
    static void add(MemorySegment out, long o, MemorySegment a, long ia, MemorySegment b, long ib, long n) {
        long i = 0;
        for (long upper = n - S.length(); i <= upper; i += S.length()) {
            store(load(a, ia + i).add(load(b, ib + i)), out, o + i);
        }
        for (; i < n; i++) out.setAtIndex(F32, o + i, a.getAtIndex(F32, ia + i) + b.getAtIndex(F32, ib + i));
    }

    /** dst[d + i] += src[s + i] for i in [0, n). */
    static void addInto(MemorySegment dst, long d, MemorySegment src, long s, long n) {
        add(dst, d, dst, d, src, s, n);
    }

    /** out[o + i] = a[ia + i] * factor for i in [0, n). */
    static void scale(MemorySegment out, long o, MemorySegment a, long ia, float factor, long n) {
        long i = 0;
        for (long upper = n - S.length(); i <= upper; i += S.length()) store(load(a, ia + i).mul(factor), out, o + i);
        for (; i < n; i++) out.setAtIndex(F32, o + i, a.getAtIndex(F32, ia + i) * factor);
    }

    /** x[i] = value for i in [first, end). */
    static void fill(MemorySegment x, long first, long end, float value) {
        FloatVector v = FloatVector.broadcast(S, value);
        long i = first;
        for (long upper = end - S.length(); i <= upper; i += S.length()) store(v, x, i);
        for (; i < end; i++) x.setAtIndex(F32, i, value);
    }
}
