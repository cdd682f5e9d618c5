package dev.eva4j.cpu.java;

import dev.eva4j.api.kernels.HostGemm;
import dev.eva4j.api.kernels.HostKernels;
import dev.eva4j.cpu.HostArgs;
import dev.eva4j.spi.Availability;
import dev.eva4j.spi.Capability;
import dev.eva4j.spi.ComputeBackend;
import dev.eva4j.spi.Kernels;
import dev.eva4j.spi.Transpose;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Set;

/**
 * The pure-Java backend, used when no native BLAS loads: GEMM on the Vector API (packed panels, a 6 x 2-vector
 * micro-kernel, threads over bands of C), SVD by one-sided Jacobi and symmetric eigen by Householder + implicit QL,
 * both in float64.
 */
public final class JavaBackend implements ComputeBackend {
    /** Products with fewer multiply-adds than this take the simple loop: packing would cost more than it saves. */
    static final long SMALL_GEMM = 24L * 24 * 24;
    private static final Set<Capability> CAPABILITIES = Set.of(Capability.HOST_MEMORY);

    private volatile int threads = Math.max(1, Runtime.getRuntime().availableProcessors());
    private volatile Availability availability;
    private volatile HostKernels kernels;

    public JavaBackend() {}

    @Override
    public String name() {
        return "java";
    }

    @Override
    public int priority() {
        return 10;
    }

    @Override
    public String description() {
        return "pure Java (Vector API) GEMM, Jacobi SVD, Householder/QL eigen";
    }

    @Override
    public Availability availability() {
        Availability a = availability;
        if (a == null) availability = a = probe();
        return a;
    }

