package dev.eva4j.cuda;

import dev.eva4j.spi.Buffer;
import dev.eva4j.spi.Capability;
import dev.eva4j.spi.DType;
import dev.eva4j.spi.DropoutMask;
import dev.eva4j.spi.KernelArgs;
import dev.eva4j.spi.Kernels;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;
import java.util.Set;

/**
 * {@link Kernels} on an NVIDIA GPU: buffers are device memory ({@link CudaBuffer}), matrix products run on cuBLAS
 * (float32, row-major through {@link Cublas}'s row-major helpers) and everything else on eva4j's own kernels
 * ({@code src/main/cuda}, loaded from the fatbin resource). Every operation is queued on the context's one stream and
 * returns without waiting: a forward or backward pass makes no host round trip per op. Only what must return a value
 * to the host waits for the stream: {@link #crossEntropyForward} (the loss), {@link #norm}, the downloads, and an
 * upload (the driver copies pageable memory synchronously).
 *
 * <p>Argument checks are those of the host kernels (same messages): ids and targets are checked against the host
 * mirror every I32 buffer keeps (see {@link CudaBuffer}), without reading device memory.
 *
 * <p>Scratch device memory (dropout copies, attention scores, float64 partial sums) is one growing allocation reused
 * by every op; it is safe because every op is ordered on the same stream. Not thread-safe: one thread at a time (the
 * contract's "one thread at a time per buffer", and the scratch is shared by all buffers).
 */
public final class CudaKernels implements Kernels {
    private static final int THREADS = 256;
    private static final long MAX_BLOCKS = 65536;
    /** Most floats of attention scores held in scratch at once (256 MiB). */
    static final long ATTENTION_SCRATCH_FLOATS = 64L << 20;
    /** Largest gridDim.y (the pooling kernels' batch dimension). */
    private static final int MAX_GRID_Y = 65535;

    private final CudaContext context;
    private final CudaModule module;
    private final Cublas cublas;
    private DeviceMemory scratch;

    /**
     * Kernels on {@code context}, with this build's fatbin ({@link KernelImage}) loaded into it.
     *
     * @throws IllegalStateException when this build has no kernels (nvcc was not found when it was built)
     */
    public CudaKernels(CudaContext context) {
        this(context, CudaModule.load(context, CudaKernelsLoader.image().fatbin()
                .orElseThrow(() -> new IllegalStateException(CudaKernelsLoader.image().reason()))));
    }

    /**
     * @param context the device context all work is queued on (its stream)
     * @param module  eva4j's kernels loaded into that context ({@link KernelImage})
     */
    public CudaKernels(CudaContext context, CudaModule module) {
        this(context, module, context.cublas());
    }

    /** As {@link #CudaKernels(CudaContext, CudaModule)} with a given cuBLAS handle of that context (tests). */
    CudaKernels(CudaContext context, CudaModule module, Cublas cublas) {
        this.context = Objects.requireNonNull(context, "context");
        this.module = Objects.requireNonNull(module, "module");
        this.cublas = Objects.requireNonNull(cublas, "cublas");
        // float32 GEMMs as the contract's tolerance assumes: no TF32 (the handle is the context's; whoever switches
        // it to TF32 for a benchmark must switch it back)
        cublas.setMathMode(Cublas.DEFAULT_MATH);
    }

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public DType floatType() {
        return DType.F32;
    }

    @Override
    public Set<Capability> capabilities() {
        return Set.of(Capability.ACCELERATOR);
    }

    /** eva4j's kernels as loaded into the context (for {@link CudaPcaKernels} on the same device). */
    public CudaModule module() {
        return module;
    }

    /** The context this backend queues its work on. */
    public CudaContext context() {
        return context;
    }

    @Override
    public String toString() {
        return "CudaKernels[" + context + "]";
    }

    // ---------------------------------------------------------------------------------------------------- checks

    private long floats(String op, String operand, Buffer buffer, long n, String shape) {
        return device(op, operand, buffer, DType.F32, n, shape).address();
    }

    /** The device pointer of an optional float operand, or 0 (NULL) when it is null. */
    private long optionalFloats(String op, String operand, Buffer buffer, long n, String shape) {
        return buffer == null ? 0L : floats(op, operand, buffer, n, shape);
    }

    private CudaBuffer ints(String op, String operand, Buffer buffer, long n, String shape) {
        return device(op, operand, buffer, DType.I32, n, shape);
    }

