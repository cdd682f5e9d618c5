package dev.eva4j.models.ops;

import static dev.eva4j.models.ops.Floats.F32;

import java.lang.foreign.MemorySegment;

/** Element-wise ops: residual add, GELU (exact erf form), SiLU and the SiLU-gated MLP product. out may alias inp. */
public final class Activations {
    private static final int ROW = 4096;

    private Activations() {}

    /** out = a + b (llm.c's residual_forward). Shapes: a, b, out [N]. */
    public static void add(MemorySegment out, MemorySegment a, MemorySegment b, long n) {
        Floats.require("add", "a", a, n, "[N=" + n + "]");
        Floats.require("add", "b", b, n, "[N=" + n + "]");
        Floats.require("add", "out", out, n, "[N=" + n + "]");
        chunks(n, (first, end) -> {
            for (long i = first; i < end; i++) out.setAtIndex(F32, i, a.getAtIndex(F32, i) + b.getAtIndex(F32, i));
        }, out, a, b);
    }

    /**
     * out = x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)), Hugging Face's "gelu" (not the tanh approximation).
     * Computed as 0.5 x erfc(-x / sqrt 2) per sign (no cancellation in either tail) with a vectorised erfc of
     * fractional error below 1.2e-7; the float64 {@link Erf} is the reference's.
     * Shapes: inp, out [N].
     */
    public static void gelu(MemorySegment out, MemorySegment inp, long n) {
        Floats.require("gelu", "inp", inp, n, "[N=" + n + "]");
        Floats.require("gelu", "out", out, n, "[N=" + n + "]");
        chunks(n, (first, end) -> VectorKernels.gelu(out, inp, first, end), out, inp);
    }

    /** GELU of one value, exact erf form (erfc with fractional error below 1.2e-7, see {@link VectorKernels}). */
    public static float gelu(float x) {
        return VectorKernels.gelu(x);
    }

    /** out = silu(inp) = inp / (1 + exp(-inp)). Shapes: inp, out [N]. */
    public static void silu(MemorySegment out, MemorySegment inp, long n) {
        Floats.require("silu", "inp", inp, n, "[N=" + n + "]");
        Floats.require("silu", "out", out, n, "[N=" + n + "]");
        chunks(n, (first, end) -> {
            for (long i = first; i < end; i++) out.setAtIndex(F32, i, silu(inp.getAtIndex(F32, i)));
        }, out, inp);
    }

    /** SiLU of one value. */
    public static float silu(float x) {
        return (float) (x / (1 + Math.exp(-(double) x)));
    }

    /**
     * out = silu(gate) * up, the gated MLP of Llama (before down_proj). Shapes: gate, up, out [N] (N = B*T*I).
     */
    public static void siluMul(MemorySegment out, MemorySegment gate, MemorySegment up, long n) {
        Floats.require("siluMul", "gate", gate, n, "[N=" + n + "]");
        Floats.require("siluMul", "up", up, n, "[N=" + n + "]");
        Floats.require("siluMul", "out", out, n, "[N=" + n + "]");
        chunks(n, (first, end) -> {
            for (long i = first; i < end; i++) {
                out.setAtIndex(F32, i, silu(gate.getAtIndex(F32, i)) * up.getAtIndex(F32, i));
            }
        }, out, gate, up);
    }

    interface LongRange {
        void run(long first, long end);
    }

    /** Runs body over [0, n) in rows of {@link #ROW} elements, in parallel when large. */
    private static void chunks(long n, LongRange body, MemorySegment... touched) {
        int rows = Math.toIntExact((n + ROW - 1) / ROW);
        Parallel.rows(rows, ROW, (firstRow, endRow) -> body.run((long) firstRow * ROW, Math.min(n, (long) endRow * ROW)),
                touched);
    }
}
