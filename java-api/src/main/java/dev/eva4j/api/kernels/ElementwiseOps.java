package dev.eva4j.api.kernels;

import static dev.eva4j.api.kernels.VectorOps.F32;

import java.lang.foreign.MemorySegment;

/**
 * Element-wise ops over [n] floats, forward and backward: GELU (exact erf form), the SiLU-gated MLP product and the
 * residual add. Forwards compute in float32 as the models did before the kernels existed; backwards per element in
 * float64. Arguments are checked by the caller; an out may alias an input.
 */
final class ElementwiseOps {
    private static final double INV_SQRT2 = 1 / Math.sqrt(2), INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

    private ElementwiseOps() {}

    /** out = 0.5 x (1 + erf(x / sqrt 2)) through {@code rows} (see {@link VectorOps#gelu}). */
    static void geluForward(RowKernels rows, MemorySegment out, MemorySegment inp, long n) {
        Parallel.elements(n, (first, end) -> rows.gelu(out, inp, first, end));
    }

    /** dinp += (Phi(x) + x phi(x)) dout through {@code rows} (see {@link VectorOps#geluBackward}). */
    static void geluBackward(RowKernels rows, MemorySegment dinp, MemorySegment dout, MemorySegment inp, long n) {
        Parallel.elements(n, (first, end) -> rows.geluBackward(dinp, dout, inp, first, end));
    }

    /** SiLU of one value, through float64 exp. */
    static float silu(float x) {
        return (float) (x / (1 + Math.exp(-(double) x)));
    }

    /** out = silu(gate) * up. */
    static void swigluForward(MemorySegment out, MemorySegment gate, MemorySegment up, long n) {
        Parallel.elements(n, (first, end) -> {
            for (long i = first; i < end; i++) out.setAtIndex(F32, i, silu(gate.getAtIndex(F32, i)) * up.getAtIndex(F32, i));
        });
    }

    /** dgate += dout up silu'(gate), silu'(g) = s (1 + g (1 - s)), s = sigmoid(g); dup += dout silu(gate). */
    static void swigluBackward(MemorySegment dgate, MemorySegment dup, MemorySegment dout, MemorySegment gate,
                               MemorySegment up, long n) {
        Parallel.elements(n, (first, end) -> {
            for (long i = first; i < end; i++) {
                double g = gate.getAtIndex(F32, i), d = dout.getAtIndex(F32, i);
                double s = 1 / (1 + Math.exp(-g));
                if (dgate != null) {
                    double grad = d * up.getAtIndex(F32, i) * s * (1 + g * (1 - s));
                    dgate.setAtIndex(F32, i, (float) (dgate.getAtIndex(F32, i) + grad));
                }
                if (dup != null) dup.setAtIndex(F32, i, (float) (dup.getAtIndex(F32, i) + d * g * s));
            }
        });
    }

    /** out = a + b through {@code rows}. */
    static void residualForward(RowKernels rows, MemorySegment out, MemorySegment a, MemorySegment b, long n) {
        Parallel.elements(n, (first, end) -> rows.add(out, a, b, first, end));
    }

    /** da += dout; db += dout (either may be null). */
    static void residualBackward(MemorySegment da, MemorySegment db, MemorySegment dout, long n) {
        Parallel.elements(n, (first, end) -> {
            if (da != null) VectorOps.addInto(da, first, dout, first, end - first);
            if (db != null) VectorOps.addInto(db, first, dout, first, end - first);
        });
    }
}