    /** Available whenever jdk.incubator.vector is in the boot layer (the launcher adds it). */
    private static Availability probe() {
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            return Availability.unavailable("module jdk.incubator.vector is not loaded: start the JVM with "
                    + "--add-modules jdk.incubator.vector");
        }
        return Availability.ok("Vector API " + GemmKernel.SPECIES + ", micro-kernel " + GemmKernel.MR + " x "
                + GemmKernel.NR);
    }

    // ---- GEMM -------------------------------------------------------------------------------------------------

    @Override
    public void sgemm(Transpose transA, Transpose transB, int m, int n, int k, float alpha, MemorySegment a, int lda,
                      MemorySegment b, int ldb, float beta, MemorySegment c, int ldc) {
        sgemmStridedBatched(transA, transB, m, n, k, alpha, a, lda, 0, b, ldb, 0, beta, c, ldc, 0, 1);
    }

    @Override
    public void sgemmStridedBatched(Transpose transA, Transpose transB, int m, int n, int k, float alpha,
                                    MemorySegment a, int lda, long strideA, MemorySegment b, int ldb, long strideB,
                                    float beta, MemorySegment c, int ldc, long strideC, int batch) {
        String op = batch == 1 && strideA == 0 && strideB == 0 && strideC == 0 ? "sgemm" : "sgemmStridedBatched";
        HostArgs.gemm(op, transA, transB, m, n, k, a, lda, strideA, b, ldb, strideB, c, ldc, strideC, batch, false);
        if (batch == 0) return;
        boolean ta = transA.on(), tb = transB.on();
        Matrix ma = new Matrix(a, 0, lda, ta), mb = new Matrix(b, 0, ldb, tb);
        for (int t = 0; t < batch; t++) {
            gemm(ma.shift(t * strideA), mb.shift(t * strideB), m, n, k, alpha, beta, c, t * strideC, ldc);
        }
    }

    /** One checked GEMM: C = alpha op(A) op(B) + beta C, C from element cOff. */
    private void gemm(Matrix a, Matrix b, int m, int n, int k, float alpha, float beta, MemorySegment c, long cOff,
                      long ldc) {
        if (m == 0 || n == 0) return;
        BlockedGemm.scale(c, cOff, ldc, m, n, beta);
        if (k == 0 || alpha == 0f) return;
        if ((long) m * n * k <= SMALL_GEMM) BlockedGemm.naive(a, b, alpha, c, cOff, ldc, m, n, k);
        else BlockedGemm.multiply(a, b, alpha, c, cOff, ldc, m, n, k, threads);
    }

    // ---- SVD and symmetric eigen ------------------------------------------------------------------------------

    @Override
    public void sgesdd(int m, int n, MemorySegment a, MemorySegment s, MemorySegment u, MemorySegment vt) {
        gesdd("sgesdd", ValueLayout.JAVA_FLOAT_UNALIGNED, m, n, a, s, u, vt);
    }

    @Override
    public void dgesdd(int m, int n, MemorySegment a, MemorySegment s, MemorySegment u, MemorySegment vt) {
        gesdd("dgesdd", ValueLayout.JAVA_DOUBLE_UNALIGNED, m, n, a, s, u, vt);
    }

    private static void gesdd(String op, ValueLayout el, int m, int n, MemorySegment a, MemorySegment s,
                              MemorySegment u, MemorySegment vt) {
        HostArgs.nonNegative(op, "m", m);
        HostArgs.nonNegative(op, "n", n);
        int p = Math.min(m, n), bytes = (int) el.byteSize();
        String shape = "m=" + m + ", n=" + n;
        HostArgs.operand(op, "A", a, (long) m * n, bytes, shape, false, true);
        HostArgs.operand(op, "S", s, p, bytes, shape + ", p=" + p, false, true);
        HostArgs.operand(op, "U", u, (long) m * p, bytes, shape + ", U m x p, p=" + p, false, true);
        HostArgs.operand(op, "Vt", vt, (long) p * n, bytes, shape + ", Vt p x n, p=" + p, false, true);
        if (p == 0) return;
        JacobiSvd.Result r = JacobiSvd.decompose(m, n, Doubles.read(a, el, (long) m * n));
        Doubles.write(s, el, r.s());
        Doubles.write(u, el, r.u());
        Doubles.write(vt, el, r.vt());
    }

    @Override
    public void ssyevd(int n, MemorySegment a, MemorySegment w) {
        syevd("ssyevd", ValueLayout.JAVA_FLOAT_UNALIGNED, n, a, w);
    }

    @Override
    public void dsyevd(int n, MemorySegment a, MemorySegment w) {
        syevd("dsyevd", ValueLayout.JAVA_DOUBLE_UNALIGNED, n, a, w);
    }

    private static void syevd(String op, ValueLayout el, int n, MemorySegment a, MemorySegment w) {
        HostArgs.nonNegative(op, "n", n);
        int bytes = (int) el.byteSize();
        String shape = "n=" + n;
        HostArgs.operand(op, "A", a, (long) n * n, bytes, shape, false, true);
        HostArgs.operand(op, "W", w, n, bytes, shape, false, true);
        if (n == 0) return;
        SymmetricEigen.Result r = SymmetricEigen.decompose(n, Doubles.read(a, el, (long) n * n));
        Doubles.write(w, el, r.values());
        Doubles.write(a, el, r.vectors());
    }

    // ---- threads ----------------------------------------------------------------------------------------------

    @Override
    public int threads() {
        return threads;
    }

    @Override
    public void setThreads(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        this.threads = threads;
    }

    // ---- kernels ----------------------------------------------------------------------------------------------

    /** Every kernel in float32 on the host: GEMMs on this backend's Vector API GEMM, the rest in Java. */
    @Override
    public Kernels kernels() {
        Availability a = availability();
        if (!a.available()) throw new IllegalStateException("the java backend is unavailable: " + a.reason());
        HostKernels k = kernels;
        if (k == null) {
            synchronized (this) {
                k = kernels;
                if (k == null) kernels = k = new HostKernels(name(), HostGemm.of(this), CAPABILITIES);
            }
        }
        return k;
    }

    @Override
    public Set<Capability> capabilities() {
        return CAPABILITIES;
    }
}
