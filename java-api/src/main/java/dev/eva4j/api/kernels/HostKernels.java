package dev.eva4j.api.kernels;

import static dev.eva4j.api.kernels.VectorOps.F32;

import dev.eva4j.spi.Buffer;
import dev.eva4j.spi.Capability;
import dev.eva4j.spi.DType;
import dev.eva4j.spi.KernelArgs;
import dev.eva4j.spi.Kernels;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * {@link Kernels} in host memory, float32: every matrix product on the {@link HostGemm} the backend supplies
 * (OpenBLAS for {@code openblas}, the pure-Java GEMM for {@code java}), everything else in Java (Vector API where it
 * pays, rows in parallel on the common fork-join pool where it pays). Buffers are {@link HostBuffer}s;
 * {@link #hostSegment} gives their memory without a copy. Every operand is checked with {@link KernelArgs} before
 * any work. Thread-safe: no state besides reusable scratch memory.
 *
 * <p>Each kernel checks here and computes in a package-private class per family ({@link NormOps},
 * {@link LinearOps}, {@link AttentionOps}, {@link RopeOps}, {@link ElementwiseOps}, {@link EmbeddingOps},
 * {@link LossOps}, {@link OptimizerOps}).
 */
public final class HostKernels implements Kernels {
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT;

    private final String name;
    private final HostGemm gemm;
    private final RowKernels rows;
    private final Set<Capability> capabilities;
    private final Scratch scratch = new Scratch();

    /**
     * @param name         the backend's name, for messages
     * @param gemm         the host GEMMs every matrix product runs on
     * @param capabilities what the backend offers beyond the contract ({@link Capability#HOST_MEMORY} is added)
     * @throws IllegalStateException when the Vector API module is not loaded (the message says how to load it)
     */
    public HostKernels(String name, HostGemm gemm, Set<Capability> capabilities) {
        this(name, gemm, RowKernels.vectorApi(), capabilities);
    }

    /**
     * @param name         the backend's name, for messages
     * @param gemm         the host GEMMs every matrix product runs on
     * @param rows         the element-wise arithmetic ({@link RowKernels}; it must compute what
     *                     {@link RowKernels#vectorApi()} computes)
     * @param capabilities what the backend offers beyond the contract ({@link Capability#HOST_MEMORY} is added)
     * @throws IllegalStateException when the Vector API module is not loaded (the message says how to load it)
     */
    public HostKernels(String name, HostGemm gemm, RowKernels rows, Set<Capability> capabilities) {
        this.name = Objects.requireNonNull(name, "name");
        this.gemm = Objects.requireNonNull(gemm, "gemm");
        this.rows = Objects.requireNonNull(rows, "rows");
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            throw new IllegalStateException("the " + name + " kernels need the Vector API: start the JVM with "
                    + "--add-modules jdk.incubator.vector");
        }
        EnumSet<Capability> caps = EnumSet.of(Capability.HOST_MEMORY);
        caps.addAll(capabilities);
        this.capabilities = Set.copyOf(caps);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public DType floatType() {
        return DType.F32;
    }

    @Override
    public Set<Capability> capabilities() {
        return capabilities;
    }

    @Override
    public String toString() {
        return "HostKernels[" + name + ", rows: " + rows.description() + "]";
    }

    /** What runs the element-wise arithmetic ({@link RowKernels}). */
    public RowKernels rows() {
        return rows;
    }

    // ---------------------------------------------------------------------------------------------------- checks

    /** The memory of a float operand that must hold {@code n} elements. */
    private MemorySegment floats(String op, String operand, Buffer buffer, long n, String shape) {
        return segment(op, operand, buffer, DType.F32, n, shape);
    }

    /** As {@link #floats}, or null when {@code buffer} is null (an unwanted gradient, an optional bias). */
    private MemorySegment optionalFloats(String op, String operand, Buffer buffer, long n, String shape) {
        return buffer == null ? null : floats(op, operand, buffer, n, shape);
    }

    private MemorySegment ints(String op, String operand, Buffer buffer, long n, String shape) {
        return segment(op, operand, buffer, DType.I32, n, shape);
    }

    private MemorySegment segment(String op, String operand, Buffer buffer, DType dtype, long n, String shape) {
        KernelArgs.require(this, op, operand, buffer, dtype, n, shape);
        if (!(buffer instanceof HostBuffer host)) {
            throw new IllegalArgumentException(op + ": " + operand + " is a " + buffer.getClass().getName()
                    + ", not a buffer this backend allocated");
        }
        return host.segment();
    }

    private static void length(String op, long n) {
        KernelArgs.check(n >= 0, op, "n must be >= 0, got " + n);
    }

    private static String shape(String names, long... values) {
        String[] n = names.split(",");
        StringBuilder s = new StringBuilder("[");
        for (int i = 0; i < values.length; i++) {
            if (i > 0) s.append(", ");
            s.append(n[i].strip()).append('=').append(values[i]);
        }
        return s.append(']').toString();
    }

    // ---------------------------------------------------------------------------------------------------- memory

    @Override
    public HostBuffer allocate(DType dtype, long length) {
        Objects.requireNonNull(dtype, "dtype");
        return HostBuffer.allocate(this, dtype, length);
    }

    @Override
    public Optional<MemorySegment> hostSegment(Buffer buffer) {
        KernelArgs.check(buffer != null, "hostSegment", "buffer is null");
        return Optional.of(segment("hostSegment", "buffer", buffer, buffer.dtype(), 0, "any"));
    }

    /** The destination of a copy of {@code count} elements to {@code offset}. */
    private MemorySegment target(String op, String operand, Buffer buffer, DType dtype, long offset, long count) {
        KernelArgs.check(offset >= 0, op, "offset must be >= 0, got " + offset);
        return segment(op, operand, buffer, dtype, offset + count, "[offset=" + offset + ", count=" + count + "]");
    }

    @Override
    public void upload(Buffer dst, long offset, float[] src) {
        Objects.requireNonNull(src, "src");
        MemorySegment d = target("upload", "dst", dst, DType.F32, offset, src.length);
        MemorySegment.copy(src, 0, d, F32, offset * Float.BYTES, src.length);
    }

    @Override
    public void upload(Buffer dst, long offset, double[] src) {
        Objects.requireNonNull(src, "src");
        MemorySegment d = target("upload", "dst", dst, DType.F32, offset, src.length);
        for (int i = 0; i < src.length; i++) d.setAtIndex(F32, offset + i, (float) src[i]);
    }

    @Override
    public void upload(Buffer dst, long offset, int[] src) {
        Objects.requireNonNull(src, "src");
        MemorySegment d = target("upload", "dst", dst, DType.I32, offset, src.length);
        MemorySegment.copy(src, 0, d, I32, offset * Integer.BYTES, src.length);
    }

    @Override
    public void uploadFloats(Buffer dst, long offset, MemorySegment src) {
        KernelArgs.check(src != null, "uploadFloats", "src is null");
        long count = src.byteSize() / Float.BYTES;
        MemorySegment d = target("uploadFloats", "dst", dst, DType.F32, offset, count);
        MemorySegment.copy(src, 0, d, offset * Float.BYTES, count * Float.BYTES);
    }

    @Override
    public void download(Buffer src, long offset, float[] dst) {
        Objects.requireNonNull(dst, "dst");
        MemorySegment s = target("download", "src", src, DType.F32, offset, dst.length);
        MemorySegment.copy(s, F32, offset * Float.BYTES, dst, 0, dst.length);
    }

    @Override
    public void download(Buffer src, long offset, double[] dst) {
        Objects.requireNonNull(dst, "dst");
        MemorySegment s = target("download", "src", src, DType.F32, offset, dst.length);
        for (int i = 0; i < dst.length; i++) dst[i] = s.getAtIndex(F32, offset + i);
    }

    @Override
    public void downloadFloats(Buffer src, long offset, MemorySegment dst) {
        KernelArgs.check(dst != null, "downloadFloats", "dst is null");
        long count = dst.byteSize() / Float.BYTES;
        MemorySegment s = target("downloadFloats", "src", src, DType.F32, offset, count);
        MemorySegment.copy(s, offset * Float.BYTES, dst, 0, count * Float.BYTES);
    }

    @Override
    public void copy(Buffer dst, Buffer src, long n) {
        length("copy", n);
        KernelArgs.check(src != null, "copy", "src is null ([n=" + n + "])");
        DType dtype = src.dtype();
        MemorySegment s = segment("copy", "src", src, dtype, n, "[n=" + n + "]");
        MemorySegment d = segment("copy", "dst", dst, dtype, n, "[n=" + n + "]");
        MemorySegment.copy(s, 0, d, 0, n * dtype.bytes());
    }

    @Override
    public void fill(Buffer x, double value, long n) {
        length("fill", n);
        MemorySegment s = floats("fill", "x", x, n, "[n=" + n + "]");
        float v = (float) value;
        if (Float.floatToRawIntBits(v) == 0) {
            s.asSlice(0, n * Float.BYTES).fill((byte) 0);
        } else {
            Parallel.elements(n, (first, end) -> VectorOps.fill(s, first, end, v));
        }
    }

    @Override
    public void scale(Buffer x, double factor, long n) {
        length("scale", n);
        MemorySegment s = floats("scale", "x", x, n, "[n=" + n + "]");
        Parallel.elements(n, (first, end) -> {
            for (long i = first; i < end; i++) s.setAtIndex(F32, i, (float) (s.getAtIndex(F32, i) * factor));
        });
    }

    // ------------------------------------------------------------------------------------------------ embeddings

    @Override
    public void embeddingForward(Buffer out, Buffer ids, Buffer table, int N, int V, int C, boolean accumulate) {
        String op = "embeddingForward";
        KernelArgs.dims(op, "N, V, C", N, V, C);
        MemorySegment o = floats(op, "out", out, (long) N * C, shape("N, C", N, C));
        MemorySegment i = ints(op, "ids", ids, N, shape("N", N));
        MemorySegment t = floats(op, "table", table, (long) V * C, shape("V, C", V, C));
        checkIds(op, i, N, V);
        EmbeddingOps.forward(rows, o, i, t, N, C, accumulate);
    }

    @Override
    public void embeddingBackward(Buffer dtable, Buffer dout, Buffer ids, int N, int V, int C) {
        String op = "embeddingBackward";
        KernelArgs.dims(op, "N, V, C", N, V, C);
        MemorySegment dt = optionalFloats(op, "dtable", dtable, (long) V * C, shape("V, C", V, C));
        MemorySegment d = floats(op, "dout", dout, (long) N * C, shape("N, C", N, C));
        MemorySegment i = ints(op, "ids", ids, N, shape("N", N));
        checkIds(op, i, N, V);
        if (dt != null) EmbeddingOps.backward(dt, d, i, N, C);
    }

    private static void checkIds(String op, MemorySegment ids, int N, int V) {
        int bad = EmbeddingOps.firstOutOfRange(ids, N, V);
        if (bad >= 0) {
            throw new IllegalArgumentException(op + ": ids[" + bad + "] = " + ids.getAtIndex(I32, bad)
                    + " is outside [0, V=" + V + ")");
        }
    }

    // ---------------------------------------------------------------------------------------------------- norms

    @Override
    public void layerNormForward(Buffer out, Buffer mean, Buffer rstd, Buffer inp, Buffer weight, Buffer bias,
                                 int N, int C, float eps) {
        String op = "layerNormForward";
        KernelArgs.dims(op, "N, C", N, C);
        String nc = shape("N, C", N, C), c = shape("C", C), n = shape("N", N);
        MemorySegment o = floats(op, "out", out, (long) N * C, nc);
        KernelArgs.check((mean == null) == (rstd == null), op, "mean and rstd must both be given or both be null");
        MemorySegment m = optionalFloats(op, "mean", mean, N, n), r = optionalFloats(op, "rstd", rstd, N, n);
        MemorySegment i = floats(op, "inp", inp, (long) N * C, nc);
        MemorySegment w = floats(op, "weight", weight, C, c), b = floats(op, "bias", bias, C, c);
        NormOps.layerNormForward(rows, o, m, r, i, w, b, N, C, eps);
    }

    @Override
    public void layerNormBackward(Buffer dinp, Buffer dweight, Buffer dbias, Buffer dout, Buffer inp, Buffer weight,
                                  Buffer mean, Buffer rstd, int N, int C) {
        String op = "layerNormBackward";
        KernelArgs.dims(op, "N, C", N, C);
        String nc = shape("N, C", N, C), c = shape("C", C), n = shape("N", N);
        MemorySegment di = optionalFloats(op, "dinp", dinp, (long) N * C, nc);
        MemorySegment dw = optionalFloats(op, "dweight", dweight, C, c);
        MemorySegment db = optionalFloats(op, "dbias", dbias, C, c);
        MemorySegment d = floats(op, "dout", dout, (long) N * C, nc), i = floats(op, "inp", inp, (long) N * C, nc);
        MemorySegment w = floats(op, "weight", weight, C, c);
        MemorySegment m = floats(op, "mean", mean, N, n), r = floats(op, "rstd", rstd, N, n);
        if (di == null && dw == null && db == null) return;
        NormOps.layerNormBackward(rows, di, dw, db, d, i, w, m, r, N, C);
    }

    @Override
    public void rmsNormForward(Buffer out, Buffer rstd, Buffer inp, Buffer weight, int N, int C, float eps) {
        String op = "rmsNormForward";
        KernelArgs.dims(op, "N, C", N, C);
        String nc = shape("N, C", N, C);
        MemorySegment o = floats(op, "out", out, (long) N * C, nc);
        MemorySegment r = optionalFloats(op, "rstd", rstd, N, shape("N", N));
        MemorySegment i = floats(op, "inp", inp, (long) N * C, nc);
        MemorySegment w = floats(op, "weight", weight, C, shape("C", C));
        NormOps.rmsNormForward(rows, o, r, i, w, N, C, eps);
    }

    @Override
    public void rmsNormBackward(Buffer dinp, Buffer dweight, Buffer dout, Buffer inp, Buffer weight, Buffer rstd,
                                int N, int C) {
        String op = "rmsNormBackward";
        KernelArgs.dims(op, "N, C", N, C);
        String nc = shape("N, C", N, C), c = shape("C", C);
        MemorySegment di = optionalFloats(op, "dinp", dinp, (long) N * C, nc);
        MemorySegment dw = optionalFloats(op, "dweight", dweight, C, c);
        MemorySegment d = floats(op, "dout", dout, (long) N * C, nc), i = floats(op, "inp", inp, (long) N * C, nc);
        MemorySegment w = floats(op, "weight", weight, C, c), r = floats(op, "rstd", rstd, N, shape("N", N));
        if (di == null && dw == null) return;
        NormOps.rmsNormBackward(di, dw, d, i, w, r, N, C);
    }

    // -------------------------------------------------------------------------------------------------- linear

    @Override
    public void matmulForward(Buffer out, Buffer inp, Buffer weight, Buffer bias, int N, int IN, int OUT) {
        String op = "matmulForward";
        KernelArgs.dims(op, "N, IN, OUT", N, IN, OUT);
        MemorySegment o = floats(op, "out", out, (long) N * OUT, shape("N, OUT", N, OUT));
        MemorySegment i = floats(op, "inp", inp, (long) N * IN, shape("N, IN", N, IN));
        MemorySegment w = floats(op, "weight", weight, (long) OUT * IN, shape("OUT, IN", OUT, IN));
        MemorySegment b = optionalFloats(op, "bias", bias, OUT, shape("OUT", OUT));
        LinearOps.matmulForward(gemm, o, i, w, b, N, IN, OUT);
    }

    /** The GEMM, then bias and GELU in one parallel pass over the rows of the output. */
    @Override
    public void matmulGeluForward(Buffer preact, Buffer out, Buffer inp, Buffer weight, Buffer bias, int N, int IN,
                                  int OUT) {
        String op = "matmulGeluForward";
        KernelArgs.dims(op, "N, IN, OUT", N, IN, OUT);
        String no = shape("N, OUT", N, OUT);
        MemorySegment pre = floats(op, "preact", preact, (long) N * OUT, no);
        MemorySegment o = floats(op, "out", out, (long) N * OUT, no);
        MemorySegment i = floats(op, "inp", inp, (long) N * IN, shape("N, IN", N, IN));
        MemorySegment w = floats(op, "weight", weight, (long) OUT * IN, shape("OUT, IN", OUT, IN));
        MemorySegment b = optionalFloats(op, "bias", bias, OUT, shape("OUT", OUT));
        KernelArgs.check(preact != inp && out != inp, op, "preact and out may not be inp");
        LinearOps.matmulGeluForward(gemm, rows, pre, o, i, w, b, N, IN, OUT);
    }

    /** The GEMM, then bias, residual and LayerNorm row by row in one parallel pass. */
    @Override
    public void matmulResidualLayerNormForward(Buffer sum, Buffer out, Buffer mean, Buffer rstd, Buffer inp,
                                               Buffer weight, Buffer bias, Buffer residual, Buffer lnWeight,
                                               Buffer lnBias, int N, int IN, int C, float eps) {
        String op = "matmulResidualLayerNormForward";
        KernelArgs.dims(op, "N, IN, C", N, IN, C);
        String nc = shape("N, C", N, C), c = shape("C", C), n = shape("N", N);
        MemorySegment s = floats(op, "sum", sum, (long) N * C, nc), o = floats(op, "out", out, (long) N * C, nc);
        KernelArgs.check((mean == null) == (rstd == null), op, "mean and rstd must both be given or both be null");
        MemorySegment m = optionalFloats(op, "mean", mean, N, n), r = optionalFloats(op, "rstd", rstd, N, n);
        MemorySegment i = floats(op, "inp", inp, (long) N * IN, shape("N, IN", N, IN));
        MemorySegment w = floats(op, "weight", weight, (long) C * IN, shape("C, IN", C, IN));
        MemorySegment b = optionalFloats(op, "bias", bias, C, c);
        MemorySegment res = floats(op, "residual", residual, (long) N * C, nc);
        MemorySegment lw = floats(op, "lnWeight", lnWeight, C, c), lb = floats(op, "lnBias", lnBias, C, c);
        KernelArgs.check(sum != inp && sum != residual && out != inp, op,
                "sum may be neither inp nor residual, and out may not be inp");
        LinearOps.matmulResidualLayerNormForward(gemm, rows, s, o, m, r, i, w, b, res, lw, lb, N, IN, C, eps);
    }

    @Override
    public void matmulBackward(Buffer dinp, Buffer dweight, Buffer dbias, Buffer dout, Buffer inp, Buffer weight,
                               int N, int IN, int OUT) {
        String op = "matmulBackward";
        KernelArgs.dims(op, "N, IN, OUT", N, IN, OUT);
        String ni = shape("N, IN", N, IN), oi = shape("OUT, IN", OUT, IN);
        MemorySegment di = optionalFloats(op, "dinp", dinp, (long) N * IN, ni);
        MemorySegment dw = optionalFloats(op, "dweight", dweight, (long) OUT * IN, oi);
        MemorySegment db = optionalFloats(op, "dbias", dbias, OUT, shape("OUT", OUT));
        MemorySegment d = floats(op, "dout", dout, (long) N * OUT, shape("N, OUT", N, OUT));
        MemorySegment i = floats(op, "inp", inp, (long) N * IN, ni), w = floats(op, "weight", weight, (long) OUT * IN, oi);
        LinearOps.matmulBackward(gemm, di, dw, db, d, i, w, N, IN, OUT);
    }

    @Override
    public void loraForward(Buffer out, Buffer xa, Buffer inp, Buffer weight, Buffer bias, Buffer a, Buffer b,
                            float scale, float dropout, long seed, int N, int IN, int OUT, int R) {
        String op = "loraForward";
        KernelArgs.dims(op, "N, IN, OUT, R", N, IN, OUT, R);
        checkDropout(op, dropout);
        MemorySegment o = floats(op, "out", out, (long) N * OUT, shape("N, OUT", N, OUT));
        MemorySegment x = floats(op, "xa", xa, (long) N * R, shape("N, R", N, R));
        MemorySegment i = floats(op, "inp", inp, (long) N * IN, shape("N, IN", N, IN));
        MemorySegment w = floats(op, "weight", weight, (long) OUT * IN, shape("OUT, IN", OUT, IN));
        MemorySegment bi = optionalFloats(op, "bias", bias, OUT, shape("OUT", OUT));
        MemorySegment la = floats(op, "a", a, (long) R * IN, shape("R, IN", R, IN));
        MemorySegment lb = floats(op, "b", b, (long) OUT * R, shape("OUT, R", OUT, R));
        LinearOps.loraForward(gemm, rows, scratch, o, x, i, w, bi, la, lb, scale, dropout, seed, N, IN, OUT, R);
    }

    @Override
    public void loraBackward(Buffer dinp, Buffer da, Buffer db, Buffer dout, Buffer inp, Buffer xa, Buffer weight,
                             Buffer a, Buffer b, float scale, float dropout, long seed, int N, int IN, int OUT, int R) {
        String op = "loraBackward";
        KernelArgs.dims(op, "N, IN, OUT, R", N, IN, OUT, R);
        checkDropout(op, dropout);
        String ni = shape("N, IN", N, IN), ri = shape("R, IN", R, IN), or = shape("OUT, R", OUT, R);
        MemorySegment di = optionalFloats(op, "dinp", dinp, (long) N * IN, ni);
        MemorySegment dla = optionalFloats(op, "da", da, (long) R * IN, ri);
        MemorySegment dlb = optionalFloats(op, "db", db, (long) OUT * R, or);
        MemorySegment d = floats(op, "dout", dout, (long) N * OUT, shape("N, OUT", N, OUT));
        MemorySegment i = floats(op, "inp", inp, (long) N * IN, ni);
        MemorySegment x = floats(op, "xa", xa, (long) N * R, shape("N, R", N, R));
        MemorySegment w = floats(op, "weight", weight, (long) OUT * IN, shape("OUT, IN", OUT, IN));
        MemorySegment la = floats(op, "a", a, (long) R * IN, ri), lb = floats(op, "b", b, (long) OUT * R, or);
        LinearOps.loraBackward(gemm, rows, scratch, di, dla, dlb, d, i, x, w, la, lb, scale, dropout, seed, N, IN, OUT, R);
    }

    private static void checkDropout(String op, float dropout) {
        KernelArgs.check(dropout >= 0f && dropout < 1f, op, "dropout must be in [0, 1), got " + dropout);
    }

    // ----------------------------------------------------------------------------------------------- attention

    @Override
    public void attentionForward(Buffer out, Buffer att, Buffer q, Buffer k, Buffer v, Buffer mask, int B, int T,
                                 int NH, int NKV, int HS, boolean causal) {
        attentionForward(out, att, q, k, v, mask, B, T, NH, NKV, HS, causal, AttentionOps.SCRATCH_FLOATS);
    }

    /** As {@link #attentionForward} with at most {@code scratchFloats} floats of scores at once (tests chunking). */
    void attentionForward(Buffer out, Buffer att, Buffer q, Buffer k, Buffer v, Buffer mask, int B, int T, int NH,
                          int NKV, int HS, boolean causal, long scratchFloats) {
        String op = "attentionForward";
        checkHeads(op, B, T, NH, NKV, HS);
        long nq = (long) B * T * NH * HS, nkv = (long) B * T * NKV * HS;
        String qShape = shape("B, T, NH, HS", B, T, NH, HS), kvShape = shape("B, T, NKV, HS", B, T, NKV, HS);
        MemorySegment o = floats(op, "out", out, nq, qShape);
        MemorySegment p = optionalFloats(op, "att", att, (long) B * NH * T * T, shape("B, NH, T, T", B, NH, T, T));
        MemorySegment sq = floats(op, "q", q, nq, qShape);
        MemorySegment sk = floats(op, "k", k, nkv, kvShape), sv = floats(op, "v", v, nkv, kvShape);
        MemorySegment m = mask == null ? null : ints(op, "mask", mask, (long) B * T, shape("B, T", B, T));
        AttentionOps.forward(gemm, rows, scratch, o, p, sq, sk, sv, m, B, T, NH, NKV, HS, causal, scratchFloats);
    }

    @Override
    public void attentionBackward(Buffer dq, Buffer dk, Buffer dv, Buffer dout, Buffer q, Buffer k, Buffer v,
                                  Buffer att, int B, int T, int NH, int NKV, int HS) {
        String op = "attentionBackward";
        checkHeads(op, B, T, NH, NKV, HS);
        long nq = (long) B * T * NH * HS, nkv = (long) B * T * NKV * HS;
        String qShape = shape("B, T, NH, HS", B, T, NH, HS), kvShape = shape("B, T, NKV, HS", B, T, NKV, HS);
        MemorySegment dsq = optionalFloats(op, "dq", dq, nq, qShape);
        MemorySegment dsk = optionalFloats(op, "dk", dk, nkv, kvShape), dsv = optionalFloats(op, "dv", dv, nkv, kvShape);
        MemorySegment d = floats(op, "dout", dout, nq, qShape), sq = floats(op, "q", q, nq, qShape);
        MemorySegment sk = floats(op, "k", k, nkv, kvShape), sv = floats(op, "v", v, nkv, kvShape);
        MemorySegment p = floats(op, "att", att, (long) B * NH * T * T, shape("B, NH, T, T", B, NH, T, T));
        if (dsq == null && dsk == null && dsv == null) return;
        AttentionOps.backward(gemm, scratch, dsq, dsk, dsv, d, sq, sk, sv, p, B, T, NH, NKV, HS);
    }

    private static void checkHeads(String op, int B, int T, int NH, int NKV, int HS) {
        KernelArgs.dims(op, "B, T, NH, NKV, HS", B, T, NH, NKV, HS);
        KernelArgs.check(NH % NKV == 0, op, "key/value heads NKV=" + NKV + " must divide query heads NH=" + NH);
    }

    @Override
    public void ropeForward(Buffer out, Buffer inp, Buffer positions, Buffer invFreq, int N, int H, int HS) {
        String op = "ropeForward";
        MemorySegment[] s = checkRope(op, "out", out, "inp", inp, positions, invFreq, N, H, HS);
        RopeOps.forward(s[0], s[1], s[2], s[3], N, H, HS);
    }

    @Override
    public void ropeBackward(Buffer dinp, Buffer dout, Buffer positions, Buffer invFreq, int N, int H, int HS) {
        String op = "ropeBackward";
        MemorySegment[] s = checkRope(op, "dinp", dinp, "dout", dout, positions, invFreq, N, H, HS);
        if (s[0] != null) RopeOps.backward(s[0], s[1], s[2], s[3], N, H, HS);
    }

    private MemorySegment[] checkRope(String op, String outName, Buffer out, String inName, Buffer inp,
                                      Buffer positions, Buffer invFreq, int N, int H, int HS) {
        KernelArgs.dims(op, "N, H, HS", N, H, HS);
        KernelArgs.check(HS % 2 == 0, op, "head size HS=" + HS + " must be even");
        long n = (long) N * H * HS;
        String nhs = shape("N, H, HS", N, H, HS);
        MemorySegment o = out == null && op.endsWith("Backward") ? null : floats(op, outName, out, n, nhs);
        return new MemorySegment[] {o, floats(op, inName, inp, n, nhs),
            ints(op, "positions", positions, N, shape("N", N)),
            floats(op, "invFreq", invFreq, HS / 2, shape("HS/2", HS / 2))};
    }

    // --------------------------------------------------------------------------------------------- elementwise

    @Override
    public void geluForward(Buffer out, Buffer inp, long n) {
        String op = "geluForward";
        length(op, n);
        MemorySegment o = floats(op, "out", out, n, "[n=" + n + "]"), i = floats(op, "inp", inp, n, "[n=" + n + "]");
        ElementwiseOps.geluForward(rows, o, i, n);
    }

    @Override
    public void geluBackward(Buffer dinp, Buffer dout, Buffer inp, long n) {
        String op = "geluBackward";
        length(op, n);
        String s = "[n=" + n + "]";
        MemorySegment di = optionalFloats(op, "dinp", dinp, n, s);
        MemorySegment d = floats(op, "dout", dout, n, s), i = floats(op, "inp", inp, n, s);
        if (di != null) ElementwiseOps.geluBackward(rows, di, d, i, n);
    }

    @Override
    public void swigluForward(Buffer out, Buffer gate, Buffer up, long n) {
        String op = "swigluForward";
        length(op, n);
        String s = "[n=" + n + "]";
        MemorySegment o = floats(op, "out", out, n, s);
        MemorySegment g = floats(op, "gate", gate, n, s), u = floats(op, "up", up, n, s);
        ElementwiseOps.swigluForward(o, g, u, n);
    }

    @Override
    public void swigluBackward(Buffer dgate, Buffer dup, Buffer dout, Buffer gate, Buffer up, long n) {
        String op = "swigluBackward";
        length(op, n);
        String s = "[n=" + n + "]";
        MemorySegment dg = optionalFloats(op, "dgate", dgate, n, s), du = optionalFloats(op, "dup", dup, n, s);
        MemorySegment d = floats(op, "dout", dout, n, s);
        MemorySegment g = floats(op, "gate", gate, n, s), u = floats(op, "up", up, n, s);
        if (dg != null || du != null) ElementwiseOps.swigluBackward(dg, du, d, g, u, n);
    }

    @Override
    public void residualForward(Buffer out, Buffer a, Buffer b, long n) {
        String op = "residualForward";
        length(op, n);
        String s = "[n=" + n + "]";
        MemorySegment o = floats(op, "out", out, n, s), sa = floats(op, "a", a, n, s), sb = floats(op, "b", b, n, s);
        ElementwiseOps.residualForward(rows, o, sa, sb, n);
    }

    @Override
    public void residualBackward(Buffer da, Buffer db, Buffer dout, long n) {
        String op = "residualBackward";
        length(op, n);
        String s = "[n=" + n + "]";
        MemorySegment sa = optionalFloats(op, "da", da, n, s), sb = optionalFloats(op, "db", db, n, s);
        MemorySegment d = floats(op, "dout", dout, n, s);
        ElementwiseOps.residualBackward(sa, sb, d, n);
    }

    // ------------------------------------------------------------------------------------------ loss and pooling

    @Override
    public double crossEntropyForward(Buffer probs, Buffer logits, Buffer targets, int N, int V, int ignoreIndex) {
        String op = "crossEntropyForward";
        KernelArgs.dims(op, "N, V", N, V);
        String nv = shape("N, V", N, V);
        MemorySegment p = floats(op, "probs", probs, (long) N * V, nv), l = floats(op, "logits", logits, (long) N * V, nv);
        MemorySegment t = ints(op, "targets", targets, N, shape("N", N));
        checkTargets(op, t, N, V, ignoreIndex);
        return LossOps.crossEntropyForward(p, l, t, N, V, ignoreIndex);
    }

    @Override
    public void crossEntropyBackward(Buffer dlogits, Buffer probs, Buffer targets, int N, int V, int ignoreIndex,
                                     float dloss) {
        String op = "crossEntropyBackward";
        KernelArgs.dims(op, "N, V", N, V);
        String nv = shape("N, V", N, V);
        MemorySegment d = optionalFloats(op, "dlogits", dlogits, (long) N * V, nv);
        MemorySegment p = floats(op, "probs", probs, (long) N * V, nv);
        MemorySegment t = ints(op, "targets", targets, N, shape("N", N));
        checkTargets(op, t, N, V, ignoreIndex);
        if (d != null) LossOps.crossEntropyBackward(d, p, t, N, V, ignoreIndex, dloss);
    }

    private static void checkTargets(String op, MemorySegment targets, int N, int V, int ignoreIndex) {
        for (int n = 0; n < N; n++) {
            int t = targets.getAtIndex(I32, n);
            if (t != ignoreIndex && (t < 0 || t >= V)) {
                throw new IllegalArgumentException(op + ": targets[" + n + "] = " + t + " is outside [0, V=" + V
                        + ") and is not the ignore index " + ignoreIndex);
            }
        }
    }

    @Override
    public void meanPoolForward(Buffer out, Buffer inp, Buffer mask, int B, int T, int C) {
        String op = "meanPoolForward";
        KernelArgs.dims(op, "B, T, C", B, T, C);
        MemorySegment o = floats(op, "out", out, (long) B * C, shape("B, C", B, C));
        MemorySegment i = floats(op, "inp", inp, (long) B * T * C, shape("B, T, C", B, T, C));
        MemorySegment m = ints(op, "mask", mask, (long) B * T, shape("B, T", B, T));
        LossOps.meanPoolForward(o, i, m, B, T, C);
    }

    @Override
    public void meanPoolBackward(Buffer dinp, Buffer dout, Buffer mask, int B, int T, int C) {
        String op = "meanPoolBackward";
        KernelArgs.dims(op, "B, T, C", B, T, C);
        MemorySegment di = optionalFloats(op, "dinp", dinp, (long) B * T * C, shape("B, T, C", B, T, C));
        MemorySegment d = floats(op, "dout", dout, (long) B * C, shape("B, C", B, C));
        MemorySegment m = ints(op, "mask", mask, (long) B * T, shape("B, T", B, T));
        if (di != null) LossOps.meanPoolBackward(di, d, m, B, T, C);
    }

    @Override
    public void clsPoolForward(Buffer out, Buffer inp, int B, int T, int C) {
        String op = "clsPoolForward";
        KernelArgs.dims(op, "B, T, C", B, T, C);
        MemorySegment o = floats(op, "out", out, (long) B * C, shape("B, C", B, C));
        MemorySegment i = floats(op, "inp", inp, (long) B * T * C, shape("B, T, C", B, T, C));
        LossOps.clsPoolForward(o, i, B, T, C);
    }

    @Override
    public void clsPoolBackward(Buffer dinp, Buffer dout, int B, int T, int C) {
        String op = "clsPoolBackward";
        KernelArgs.dims(op, "B, T, C", B, T, C);
        MemorySegment di = optionalFloats(op, "dinp", dinp, (long) B * T * C, shape("B, T, C", B, T, C));
        MemorySegment d = floats(op, "dout", dout, (long) B * C, shape("B, C", B, C));
        if (di != null) LossOps.clsPoolBackward(di, d, B, T, C);
    }

    // ------------------------------------------------------------------------------------------------ optimiser

    @Override
    public void adamw(Buffer params, Buffer grads, Buffer m, Buffer v, long n, float lr, float beta1, float beta2,
                      float eps, float weightDecay, int step) {
        String op = "adamw";
        length(op, n);
        KernelArgs.check(step >= 1, op, "step must be >= 1, got " + step);
        String s = "[n=" + n + "]";
        MemorySegment p = floats(op, "params", params, n, s), g = floats(op, "grads", grads, n, s);
        MemorySegment sm = floats(op, "m", m, n, s), sv = floats(op, "v", v, n, s);
        OptimizerOps.adamw(rows, p, g, sm, sv, n, lr, beta1, beta2, eps, weightDecay, step);
    }

    @Override
    public double norm(Buffer grads, long n) {
        length("norm", n);
        return OptimizerOps.norm(floats("norm", "grads", grads, n, "[n=" + n + "]"), n);
    }
}