    private CudaBuffer device(String op, String operand, Buffer buffer, DType dtype, long n, String shape) {
        KernelArgs.require(this, op, operand, buffer, dtype, n, shape);
        if (!(buffer instanceof CudaBuffer cuda)) {
            throw new IllegalArgumentException(op + ": " + operand + " is a " + buffer.getClass().getName()
                    + ", not a buffer this backend allocated");
        }
        return cuda;
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

    // ---------------------------------------------------------------------------------------------------- launches

    /** Blocks of {@link #THREADS} for a grid-stride loop over n elements (n > 0). */
    private static int blocks(long n) {
        return (int) Math.max(1, Math.min(MAX_BLOCKS, (n + THREADS - 1) / THREADS));
    }

    /** A grid-stride kernel over n elements; nothing is launched for n = 0. */
    private void elementwise(String kernel, long n, Object... args) {
        if (n == 0) return;
        module.launch(kernel, blocks(n), 1, 1, THREADS, 1, 1, 0, args);
    }

    /** Scratch device memory of at least {@code bytes} bytes (contents undefined), valid until the next call. */
    private long scratch(long bytes) {
        long need = Math.max(256, (bytes + 255) & ~255L);
        if (scratch == null || scratch.byteSize() < need) {
            if (scratch != null) scratch.close();   // waits for queued work that may still read it
            scratch = null;
            scratch = context.allocate(Math.max(need, 1L << 20));
        }
        return scratch.address();
    }

    /** Downloads the float64 at device address {@code ptr} (waits for the stream). */
    private double downloadDouble(long ptr) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(ValueLayout.JAVA_DOUBLE);
            context.download(host, ptr, Double.BYTES);
            return host.get(ValueLayout.JAVA_DOUBLE, 0);
        }
    }

    /** Chunks of rows for a two-pass column sum over N rows: {rows per chunk, chunks}, at most 1024 chunks. */
    private static int[] chunking(int N) {
        int rowsPerChunk = Math.max(64, (N + 1023) / 1024);
        return new int[] {rowsPerChunk, (N + rowsPerChunk - 1) / rowsPerChunk};
    }

    /** dst[c] += column sums of m [N, C] in float64: eva4j_column_sum_partials, then eva4j_add_partials. */
    private void addColumnSums(long dst, long m, int N, int C) {
        int[] ch = chunking(N);
        long partial = scratch((long) ch[1] * C * Double.BYTES);
        module.launch("eva4j_column_sum_partials", (C + 31) / 32, ch[1], 1, 32, 8, 1, 0, partial, m, N, C, ch[0]);
        elementwise("eva4j_add_partials", C, dst, partial, ch[1], C);
    }

    // ---------------------------------------------------------------------------------------------------- memory

    @Override
    public CudaBuffer allocate(DType dtype, long length) {
        Objects.requireNonNull(dtype, "dtype");
        if (length < 0) throw new IllegalArgumentException("allocate: length must be >= 0, got " + length);
        long bytes;
        try {
            bytes = Math.multiplyExact(length, dtype.bytes());
        } catch (ArithmeticException overflow) {
            throw new IllegalArgumentException("allocate: " + length + " elements of " + dtype + " overflow a long");
        }
        // at least 4 bytes (cuMemAlloc refuses 0), rounded up to whole words for the 32-bit memset
        DeviceMemory memory = context.allocate(Math.max(4, (bytes + 3) & ~3L));
        try {
            memory.zero();
            return CudaBuffer.root(this, dtype, length, memory);
        } catch (RuntimeException | Error e) {
            memory.close();
            throw e;
        }
    }

    /** The destination of a copy of {@code count} elements to {@code offset}. */
    private CudaBuffer target(String op, String operand, Buffer buffer, DType dtype, long offset, long count) {
        KernelArgs.check(offset >= 0, op, "offset must be >= 0, got " + offset);
        return device(op, operand, buffer, dtype, offset + count, "[offset=" + offset + ", count=" + count + "]");
    }

    private void put(CudaBuffer dst, long offset, MemorySegment host) {
        if (host.byteSize() == 0) return;
        context.upload(dst.address(offset), host, host.byteSize());
    }

    private void get(CudaBuffer src, long offset, MemorySegment host) {
        if (host.byteSize() == 0) return;
        context.download(host, src.address(offset), host.byteSize());
    }

    @Override
    public void upload(Buffer dst, long offset, float[] src) {
        Objects.requireNonNull(src, "src");
        CudaBuffer d = target("upload", "dst", dst, DType.F32, offset, src.length);
        try (Arena arena = Arena.ofConfined()) {
            put(d, offset, arena.allocateFrom(ValueLayout.JAVA_FLOAT, src));
        }
    }

    @Override
    public void upload(Buffer dst, long offset, double[] src) {
        Objects.requireNonNull(src, "src");
        CudaBuffer d = target("upload", "dst", dst, DType.F32, offset, src.length);
        float[] f = new float[src.length];
        for (int i = 0; i < f.length; i++) f[i] = (float) src[i];
        try (Arena arena = Arena.ofConfined()) {
            put(d, offset, arena.allocateFrom(ValueLayout.JAVA_FLOAT, f));
        }
    }

    @Override
    public void upload(Buffer dst, long offset, int[] src) {
        Objects.requireNonNull(src, "src");
        CudaBuffer d = target("upload", "dst", dst, DType.I32, offset, src.length);
        try (Arena arena = Arena.ofConfined()) {
            put(d, offset, arena.allocateFrom(ValueLayout.JAVA_INT, src));
        }
        d.mirrorWrite(offset, src);
    }

    @Override
    public void uploadFloats(Buffer dst, long offset, MemorySegment src) {
        KernelArgs.check(src != null, "uploadFloats", "src is null");
        long count = src.byteSize() / Float.BYTES;
        CudaBuffer d = target("uploadFloats", "dst", dst, DType.F32, offset, count);
        if (count == 0) return;
        MemorySegment whole = src.asSlice(0, count * Float.BYTES);
        if (whole.isNative()) {
            put(d, offset, whole);
            return;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(whole.byteSize(), 16);
            host.copyFrom(whole);
            put(d, offset, host);
        }
    }

    @Override
    public void download(Buffer src, long offset, float[] dst) {
        Objects.requireNonNull(dst, "dst");
        CudaBuffer s = target("download", "src", src, DType.F32, offset, dst.length);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(ValueLayout.JAVA_FLOAT, Math.max(1, dst.length));
            get(s, offset, host.asSlice(0, (long) dst.length * Float.BYTES));
            MemorySegment.copy(host, ValueLayout.JAVA_FLOAT, 0, dst, 0, dst.length);
        }
    }

    @Override
    public void download(Buffer src, long offset, double[] dst) {
        Objects.requireNonNull(dst, "dst");
        float[] f = new float[dst.length];
        CudaBuffer s = target("download", "src", src, DType.F32, offset, dst.length);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(ValueLayout.JAVA_FLOAT, Math.max(1, dst.length));
            get(s, offset, host.asSlice(0, (long) dst.length * Float.BYTES));
            MemorySegment.copy(host, ValueLayout.JAVA_FLOAT, 0, f, 0, f.length);
        }
        for (int i = 0; i < f.length; i++) dst[i] = f[i];
    }

    @Override
    public void downloadFloats(Buffer src, long offset, MemorySegment dst) {
        KernelArgs.check(dst != null, "downloadFloats", "dst is null");
        long count = dst.byteSize() / Float.BYTES;
        CudaBuffer s = target("downloadFloats", "src", src, DType.F32, offset, count);
        if (count == 0) return;
        MemorySegment whole = dst.asSlice(0, count * Float.BYTES);
        if (whole.isNative()) {
            get(s, offset, whole);
            return;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(whole.byteSize(), 16);
            get(s, offset, host);
            whole.copyFrom(host);
        }
    }

    @Override
    public void copy(Buffer dst, Buffer src, long n) {
        length("copy", n);
        KernelArgs.check(src != null, "copy", "src is null ([n=" + n + "])");
        DType dtype = src.dtype();
        CudaBuffer s = device("copy", "src", src, dtype, n, "[n=" + n + "]");
        CudaBuffer d = device("copy", "dst", dst, dtype, n, "[n=" + n + "]");
        if (n == 0) return;
        context.bind();
        context.driver().memcpyDtoDAsync(d.address(), s.address(), n * dtype.bytes(), context.stream());
        if (dtype == DType.I32) d.mirrorCopy(s, n);
    }

    @Override
    public void fill(Buffer x, double value, long n) {
        length("fill", n);
        long p = floats("fill", "x", x, n, "[n=" + n + "]");
        elementwise("eva4j_fill_f32", n, p, (float) value, n);
    }

    @Override
    public void scale(Buffer x, double factor, long n) {
        length("scale", n);
        long p = floats("scale", "x", x, n, "[n=" + n + "]");
        elementwise("eva4j_scale_f32", n, p, factor, n);
    }

    @Override
    public void synchronize() {
        context.synchronize();
    }

    // ------------------------------------------------------------------------------------------------ embeddings

    @Override
    public void embeddingForward(Buffer out, Buffer ids, Buffer table, int N, int V, int C, boolean accumulate) {
        String op = "embeddingForward";
        KernelArgs.dims(op, "N, V, C", N, V, C);
        long o = floats(op, "out", out, (long) N * C, shape("N, C", N, C));
        CudaBuffer i = ints(op, "ids", ids, N, shape("N", N));
        long t = floats(op, "table", table, (long) V * C, shape("V, C", V, C));
        checkIds(op, i, N, V);
        elementwise("eva4j_embedding_forward", (long) N * C, o, i.address(), t, N, C, accumulate ? 1 : 0);
    }

    @Override
    public void embeddingBackward(Buffer dtable, Buffer dout, Buffer ids, int N, int V, int C) {
        String op = "embeddingBackward";
        KernelArgs.dims(op, "N, V, C", N, V, C);
        long dt = optionalFloats(op, "dtable", dtable, (long) V * C, shape("V, C", V, C));
        long d = floats(op, "dout", dout, (long) N * C, shape("N, C", N, C));
        CudaBuffer i = ints(op, "ids", ids, N, shape("N", N));
        checkIds(op, i, N, V);
        if (dt != 0) elementwise("eva4j_embedding_backward", C, dt, d, i.address(), N, C);
    }

    private static void checkIds(String op, CudaBuffer ids, int N, int V) {
        for (int n = 0; n < N; n++) {
            int id = ids.hostInt(n);
            if (id < 0 || id >= V) {
                throw new IllegalArgumentException(op + ": ids[" + n + "] = " + id + " is outside [0, V=" + V + ")");
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------- norms

    @Override
    public void layerNormForward(Buffer out, Buffer mean, Buffer rstd, Buffer inp, Buffer weight, Buffer bias,
                                 int N, int C, float eps) {
        String op = "layerNormForward";
        KernelArgs.dims(op, "N, C", N, C);
        String nc = shape("N, C", N, C), c = shape("C", C), n = shape("N", N);
        long o = floats(op, "out", out, (long) N * C, nc);
        KernelArgs.check((mean == null) == (rstd == null), op, "mean and rstd must both be given or both be null");
        long m = optionalFloats(op, "mean", mean, N, n), r = optionalFloats(op, "rstd", rstd, N, n);
        long i = floats(op, "inp", inp, (long) N * C, nc);
        long w = floats(op, "weight", weight, C, c), b = floats(op, "bias", bias, C, c);
        module.launch("eva4j_layernorm_forward", N, 1, 1, THREADS, 1, 1, 0, o, m, r, i, w, b, N, C, eps);
    }

    @Override
    public void layerNormBackward(Buffer dinp, Buffer dweight, Buffer dbias, Buffer dout, Buffer inp, Buffer weight,
                                  Buffer mean, Buffer rstd, int N, int C) {
        String op = "layerNormBackward";
        KernelArgs.dims(op, "N, C", N, C);
        String nc = shape("N, C", N, C), c = shape("C", C), n = shape("N", N);
        long di = optionalFloats(op, "dinp", dinp, (long) N * C, nc);
        long dw = optionalFloats(op, "dweight", dweight, C, c);
        long db = optionalFloats(op, "dbias", dbias, C, c);
        long d = floats(op, "dout", dout, (long) N * C, nc), i = floats(op, "inp", inp, (long) N * C, nc);
        long w = floats(op, "weight", weight, C, c);
        long m = floats(op, "mean", mean, N, n), r = floats(op, "rstd", rstd, N, n);
        if (di != 0) module.launch("eva4j_layernorm_backward", N, 1, 1, THREADS, 1, 1, 0, di, d, i, w, m, r, N, C);
        if (dw == 0 && db == 0) return;
        int[] ch = chunking(N);
        long part = (long) ch[1] * C;
        long pw = scratch(2 * part * Double.BYTES), pb = pw + part * Double.BYTES;
        module.launch("eva4j_layernorm_param_partials", (C + 31) / 32, ch[1], 1, 32, 8, 1, 0,
                dw == 0 ? 0L : pw, db == 0 ? 0L : pb, d, i, m, r, N, C, ch[0]);
        if (dw != 0) elementwise("eva4j_add_partials", C, dw, pw, ch[1], C);
        if (db != 0) elementwise("eva4j_add_partials", C, db, pb, ch[1], C);
    }

    @Override
    public void rmsNormForward(Buffer out, Buffer rstd, Buffer inp, Buffer weight, int N, int C, float eps) {
        String op = "rmsNormForward";
        KernelArgs.dims(op, "N, C", N, C);
        String nc = shape("N, C", N, C);
        long o = floats(op, "out", out, (long) N * C, nc);
        long r = optionalFloats(op, "rstd", rstd, N, shape("N", N));
        long i = floats(op, "inp", inp, (long) N * C, nc);
        long w = floats(op, "weight", weight, C, shape("C", C));
        module.launch("eva4j_rmsnorm_forward", N, 1, 1, THREADS, 1, 1, 0, o, r, i, w, N, C, eps);
    }

    @Override
    public void rmsNormBackward(Buffer dinp, Buffer dweight, Buffer dout, Buffer inp, Buffer weight, Buffer rstd,
                                int N, int C) {
        String op = "rmsNormBackward";
        KernelArgs.dims(op, "N, C", N, C);
        String nc = shape("N, C", N, C), c = shape("C", C);
        long di = optionalFloats(op, "dinp", dinp, (long) N * C, nc);
        long dw = optionalFloats(op, "dweight", dweight, C, c);
        long d = floats(op, "dout", dout, (long) N * C, nc), i = floats(op, "inp", inp, (long) N * C, nc);
        long w = floats(op, "weight", weight, C, c), r = floats(op, "rstd", rstd, N, shape("N", N));
        if (di != 0) module.launch("eva4j_rmsnorm_backward", N, 1, 1, THREADS, 1, 1, 0, di, d, i, w, r, N, C);
        if (dw == 0) return;
        int[] ch = chunking(N);
        long pw = scratch((long) ch[1] * C * Double.BYTES);
        module.launch("eva4j_rmsnorm_param_partials", (C + 31) / 32, ch[1], 1, 32, 8, 1, 0, pw, d, i, r, N, C, ch[0]);
        elementwise("eva4j_add_partials", C, dw, pw, ch[1], C);
    }

    // -------------------------------------------------------------------------------------------------- linear

    /** Row-major C = alpha op(A) op(B) + beta C on cuBLAS (float32, the handle's default math: no TF32). */
    private void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, long a, int lda, long b,
                      int ldb, float beta, long c, int ldc) {
        cublas.sgemmRowMajor(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }

    @Override
    public void matmulForward(Buffer out, Buffer inp, Buffer weight, Buffer bias, int N, int IN, int OUT) {
        String op = "matmulForward";
        KernelArgs.dims(op, "N, IN, OUT", N, IN, OUT);
        long o = floats(op, "out", out, (long) N * OUT, shape("N, OUT", N, OUT));
        long i = floats(op, "inp", inp, (long) N * IN, shape("N, IN", N, IN));
        long w = floats(op, "weight", weight, (long) OUT * IN, shape("OUT, IN", OUT, IN));
        long b = optionalFloats(op, "bias", bias, OUT, shape("OUT", OUT));
        matmul(o, i, w, b, N, IN, OUT);
    }

    /** out = inp weight^T (+ bias): with a bias, out is first filled with it and the GEMM adds to it (beta 1). */
    private void matmul(long o, long i, long w, long b, int N, int IN, int OUT) {
        float beta = 0f;
        if (b != 0) {
            elementwise("eva4j_bias_fill", (long) N * OUT, o, b, N, OUT);
            beta = 1f;
        }
        gemm(false, true, N, OUT, IN, 1f, i, IN, w, IN, beta, o, OUT);
    }

    @Override
    public void matmulBackward(Buffer dinp, Buffer dweight, Buffer dbias, Buffer dout, Buffer inp, Buffer weight,
                               int N, int IN, int OUT) {
        String op = "matmulBackward";
        KernelArgs.dims(op, "N, IN, OUT", N, IN, OUT);
        String ni = shape("N, IN", N, IN), oi = shape("OUT, IN", OUT, IN);
        long di = optionalFloats(op, "dinp", dinp, (long) N * IN, ni);
        long dw = optionalFloats(op, "dweight", dweight, (long) OUT * IN, oi);
        long db = optionalFloats(op, "dbias", dbias, OUT, shape("OUT", OUT));
        long d = floats(op, "dout", dout, (long) N * OUT, shape("N, OUT", N, OUT));
        long i = floats(op, "inp", inp, (long) N * IN, ni), w = floats(op, "weight", weight, (long) OUT * IN, oi);
        if (di != 0) gemm(false, false, N, IN, OUT, 1f, d, OUT, w, IN, 1f, di, IN);
        if (dw != 0) gemm(true, false, OUT, IN, N, 1f, d, OUT, i, IN, 1f, dw, IN);
        if (db != 0) addColumnSums(db, d, N, OUT);
    }

    private static void checkDropout(String op, float dropout) {
        KernelArgs.check(dropout >= 0f && dropout < 1f, op, "dropout must be in [0, 1), got " + dropout);
    }

    /** out[0, n) = inp[0, n) with the dropout mask of (seed, p) applied (p > 0). */
    private void dropout(String kernel, long out, long inp, long n, float p, long seed) {
        int word = DropoutMask.seedWord(seed), threshold = DropoutMask.threshold(p);
        elementwise(kernel, n, out, inp, n, word, threshold, 1f / (1f - p));
    }

    @Override
    public void loraForward(Buffer out, Buffer xa, Buffer inp, Buffer weight, Buffer bias, Buffer a, Buffer b,
                            float scale, float dropout, long seed, int N, int IN, int OUT, int R) {
        String op = "loraForward";
        KernelArgs.dims(op, "N, IN, OUT, R", N, IN, OUT, R);
        checkDropout(op, dropout);
        long o = floats(op, "out", out, (long) N * OUT, shape("N, OUT", N, OUT));
        long x = floats(op, "xa", xa, (long) N * R, shape("N, R", N, R));
        long i = floats(op, "inp", inp, (long) N * IN, shape("N, IN", N, IN));
        long w = floats(op, "weight", weight, (long) OUT * IN, shape("OUT, IN", OUT, IN));
        long bi = optionalFloats(op, "bias", bias, OUT, shape("OUT", OUT));
        long la = floats(op, "a", a, (long) R * IN, shape("R, IN", R, IN));
        long lb = floats(op, "b", b, (long) OUT * R, shape("OUT, R", OUT, R));
        matmul(o, i, w, bi, N, IN, OUT);
        long src = i;
        if (dropout != 0f) {
            long ni = (long) N * IN;
            src = scratch(ni * Float.BYTES);
            dropout("eva4j_dropout_forward", src, i, ni, dropout, seed);
        }
        gemm(false, true, N, R, IN, 1f, src, IN, la, IN, 0f, x, R);
        gemm(false, true, N, OUT, R, scale, x, R, lb, R, 1f, o, OUT);
    }

    @Override
    public void loraBackward(Buffer dinp, Buffer da, Buffer db, Buffer dout, Buffer inp, Buffer xa, Buffer weight,
                             Buffer a, Buffer b, float scale, float dropout, long seed, int N, int IN, int OUT, int R) {
        String op = "loraBackward";
        KernelArgs.dims(op, "N, IN, OUT, R", N, IN, OUT, R);
        checkDropout(op, dropout);
        String ni = shape("N, IN", N, IN), ri = shape("R, IN", R, IN), or = shape("OUT, R", OUT, R);
        long di = optionalFloats(op, "dinp", dinp, (long) N * IN, ni);
        long dla = optionalFloats(op, "da", da, (long) R * IN, ri);
        long dlb = optionalFloats(op, "db", db, (long) OUT * R, or);
        long d = floats(op, "dout", dout, (long) N * OUT, shape("N, OUT", N, OUT));
        long i = floats(op, "inp", inp, (long) N * IN, ni);
        long x = floats(op, "xa", xa, (long) N * R, shape("N, R", N, R));
        long w = floats(op, "weight", weight, (long) OUT * IN, shape("OUT, IN", OUT, IN));
        long la = floats(op, "a", a, (long) R * IN, ri), lb = floats(op, "b", b, (long) OUT * R, or);
        if (dlb != 0) gemm(true, false, OUT, R, N, scale, d, OUT, x, R, 1f, dlb, R);
        if (di != 0) gemm(false, false, N, IN, OUT, 1f, d, OUT, w, IN, 1f, di, IN);
        if (dla == 0 && di == 0) return;
        long nr = (long) N * R, nIn = (long) N * IN;
        boolean dropping = dropout != 0f;
        long g = scratch((nr + (dropping ? nIn : 0)) * Float.BYTES);
        long xs = g + nr * Float.BYTES;   // the dropped input, then g A
        gemm(false, false, N, R, OUT, scale, d, OUT, lb, R, 0f, g, R);
        if (dla != 0) {
            if (dropping) dropout("eva4j_dropout_forward", xs, i, nIn, dropout, seed);
            gemm(true, false, R, IN, N, 1f, g, R, dropping ? xs : i, IN, 1f, dla, IN);
        }
        if (di != 0) {
            if (!dropping) {
                gemm(false, false, N, IN, R, 1f, g, R, la, IN, 1f, di, IN);
            } else {
                gemm(false, false, N, IN, R, 1f, g, R, la, IN, 0f, xs, IN);
                dropout("eva4j_dropout_backward_add", di, xs, nIn, dropout, seed);
            }
        }
    }

    // ----------------------------------------------------------------------------------------------- attention

    private static void checkHeads(String op, int B, int T, int NH, int NKV, int HS) {
        KernelArgs.dims(op, "B, T, NH, NKV, HS", B, T, NH, NKV, HS);
        KernelArgs.check(NH % NKV == 0, op, "key/value heads NKV=" + NKV + " must divide query heads NH=" + NH);
        KernelArgs.check((long) B * NH * T <= Integer.MAX_VALUE, op, "B * NH * T = " + (long) B * NH * T
                + " query rows exceed the grid's 2^31 - 1 blocks");
    }

    /** Sequences per chunk when the scores of a chunk live in scratch memory (at least one). */
    private static int chunk(int B, int NH, int T) {
        long seq = (long) NH * T * T;
        return (int) Math.max(1, Math.min(B, ATTENTION_SCRATCH_FLOATS / seq));
    }

    @Override
    public void attentionForward(Buffer out, Buffer att, Buffer q, Buffer k, Buffer v, Buffer mask, int B, int T,
                                 int NH, int NKV, int HS, boolean causal) {
        String op = "attentionForward";
        checkHeads(op, B, T, NH, NKV, HS);
        long nq = (long) B * T * NH * HS, nkv = (long) B * T * NKV * HS;
        String qShape = shape("B, T, NH, HS", B, T, NH, HS), kvShape = shape("B, T, NKV, HS", B, T, NKV, HS);
        long o = floats(op, "out", out, nq, qShape);
        long p = optionalFloats(op, "att", att, (long) B * NH * T * T, shape("B, NH, T, T", B, NH, T, T));
        long sq = floats(op, "q", q, nq, qShape);
        long sk = floats(op, "k", k, nkv, kvShape), sv = floats(op, "v", v, nkv, kvShape);
        long m = mask == null ? 0L : ints(op, "mask", mask, (long) B * T, shape("B, T", B, T)).address();
        float scale = (float) (1 / Math.sqrt(HS));
        long seq = (long) NH * T * T;
        int chunk = p != 0 ? B : chunk(B, NH, T);
        long work = p != 0 ? 0L : scratch((long) chunk * seq * Float.BYTES);
        for (int b0 = 0; b0 < B; b0 += chunk) {
            int nb = Math.min(chunk, B - b0);
            long rows = p != 0 ? p + b0 * seq * Float.BYTES : work;
            module.launch("eva4j_attention_forward", Math.toIntExact((long) nb * NH * T), 1, 1, 128, 1, 1, 0,
                    o, rows, sq, sk, sv, m, b0, T, NH, NKV, HS, causal ? 1 : 0, scale);
        }
    }

    @Override
    public void attentionBackward(Buffer dq, Buffer dk, Buffer dv, Buffer dout, Buffer q, Buffer k, Buffer v,
                                  Buffer att, int B, int T, int NH, int NKV, int HS) {
        String op = "attentionBackward";
        checkHeads(op, B, T, NH, NKV, HS);
        long nq = (long) B * T * NH * HS, nkv = (long) B * T * NKV * HS;
        String qShape = shape("B, T, NH, HS", B, T, NH, HS), kvShape = shape("B, T, NKV, HS", B, T, NKV, HS);
        long dsq = optionalFloats(op, "dq", dq, nq, qShape);
        long dsk = optionalFloats(op, "dk", dk, nkv, kvShape), dsv = optionalFloats(op, "dv", dv, nkv, kvShape);
        long d = floats(op, "dout", dout, nq, qShape), sq = floats(op, "q", q, nq, qShape);
        long sk = floats(op, "k", k, nkv, kvShape), sv = floats(op, "v", v, nkv, kvShape);
        long p = floats(op, "att", att, (long) B * NH * T * T, shape("B, NH, T, T", B, NH, T, T));
        if (dsq == 0 && dsk == 0 && dsv == 0) return;
        float scale = (float) (1 / Math.sqrt(HS));
        long seq = (long) NH * T * T;
        boolean scores = dsq != 0 || dsk != 0;
        int chunk = scores ? chunk(B, NH, T) : B;
        long ds = scores ? scratch((long) chunk * seq * Float.BYTES) : 0L;
        for (int b0 = 0; b0 < B; b0 += chunk) {
            int nb = Math.min(chunk, B - b0);
            long pc = p + b0 * seq * Float.BYTES;
            if (scores) {
                module.launch("eva4j_attention_backward_query", Math.toIntExact((long) nb * NH * T), 1, 1, 128, 1, 1,
                        0, dsq, ds, d, sk, sv, pc, b0, T, NH, NKV, HS, scale);
            }
            if (dsk != 0 || dsv != 0) {
                module.launch("eva4j_attention_backward_key", Math.toIntExact((long) nb * NKV * T), 1, 1, 64, 1, 1, 0,
                        dsk, dsv, dsk != 0 ? ds : 0L, pc, sq, d, b0, T, NH, NKV, HS, scale);
            }
        }
    }

    @Override
    public void ropeForward(Buffer out, Buffer inp, Buffer positions, Buffer invFreq, int N, int H, int HS) {
        rope("ropeForward", "out", out, "inp", inp, positions, invFreq, N, H, HS, false);
    }

    @Override
    public void ropeBackward(Buffer dinp, Buffer dout, Buffer positions, Buffer invFreq, int N, int H, int HS) {
        rope("ropeBackward", "dinp", dinp, "dout", dout, positions, invFreq, N, H, HS, true);
    }

    private void rope(String op, String outName, Buffer out, String inName, Buffer inp, Buffer positions,
                      Buffer invFreq, int N, int H, int HS, boolean backward) {
        KernelArgs.dims(op, "N, H, HS", N, H, HS);
        KernelArgs.check(HS % 2 == 0, op, "head size HS=" + HS + " must be even");
        long n = (long) N * H * HS;
        String nhs = shape("N, H, HS", N, H, HS);
        long o = out == null && backward ? 0L : floats(op, outName, out, n, nhs);
        long i = floats(op, inName, inp, n, nhs);
        long pos = ints(op, "positions", positions, N, shape("N", N)).address();
        long inv = floats(op, "invFreq", invFreq, HS / 2, shape("HS/2", HS / 2));
        if (o == 0) return;
        elementwise("eva4j_rope", n / 2, o, i, pos, inv, N, H, HS, backward ? 1 : 0);
    }

    // --------------------------------------------------------------------------------------------- elementwise

    @Override
    public void geluForward(Buffer out, Buffer inp, long n) {
        String op = "geluForward";
        length(op, n);
        long o = floats(op, "out", out, n, "[n=" + n + "]"), i = floats(op, "inp", inp, n, "[n=" + n + "]");
        elementwise("eva4j_gelu_forward", n, o, i, n);
    }

    @Override
    public void geluBackward(Buffer dinp, Buffer dout, Buffer inp, long n) {
        String op = "geluBackward";
        length(op, n);
        String s = "[n=" + n + "]";
        long di = optionalFloats(op, "dinp", dinp, n, s);
        long d = floats(op, "dout", dout, n, s), i = floats(op, "inp", inp, n, s);
        if (di != 0) elementwise("eva4j_gelu_backward", n, di, d, i, n);
    }

    @Override
    public void swigluForward(Buffer out, Buffer gate, Buffer up, long n) {
        String op = "swigluForward";
        length(op, n);
        String s = "[n=" + n + "]";
        long o = floats(op, "out", out, n, s);
        long g = floats(op, "gate", gate, n, s), u = floats(op, "up", up, n, s);
        elementwise("eva4j_swiglu_forward", n, o, g, u, n);
    }

    @Override
    public void swigluBackward(Buffer dgate, Buffer dup, Buffer dout, Buffer gate, Buffer up, long n) {
        String op = "swigluBackward";
        length(op, n);
        String s = "[n=" + n + "]";
        long dg = optionalFloats(op, "dgate", dgate, n, s), du = optionalFloats(op, "dup", dup, n, s);
        long d = floats(op, "dout", dout, n, s);
        long g = floats(op, "gate", gate, n, s), u = floats(op, "up", up, n, s);
        if (dg != 0 || du != 0) elementwise("eva4j_swiglu_backward", n, dg, du, d, g, u, n);
    }

    @Override
    public void residualForward(Buffer out, Buffer a, Buffer b, long n) {
        String op = "residualForward";
        length(op, n);
        String s = "[n=" + n + "]";
        long o = floats(op, "out", out, n, s), sa = floats(op, "a", a, n, s), sb = floats(op, "b", b, n, s);
        elementwise("eva4j_residual_forward", n, o, sa, sb, n);
    }

    @Override
    public void residualBackward(Buffer da, Buffer db, Buffer dout, long n) {
        String op = "residualBackward";
        length(op, n);
        String s = "[n=" + n + "]";
        long sa = optionalFloats(op, "da", da, n, s), sb = optionalFloats(op, "db", db, n, s);
        long d = floats(op, "dout", dout, n, s);
        if (sa != 0 || sb != 0) elementwise("eva4j_residual_backward", n, sa, sb, d, n);
    }

    // ------------------------------------------------------------------------------------------ loss and pooling

    @Override
    public double crossEntropyForward(Buffer probs, Buffer logits, Buffer targets, int N, int V, int ignoreIndex) {
        String op = "crossEntropyForward";
        KernelArgs.dims(op, "N, V", N, V);
        String nv = shape("N, V", N, V);
        long p = floats(op, "probs", probs, (long) N * V, nv), l = floats(op, "logits", logits, (long) N * V, nv);
        CudaBuffer t = ints(op, "targets", targets, N, shape("N", N));
        int count = checkTargets(op, t, N, V, ignoreIndex);
        long losses = scratch(((long) N + 1) * Double.BYTES), total = losses + (long) N * Double.BYTES;
        module.launch("eva4j_cross_entropy_forward", N, 1, 1, 512, 1, 1, 0, p, losses, l, t.address(), N, V,
                ignoreIndex);
        if (count == 0) return 0;
        module.launch("eva4j_sum_d", 1, 1, 1, THREADS, 1, 1, 0, total, losses, N);
        return downloadDouble(total) / count;
    }

    @Override
    public void crossEntropyBackward(Buffer dlogits, Buffer probs, Buffer targets, int N, int V, int ignoreIndex,
                                     float dloss) {
        String op = "crossEntropyBackward";
        KernelArgs.dims(op, "N, V", N, V);
        String nv = shape("N, V", N, V);
        long d = optionalFloats(op, "dlogits", dlogits, (long) N * V, nv);
        long p = floats(op, "probs", probs, (long) N * V, nv);
        CudaBuffer t = ints(op, "targets", targets, N, shape("N", N));
        int count = checkTargets(op, t, N, V, ignoreIndex);
        if (d == 0 || count == 0) return;
        elementwise("eva4j_cross_entropy_backward", (long) N * V, d, p, t.address(), N, V, ignoreIndex,
                (double) dloss / count);
    }

    /** Checks every target against V (from the host mirror) and returns the number of counted rows. */
    private static int checkTargets(String op, CudaBuffer targets, int N, int V, int ignoreIndex) {
        int count = 0;
        for (int n = 0; n < N; n++) {
            int t = targets.hostInt(n);
            if (t == ignoreIndex) continue;
            if (t < 0 || t >= V) {
                throw new IllegalArgumentException(op + ": targets[" + n + "] = " + t + " is outside [0, V=" + V
                        + ") and is not the ignore index " + ignoreIndex);
            }
            count++;
        }
        return count;
    }

    @Override
    public void meanPoolForward(Buffer out, Buffer inp, Buffer mask, int B, int T, int C) {
        String op = "meanPoolForward";
        KernelArgs.dims(op, "B, T, C", B, T, C);
        long o = floats(op, "out", out, (long) B * C, shape("B, C", B, C));
        long i = floats(op, "inp", inp, (long) B * T * C, shape("B, T, C", B, T, C));
        long m = ints(op, "mask", mask, (long) B * T, shape("B, T", B, T)).address();
        pool("eva4j_mean_pool_forward", o, i, m, B, T, C);
    }

    @Override
    public void meanPoolBackward(Buffer dinp, Buffer dout, Buffer mask, int B, int T, int C) {
        String op = "meanPoolBackward";
        KernelArgs.dims(op, "B, T, C", B, T, C);
        long di = optionalFloats(op, "dinp", dinp, (long) B * T * C, shape("B, T, C", B, T, C));
        long d = floats(op, "dout", dout, (long) B * C, shape("B, C", B, C));
        long m = ints(op, "mask", mask, (long) B * T, shape("B, T", B, T)).address();
        if (di != 0) pool("eva4j_mean_pool_backward", di, d, m, B, T, C);
    }

    /** A mean-pool kernel over grid (ceil(C / 256), B), in slices of at most 65,535 sequences (gridDim.y). */
    private void pool(String kernel, long first, long second, long mask, int B, int T, int C) {
        boolean forward = kernel.endsWith("forward");
        for (int b0 = 0; b0 < B; b0 += MAX_GRID_Y) {
            int nb = Math.min(MAX_GRID_Y, B - b0);
            long seqBytes = (long) T * C * Float.BYTES, rowBytes = (long) C * Float.BYTES;
            // forward: first = out [B, C], second = inp [B, T, C]; backward: first = dinp [B, T, C], second = dout
            long a = first + b0 * (forward ? rowBytes : seqBytes), b = second + b0 * (forward ? seqBytes : rowBytes);
            module.launch(kernel, (C + THREADS - 1) / THREADS, nb, 1, THREADS, 1, 1, 0, a, b,
                    mask + (long) b0 * T * Integer.BYTES, nb, T, C);
        }
    }

    @Override
    public void clsPoolForward(Buffer out, Buffer inp, int B, int T, int C) {
        String op = "clsPoolForward";
        KernelArgs.dims(op, "B, T, C", B, T, C);
        long o = floats(op, "out", out, (long) B * C, shape("B, C", B, C));
        long i = floats(op, "inp", inp, (long) B * T * C, shape("B, T, C", B, T, C));
        elementwise("eva4j_cls_pool", (long) B * C, o, i, B, T, C, 0);
    }

    @Override
    public void clsPoolBackward(Buffer dinp, Buffer dout, int B, int T, int C) {
        String op = "clsPoolBackward";
        KernelArgs.dims(op, "B, T, C", B, T, C);
        long di = optionalFloats(op, "dinp", dinp, (long) B * T * C, shape("B, T, C", B, T, C));
        long d = floats(op, "dout", dout, (long) B * C, shape("B, C", B, C));
        if (di != 0) elementwise("eva4j_cls_pool", (long) B * C, d, di, B, T, C, 1);
    }

    // ------------------------------------------------------------------------------------------------ optimiser

    @Override
    public void adamw(Buffer params, Buffer grads, Buffer m, Buffer v, long n, float lr, float beta1, float beta2,
                      float eps, float weightDecay, int step) {
        String op = "adamw";
        length(op, n);
        KernelArgs.check(step >= 1, op, "step must be >= 1, got " + step);
        String s = "[n=" + n + "]";
        long p = floats(op, "params", params, n, s), g = floats(op, "grads", grads, n, s);
        long sm = floats(op, "m", m, n, s), sv = floats(op, "v", v, n, s);
        double b1 = beta1, b2 = beta2, decay = 1 - (double) lr * weightDecay;
        double stepSize = lr / (1 - Math.pow(b1, step)), bc2Sqrt = Math.sqrt(1 - Math.pow(b2, step));
        elementwise("eva4j_adamw", n, p, g, sm, sv, n, b1, b2, (double) eps, decay, stepSize, bc2Sqrt);
    }

    @Override
    public double norm(Buffer grads, long n) {
        length("norm", n);
        long g = floats("norm", "grads", grads, n, "[n=" + n + "]");
        if (n == 0) return 0;
        int parts = (int) Math.min(1024, (n + THREADS - 1) / THREADS);
        long partial = scratch((parts + 1L) * Double.BYTES), total = partial + (long) parts * Double.BYTES;
        module.launch("eva4j_sumsq_partials", parts, 1, 1, THREADS, 1, 1, 0, partial, g, n);
        module.launch("eva4j_sum_d", 1, 1, 1, THREADS, 1, 1, 0, total, partial, parts);
        return Math.sqrt(downloadDouble(total));
    }

    /** Frees the scratch memory (buffers are freed by their own close). */
    public void close() {
        if (scratch != null) scratch.close();
        scratch = null;
    }
}
