package dev.eva4j.cpu.openblas;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.eva4j.api.kernels.RowKernels;
import dev.eva4j.spi.DropoutMask;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;

/**
 * {@link RowKernels} in eva4j's C library ({@code src/main/c/eva4j_rows.c}, loaded by {@link RowLibrary}): the same
 * floats as {@link RowKernels#vectorApi()}, bit for bit (the C code repeats the Java operations in order, with the
 * Java lane counts passed in), and fast from the first call. A call whose segments are not all native memory (heap
 * arrays wrapped as segments) runs in Java instead. Arguments are checked by the host kernels before they get here.
 */
final class NativeRowKernels implements RowKernels {
    private static final RowKernels JAVA = RowKernels.vectorApi();
    private static final int LANES = RowKernels.lanes(), NORM_LANES = RowKernels.normLanes();

    private final Path path;
    private final MethodHandle biasGelu, gelu, add, embedding, residualLayerNorm, rmsNorm, maskedSoftmax;
    private final MethodHandle geluBackward, dropout, adamw, layerNormBackward;

    NativeRowKernels(SymbolLookup lookup, Path path) {
        this.path = path;
        Linker linker = Linker.nativeLinker();
        biasGelu = linker.downcallHandle(lookup.findOrThrow("eva4j_bias_gelu_rows"),
                FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG));
        gelu = linker.downcallHandle(lookup.findOrThrow("eva4j_gelu"),
                FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG));
        add = linker.downcallHandle(lookup.findOrThrow("eva4j_add"),
                FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, ADDRESS, JAVA_LONG));
        embedding = linker.downcallHandle(lookup.findOrThrow("eva4j_embedding_rows"),
                FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT));
        residualLayerNorm = linker.downcallHandle(lookup.findOrThrow("eva4j_residual_layernorm_rows"),
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                        JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_FLOAT, JAVA_INT));
        rmsNorm = linker.downcallHandle(lookup.findOrThrow("eva4j_rmsnorm_rows"),
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG,
                        JAVA_FLOAT, JAVA_INT));
        maskedSoftmax = linker.downcallHandle(lookup.findOrThrow("eva4j_masked_softmax"),
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT));
        geluBackward = linker.downcallHandle(lookup.findOrThrow("eva4j_gelu_backward"),
                FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG));
        dropout = linker.downcallHandle(lookup.findOrThrow("eva4j_dropout"),
                FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_FLOAT, JAVA_INT, JAVA_INT,
                        JAVA_INT));
        adamw = linker.downcallHandle(lookup.findOrThrow("eva4j_adamw"),
                FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_DOUBLE,
                        JAVA_DOUBLE, JAVA_DOUBLE, JAVA_DOUBLE, JAVA_DOUBLE, JAVA_FLOAT));
        layerNormBackward = linker.downcallHandle(lookup.findOrThrow("eva4j_layernorm_backward_rows"),
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                        JAVA_LONG, JAVA_LONG, JAVA_LONG));
    }

    @Override
    public String description() {
        return "native C (" + path.getFileName() + ", " + LANES + " lanes)";
    }

    @Override
    public void residualLayerNorm(MemorySegment sum, MemorySegment out, MemorySegment mean, MemorySegment rstd,
                                  MemorySegment bias, MemorySegment residual, MemorySegment weight,
                                  MemorySegment lnBias, int first, int end, int C, float eps) {
        if (!allNative(sum, out, mean, rstd, bias, residual, weight, lnBias)) {
            JAVA.residualLayerNorm(sum, out, mean, rstd, bias, residual, weight, lnBias, first, end, C, eps);
            return;
        }
        int status;
        try {
            status = (int) residualLayerNorm.invokeExact(orNull(sum), out, orNull(mean), orNull(rstd), orNull(bias),
                    residual, weight, lnBias, (long) first, (long) end, (long) C, eps, NORM_LANES);
        } catch (Throwable t) {
            throw failure("eva4j_residual_layernorm_rows", t);
        }
        check("eva4j_residual_layernorm_rows", status, C);
    }

    @Override
    public void rmsNorm(MemorySegment out, MemorySegment rstd, MemorySegment inp, MemorySegment weight, int first,
                        int end, int C, float eps) {
        if (!allNative(out, rstd, inp, weight)) {
            JAVA.rmsNorm(out, rstd, inp, weight, first, end, C, eps);
            return;
        }
        int status;
        try {
            status = (int) rmsNorm.invokeExact(out, orNull(rstd), inp, weight, (long) first, (long) end, (long) C, eps,
                    NORM_LANES);
        } catch (Throwable t) {
            throw failure("eva4j_rmsnorm_rows", t);
        }
        check("eva4j_rmsnorm_rows", status, C);
    }

    @Override
    public void biasGelu(MemorySegment preact, MemorySegment out, MemorySegment inp, MemorySegment bias, int first,
                         int end, int C) {
        if (!allNative(preact, out, inp, bias)) {
            JAVA.biasGelu(preact, out, inp, bias, first, end, C);
            return;
        }
        try {
            biasGelu.invokeExact(orNull(preact), out, inp, orNull(bias), (long) first, (long) end, (long) C);
        } catch (Throwable t) {
            throw failure("eva4j_bias_gelu_rows", t);
        }
    }

    @Override
    public void gelu(MemorySegment out, MemorySegment inp, long first, long end) {
        if (!allNative(out, inp)) {
            JAVA.gelu(out, inp, first, end);
            return;
        }
        try {
            gelu.invokeExact(out, inp, first, end);
        } catch (Throwable t) {
            throw failure("eva4j_gelu", t);
        }
    }

    @Override
    public void add(MemorySegment out, MemorySegment a, MemorySegment b, long first, long end) {
        if (!allNative(out, a, b)) {
            JAVA.add(out, a, b, first, end);
            return;
        }
        long at = first * Float.BYTES;
        try {
            add.invokeExact(out.asSlice(at), a.asSlice(at), b.asSlice(at), end - first);
        } catch (Throwable t) {
            throw failure("eva4j_add", t);
        }
    }

    @Override
    public void embedding(MemorySegment out, MemorySegment ids, MemorySegment table, int first, int end, int C,
                          boolean accumulate) {
        if (!allNative(out, ids, table)) {
            JAVA.embedding(out, ids, table, first, end, C, accumulate);
            return;
        }
        try {
            embedding.invokeExact(out, ids, table, (long) first, (long) end, (long) C, accumulate ? 1 : 0);
        } catch (Throwable t) {
            throw failure("eva4j_embedding_rows", t);
        }
    }

    @Override
    public void maskedSoftmax(MemorySegment att, MemorySegment mask, int T, boolean causal) {
        if (!allNative(att, mask)) {
            JAVA.maskedSoftmax(att, mask, T, causal);
            return;
        }
        int status;
        try {
            status = (int) maskedSoftmax.invokeExact(att, orNull(mask), (long) T, causal ? 1 : 0, LANES);
        } catch (Throwable t) {
            throw failure("eva4j_masked_softmax", t);
        }
        check("eva4j_masked_softmax", status, T);
    }

    @Override
    public void geluBackward(MemorySegment dinp, MemorySegment dout, MemorySegment inp, long first, long end) {
        if (!allNative(dinp, dout, inp)) {
            JAVA.geluBackward(dinp, dout, inp, first, end);
            return;
        }
        try {
            geluBackward.invokeExact(dinp, dout, inp, first, end);
        } catch (Throwable t) {
            throw failure("eva4j_gelu_backward", t);
        }
    }

    @Override
    public void dropout(MemorySegment out, MemorySegment x, long first, long end, float p, long seed, boolean add) {
        if (!allNative(out, x)) {
            JAVA.dropout(out, x, first, end, p, seed, add);
            return;
        }
        try {
            dropout.invokeExact(out, x, first, end, p, DropoutMask.seedWord(seed), DropoutMask.threshold(p),
                    add ? 1 : 0);
        } catch (Throwable t) {
            throw failure("eva4j_dropout", t);
        }
    }

    @Override
    public void adamw(MemorySegment params, MemorySegment grads, MemorySegment m, MemorySegment v, long first, long end,
                      double beta1, double beta2, double decay, double stepSize, double bc2Sqrt, float eps) {
        if (!allNative(params, grads, m, v)) {
            JAVA.adamw(params, grads, m, v, first, end, beta1, beta2, decay, stepSize, bc2Sqrt, eps);
            return;
        }
        try {
            adamw.invokeExact(params, grads, m, v, first, end, beta1, beta2, decay, stepSize, bc2Sqrt, eps);
        } catch (Throwable t) {
            throw failure("eva4j_adamw", t);
        }
    }

    @Override
    public void layerNormBackward(MemorySegment dinp, MemorySegment dweight, MemorySegment dbias, MemorySegment dout,
                                  MemorySegment inp, MemorySegment weight, MemorySegment mean, MemorySegment rstd,
                                  int first, int end, int C) {
        if (!allNative(dinp, dweight, dbias, dout, inp, weight, mean, rstd)) {
            JAVA.layerNormBackward(dinp, dweight, dbias, dout, inp, weight, mean, rstd, first, end, C);
            return;
        }
        int status;
        try {
            status = (int) layerNormBackward.invokeExact(orNull(dinp), orNull(dweight), orNull(dbias), dout, inp,
                    weight, mean, rstd, (long) first, (long) end, (long) C);
        } catch (Throwable t) {
            throw failure("eva4j_layernorm_backward_rows", t);
        }
        check("eva4j_layernorm_backward_rows", status, 2 * C);
    }

    /** Whether every segment given is native memory (null ones count as native: they pass as NULL). */
    private static boolean allNative(MemorySegment... segments) {
        for (MemorySegment s : segments) if (s != null && !s.isNative()) return false;
        return true;
    }

    private static MemorySegment orNull(MemorySegment s) {
        return s == null ? MemorySegment.NULL : s;
    }

    private void check(String call, int status, int length) {
        switch (status) {
            case 0 -> { }
            case 1 -> throw new IllegalStateException(call + " in " + path + " refused the lane count " + LANES
                    + " (norm lanes " + NORM_LANES + ")");
            case 2 -> throw new OutOfMemoryError(call + ": no native memory for a row of " + length + " values");
            default -> throw new IllegalStateException(call + " in " + path + " returned " + status);
        }
    }

    /** What a downcall threw: runtime exceptions and errors as they are. */
    private static RuntimeException failure(String call, Throwable t) {
        if (t instanceof RuntimeException e) return e;
        if (t instanceof Error e) throw e;
        return new IllegalStateException(call + " failed", t);
    }
}
