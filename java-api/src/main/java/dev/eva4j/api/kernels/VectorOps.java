package dev.eva4j.api.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API loops over float32 segments (indices in elements): GELU (polynomial erfc and an inline exp, no division
 * and no call into the JDK's vector math library) and softmax's exp, which called Math.exp per element and took over
 * half of a BERT forward when scalar, and the plain adds and scalings. Each lane does the same float operations, in
 * the same order, as the scalar tail (GELU: every vector goes through a mask, all lanes set but in the last), so
 * results do not depend on the vector width, except for the order in which softmax sums its lanes. Vectors never flow through branches (both sides are computed and blended): a vector merged
 * from two paths may cost the JIT its register form, an allocated box per operation.
 */
final class VectorOps {
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT;
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    /** Double vectors per float vector: 2 when both species have the same width (a float vector has 2 parts). */
    static final int WIDE_PARTS = S.length() / D.length();
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
    private static final float P0 = 1.283791512e-01f, P1 = -3.761250675e-01f, P2 = 1.128192768e-01f,
        P3 = -2.677023970e-02f, P4 = 4.998010118e-03f, P5 = -6.013434613e-04f;
    private static final float Q0 = -1.285328865e-01f, Q1 = -6.357778907e-01f, Q2 = -1.047905087e-01f,
        Q3 = 2.190428600e-02f, Q4 = -2.187318169e-03f, Q5 = -3.933172266e-04f, Q6 = 2.085552260e-04f,
        Q7 = -4.027274554e-05f, Q8 = 3.992297934e-06f, Q9 = -1.673466556e-07f;

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
    /** (exp(r) - 1 - r) / r^2 on [-ln2/2, ln2/2] (Cephes expf): degree 5. */
    private static final float E0 = 5.0000001201e-1f, E1 = 1.6666665459e-1f, E2 = 4.1665795894e-2f,
        E3 = 8.3334519073e-3f, E4 = 1.3981999507e-3f, E5 = 1.9875691500e-4f;

    /**
     * exp(x) lane-wise, inline (no call into the JDK's vector math library): x = k ln2 + r, |r| <= ln2/2, exp(r) by
     * a polynomial, 2^k added to the exponent bits. Within 1.5e-7 relative for x in [-86, 88]; 0 below -86 (and for
     * -inf); NaN stays NaN. x above 88 is not allowed (the result is garbage; every caller passes x <= 0).
     */
    static FloatVector exp(FloatVector x) {
        return expInRange(x).blend(0f, x.compare(VectorOperators.LT, EXP_ZERO));
    }

    /**
     * {@link #exp} for x in [-86, 88] only, without range handling (garbage outside: callers blend it away). No
     * clamps: the JIT's float min/max carry Java's NaN and -0 rules and cost several instructions each.
     */
    private static FloatVector expInRange(FloatVector x) {
        FloatVector t = x.fma(FloatVector.broadcast(S, LOG2E), FloatVector.broadcast(S, ROUND));
        FloatVector k = t.sub(ROUND);
        FloatVector r = k.fma(FloatVector.broadcast(S, -LN2_HI), x);
        r = k.fma(FloatVector.broadcast(S, -LN2_LO), r);
        FloatVector e = FloatVector.broadcast(S, E5).fma(r, FloatVector.broadcast(S, E4)).fma(r, FloatVector.broadcast(S, E3)).fma(r, FloatVector.broadcast(S, E2)).fma(r, FloatVector.broadcast(S, E1)).fma(r, FloatVector.broadcast(S, E0));
        e = e.fma(r.mul(r), r).add(1f);
        // t's bits are ROUND's plus k, and ROUND's low 9 bits are 0: shifted by 23 they leave exactly k << 23
        IntVector scale = t.reinterpretAsInts().lanewise(VectorOperators.LSHL, 23);
        return e.reinterpretAsInts().add(scale).reinterpretAsFloats();
    }

    /**
     * erfc(z) lane-wise for z >= 0: 1 - z - z P(z^2) below 0.921875 (no cancellation: erfc > 0.19 there),
     * exp(z (Q(z) - 1)) up to 3.925 (relative accuracy in the tail), 0 beyond. Both branches for every lane, then a
     * blend: branch-free, so that the JIT keeps every vector in registers.
     */
    static FloatVector erfcNonNegative(FloatVector z) {
        FloatVector s = z.mul(z);
        FloatVector p = FloatVector.broadcast(S, P5).fma(s, FloatVector.broadcast(S, P4)).fma(s, FloatVector.broadcast(S, P3)).fma(s, FloatVector.broadcast(S, P2)).fma(s, FloatVector.broadcast(S, P1)).fma(s, FloatVector.broadcast(S, P0));
        FloatVector small = z.neg().fma(p, FloatVector.broadcast(S, 1f).sub(z));
        // from ERFC_ZERO on, the exponent leaves Q's range (garbage, even inf or NaN): the blend replaces it by 0
        FloatVector q = FloatVector.broadcast(S, Q9).fma(z, FloatVector.broadcast(S, Q8)).fma(z, FloatVector.broadcast(S, Q7)).fma(z, FloatVector.broadcast(S, Q6)).fma(z, FloatVector.broadcast(S, Q5)).fma(z, FloatVector.broadcast(S, Q4)).fma(z, FloatVector.broadcast(S, Q3))
                .fma(z, FloatVector.broadcast(S, Q2)).fma(z, FloatVector.broadcast(S, Q1)).fma(z, FloatVector.broadcast(S, Q0));
        FloatVector large = expInRange(z.fma(q, z.neg())).blend(0f, z.compare(VectorOperators.GE, ERFC_ZERO));
        return small.blend(large, z.compare(VectorOperators.GE, ERF_SPLIT));
    }

    /** gelu lane-wise: 0.5 x erfc(|x| / sqrt 2) for x < 0, x - 0.5 x erfc(x / sqrt 2) else (no cancellation). */
    static FloatVector gelu(FloatVector x) {
        FloatVector h = x.mul(erfcNonNegative(x.abs().mul(INV_SQRT2))).mul(0.5f);
        return x.sub(h).blend(h, x.compare(VectorOperators.LT, 0f));
    }

    /**
     * out[i] = gelu(inp[i]) for i in [first, end): whole vectors here, the last partial vector in {@link #geluTail}
     * (the same operations through a mask). The tail is a method of its own so that this loop inlines the polynomial
     * once, and loads, stores and broadcasts call the Vector API directly (its methods are force-inlined): the JIT
     * stops inlining ordinary methods at a node budget, and a helper call left in the loop boxes a vector per
     * iteration, several times slower.
     */
    static void gelu(MemorySegment out, MemorySegment inp, long first, long end) {
        long i = first;
        for (long upper = end - S.length(); i <= upper; i += S.length()) {
            FloatVector x = FloatVector.fromMemorySegment(S, inp, i * Float.BYTES, NATIVE);
            gelu(x).intoMemorySegment(out, i * Float.BYTES, NATIVE);
        }
        if (i < end) geluTail(null, out, inp, null, i, 0, (int) (end - i), false);
    }

    /**
     * One row of n: x = inp[base + c] + bias[c]; preact[base + c] = x unless preact is out (the store would be
     * overwritten); out[base + c] = gelu(x). The tail as in {@link #gelu(MemorySegment, MemorySegment, long, long)}.
     * bias is required (without one, x is inp: use gelu): a vector that may or may not have had the bias added would
     * merge two paths, which the JIT pays for with a boxed vector.
     */
    static void biasGelu(MemorySegment preact, MemorySegment out, MemorySegment inp, MemorySegment bias, long base,
                         int n) {
        boolean keep = preact.address() != out.address();
        int c = 0;
        for (int upper = n - S.length(); c <= upper; c += S.length()) {
            long at = (base + c) * Float.BYTES;
            FloatVector x = FloatVector.fromMemorySegment(S, inp, at, NATIVE)
                    .add(FloatVector.fromMemorySegment(S, bias, (long) c * Float.BYTES, NATIVE));
            if (keep) x.intoMemorySegment(preact, at, NATIVE);
            gelu(x).intoMemorySegment(out, at, NATIVE);
        }
        if (c < n) geluTail(preact, out, inp, bias, base + c, c, n - c, keep);
    }

    /**
     * The last {@code count} (< one vector) elements from {@code at}, through a mask: x = inp (+ bias from {@code b}
     * when bias is not null), stored to preact when {@code keep}, gelu(x) to out. Called once per row, so the vector
     * merge of the optional bias costs nothing that matters.
     */
    private static void geluTail(MemorySegment preact, MemorySegment out, MemorySegment inp, MemorySegment bias,
                                 long at, int b, int count, boolean keep) {
        VectorMask<Float> m = S.indexInRange(0, count);
        FloatVector x = FloatVector.fromMemorySegment(S, inp, at * Float.BYTES, NATIVE, m);
        if (bias != null) x = x.add(FloatVector.fromMemorySegment(S, bias, (long) b * Float.BYTES, NATIVE, m));
        if (keep) x.intoMemorySegment(preact, at * Float.BYTES, NATIVE, m);
        gelu(x).intoMemorySegment(out, at * Float.BYTES, NATIVE, m);
    }

    /**
     * dinp[i] += gelu'(inp[i]) dout[i] for i in [first, end), gelu'(x) = Phi(x) + x phi(x): Phi per sign from
     * {@link #erfcNonNegative} (as {@link #gelu}), phi through {@link #exp}; float32 throughout.
     */
    static void geluBackward(MemorySegment dinp, MemorySegment dout, MemorySegment inp, long first, long end) {
        for (long i = first; i < end; i += S.length()) {
            VectorMask<Float> m = S.indexInRange(i, end);
            long at = i * Float.BYTES;
            FloatVector g = geluGrad(FloatVector.fromMemorySegment(S, inp, at, NATIVE, m));
            g.fma(FloatVector.fromMemorySegment(S, dout, at, NATIVE, m), FloatVector.fromMemorySegment(S, dinp, at, NATIVE, m))
                    .intoMemorySegment(dinp, at, NATIVE, m);
        }
    }

    private static FloatVector geluGrad(FloatVector x) {
        FloatVector e = erfcNonNegative(x.abs().mul(INV_SQRT2));
        FloatVector phi = e.fma(FloatVector.broadcast(S, -0.5f), FloatVector.broadcast(S, 1f))
                .blend(e.mul(0.5f), x.compare(VectorOperators.LT, 0f));
        return phi.add(exp(x.mul(x).mul(-0.5f)).mul(INV_SQRT_2PI).mul(x));
    }

    /**
     * The lanes of v summed in float64 in lane order. Not {@code reduceLanes(ADD)}: its order is left to the
     * implementation, and the JIT-compiled reduction (a tree) and the interpreter's (lane by lane) round differently,
     * so results would depend on whether the code had been compiled yet.
     */
    static double sumLanes(FloatVector v) {
        float[] lanes = new float[v.length()];
        v.intoArray(lanes, 0);
        double s = 0;
        for (float x : lanes) s += x;
        return s;
    }

    /** As {@link #sumLanes(FloatVector)}. */
    static double sumLanes(jdk.incubator.vector.DoubleVector v) {
        double[] lanes = new double[v.length()];
        v.intoArray(lanes, 0);
        double s = 0;
        for (double x : lanes) s += x;
        return s;
    }

    /**
     * Softmax of the {@code k} floats from index {@code base} (max-subtracted; a row of -inf gives zeros): {@link #exp}
     * on whole vectors, summed in float32 lanes over blocks of 16 vectors and the block sums in float64, Math.exp on
     * the tail.
     */
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
        i = 0;
        while (i <= upper) { // blocks of up to 16 vectors: each float32 lane sums at most 16 terms of at most 1
            FloatVector block = FloatVector.zero(S);
            for (int end = Math.min(upper, i + 15 * S.length()); i <= end; i += S.length()) {
                FloatVector e = exp(FloatVector.fromMemorySegment(S, inp, (base + i) * Float.BYTES, NATIVE).sub(max));
                e.intoMemorySegment(out, (base + i) * Float.BYTES, NATIVE);
                block = block.add(e);
            }
            sum += sumLanes(block);
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
