package dev.eva4j.api.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API loops over float32 segments (indices in elements): GELU (polynomial erfc and an inline exp, no division
 * and no call into the JDK's vector math library) and softmax's exp, which called Math.exp per element and took over
 * half of a BERT forward when scalar, and the plain adds and scalings. Each lane does the same float operations, in
 * the same order, as the scalar tail (GELU: the last partial vector goes through a mask), so results do not depend
 * on the vector width. Vectors never flow through branches (both sides are computed and blended): a vector merged
 * from two paths may cost the JIT its register form, an allocated box per operation.
 */
final class VectorOps {
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT;
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final float INV_SQRT2 = (float) (1 / Math.sqrt(2));
    private static final float INV_SQRT_2PI = (float) (1 / Math.sqrt(2 * Math.PI));
    /** Below this, erfc(z) = 1 - z - z P(z^2); from it, erfc(z) = exp(z (Q(z) - 1)). */
    private static final float ERF_SPLIT = 0.921875f;
    /**
     * From here erfc(z) < 5.6e-8 is taken as 0 (as ONNX Runtime takes erf as 1 from the same point): gelu(x) is x for
     * x > 5.55 and 0 for x < -5.55 (true value above -1.6e-7).
     */
    private static final float ERFC_ZERO = 3.925f;
    /**
     * P(s) = erf(z)/z - 1 on z in [0, 0.921875], s = z^2, degree 5; Q(z) = log(erfc(z))/z + 1 on [0.921875, 3.925],
     * degree 9. Fitted (least squares weighted to equal ripple, Lawson) against 40-digit erf/erfc; in float64 the
     * fits are within 1.6e-8 of erf (absolute) and 2.1e-8 of erfc (relative); evaluated in float32 erfc stays within
     * about 6e-7 relative where it is above 1e-4 (tests: VectorOpsTest).
     */
    private static final float[] P = {1.283791512e-01f, -3.761250675e-01f, 1.128192768e-01f, -2.677023970e-02f,
        4.998010118e-03f, -6.013434613e-04f};
    private static final float[] Q = {-1.285328865e-01f, -6.357778907e-01f, -1.047905087e-01f, 2.190428600e-02f,
        -2.187318169e-03f, -3.933172266e-04f, 2.085552260e-04f, -4.027274554e-05f, 3.992297934e-06f,
        -1.673466556e-07f};

    private VectorOps() {}

    static FloatVector load(MemorySegment s, long index) {
        return FloatVector.fromMemorySegment(S, s, index * Float.BYTES, NATIVE);
    }

    static FloatVector load(MemorySegment s, long index, VectorMask<Float> m) {
        return FloatVector.fromMemorySegment(S, s, index * Float.BYTES, NATIVE, m);
    }

    static void store(FloatVector v, MemorySegment s, long index) {
        v.intoMemorySegment(s, index * Float.BYTES, NATIVE);
    }

    static void store(FloatVector v, MemorySegment s, long index, VectorMask<Float> m) {
        v.intoMemorySegment(s, index * Float.BYTES, NATIVE, m);
    }

    private static final float LOG2E = (float) (1 / Math.log(2));
    /** ln 2 in two parts: LN2_HI has 9 significant bits, so k LN2_HI is exact for |k| < 2^15. */
    private static final float LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    /** 1.5 * 2^23: adding it rounds a float of magnitude below 2^22 to an integer, held in its low mantissa bits. */
    private static final float ROUND = 12582912f;
    /** Below this exp is taken as 0 (exp(-86) = 4.4e-38, near the smallest normal float). */
    private static final float EXP_ZERO = -86f;
    /** exp(r) - 1 - r on [-ln2/2, ln2/2] over r^2 (Cephes expf): degree 5. */
    private static final float[] E = {5.0000001201e-1f, 1.6666665459e-1f, 4.1665795894e-2f, 8.3334519073e-3f,
        1.3981999507e-3f, 1.9875691500e-4f};

    /**
     * exp(x) lane-wise, inline (no call into the JDK's vector math library): x = k ln2 + r, |r| <= ln2/2, exp(r) by
     * a polynomial, 2^k added to the exponent bits. Within 1.5e-7 relative for x in [-86, 88.3]; 0 below -86 (and
     * for -inf); x above 88.3 is taken as 88.3. NaN stays NaN.
     */
    static FloatVector exp(FloatVector x) {
        FloatVector c = x.min(88.3f);
        FloatVector t = c.fma(FloatVector.broadcast(S, LOG2E), FloatVector.broadcast(S, ROUND));
        FloatVector k = t.sub(ROUND);
        FloatVector r = k.fma(FloatVector.broadcast(S, -LN2_HI), c);
        r = k.fma(FloatVector.broadcast(S, -LN2_LO), r);
        FloatVector e = horner(E, r).fma(r.mul(r), r).add(1f);
        IntVector scale = t.reinterpretAsInts().sub(Float.floatToRawIntBits(ROUND)).lanewise(VectorOperators.LSHL, 23);
        FloatVector y = e.reinterpretAsInts().add(scale).reinterpretAsFloats();
        return y.blend(0f, x.compare(VectorOperators.LT, EXP_ZERO));
    }

    private static FloatVector horner(float[] c, FloatVector x) {
        FloatVector p = FloatVector.broadcast(S, c[c.length - 1]);
        for (int i = c.length - 2; i >= 0; i--) p = p.fma(x, FloatVector.broadcast(S, c[i]));
        return p;
    }

    /**
     * erfc(z) lane-wise for z >= 0: 1 - z - z P(z^2) below 0.921875 (no cancellation: erfc > 0.19 there),
     * exp(z (Q(z) - 1)) up to 3.925 (relative accuracy in the tail), 0 beyond. Both branches for every lane, then a
     * blend: branch-free, so that the JIT keeps every vector in registers.
     */
    static FloatVector erfcNonNegative(FloatVector z) {
        FloatVector small = z.neg().fma(horner(P, z.mul(z)), FloatVector.broadcast(S, 1f).sub(z));
        FloatVector t = z.min(ERFC_ZERO);
        FloatVector large = exp(t.fma(horner(Q, t), t.neg())).blend(0f, z.compare(VectorOperators.GE, ERFC_ZERO));
        return small.blend(large, z.compare(VectorOperators.GE, ERF_SPLIT));
    }

    /** gelu lane-wise: 0.5 x erfc(|x| / sqrt 2) for x < 0, x - 0.5 x erfc(x / sqrt 2) else (no cancellation). */
    static FloatVector gelu(FloatVector x) {
        FloatVector h = x.mul(erfcNonNegative(x.abs().mul(INV_SQRT2))).mul(0.5f);
        return x.sub(h).blend(h, x.compare(VectorOperators.LT, 0f));
    }

    /** out[i] = gelu(inp[i]) for i in [first, end); the last partial vector through a mask (same operations). */
    static void gelu(MemorySegment out, MemorySegment inp, long first, long end) {
        long i = first;
        for (long upper = end - S.length(); i <= upper; i += S.length()) store(gelu(load(inp, i)), out, i);
        if (i < end) {
            VectorMask<Float> m = S.indexInRange(i, end);
            store(gelu(load(inp, i, m)), out, i, m);
        }
    }

    /**
     * One row of n: x = inp[base + c] + bias[c] (bias may be null); preact[base + c] = x unless preact is out (the
     * store would be overwritten); out[base + c] = gelu(x).
     */
    static void biasGelu(MemorySegment preact, MemorySegment out, MemorySegment inp, MemorySegment bias, long base,
                         int n) {
        boolean keep = preact != null && preact.address() != out.address();
        int c = 0;
        for (int upper = n - S.length(); c <= upper; c += S.length()) {
            FloatVector x = load(inp, base + c);
            if (bias != null) x = x.add(load(bias, c));
            if (keep) store(x, preact, base + c);
            store(gelu(x), out, base + c);
        }
        if (c < n) {
            VectorMask<Float> m = S.indexInRange(c, n);
            FloatVector x = load(inp, base + c, m);
            if (bias != null) x = x.add(load(bias, c, m));
            if (keep) store(x, preact, base + c, m);
            store(gelu(x), out, base + c, m);
        }
    }

    /**
     * dinp[i] += gelu'(inp[i]) dout[i] for i in [first, end), gelu'(x) = Phi(x) + x phi(x): Phi per sign from
     * {@link #erfcNonNegative} (as {@link #gelu}), phi through {@link #exp}; float32 throughout.
     */
    static void geluBackward(MemorySegment dinp, MemorySegment dout, MemorySegment inp, long first, long end) {
        long i = first;
        for (long upper = end - S.length(); i <= upper; i += S.length()) {
            store(geluGrad(load(inp, i)).fma(load(dout, i), load(dinp, i)), dinp, i);
        }
        if (i < end) {
            VectorMask<Float> m = S.indexInRange(i, end);
            store(geluGrad(load(inp, i, m)).fma(load(dout, i, m), load(dinp, i, m)), dinp, i, m);
        }
    }

    private static FloatVector geluGrad(FloatVector x) {
        FloatVector e = erfcNonNegative(x.abs().mul(INV_SQRT2));
        FloatVector phi = e.fma(FloatVector.broadcast(S, -0.5f), FloatVector.broadcast(S, 1f))
                .blend(e.mul(0.5f), x.compare(VectorOperators.LT, 0f));
        return phi.add(exp(x.mul(x).mul(-0.5f)).mul(INV_SQRT_2PI).mul(x));
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
