package dev.eva4j.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eva4j.cuda.CudaLibraries.Library;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The FFM bindings against the fake NVIDIA libraries (src/test/c/fakecuda.c, host memory as "device" memory): every
 * handle's Java call site matches its descriptor (a mismatch throws at the first call), arguments arrive in the C
 * positions the bindings declare, statuses become the promised exceptions, and the row-major helpers compute what
 * they say. What this cannot check is NVIDIA's side (the real libraries' behaviour): the GPU tests do that.
 */
class FakeLibraryBindingTest {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
    private CudaContext ctx;
    private Arena arena;

    @BeforeEach
    void open() {
        ctx = FakeCuda.context();
        arena = Arena.ofConfined();
    }

    @AfterEach
    void close() {
        arena.close();
        if (ctx != null) ctx.close();
    }

    private MemorySegment random(SplittableRandom r, int n) {
        MemorySegment s = arena.allocate(F, n);
        for (int i = 0; i < n; i++) s.setAtIndex(F, i, (float) (r.nextDouble() * 2 - 1));
        return s;
    }

    private DeviceMemory dev(MemorySegment host) {
        DeviceMemory d = ctx.allocate(host.byteSize());
        d.copyFrom(host);
        return d;
    }

    private float[] back(DeviceMemory d, int n) {
        MemorySegment h = arena.allocate(F, n);
        d.copyTo(h);
        return h.toArray(F);
    }

    @Test
    void driverBasicsAndMemoryRoundTrip() {
        CudaDriver drv = ctx.driver();
        assertEquals(13000, drv.driverVersion());
        assertEquals(1, drv.deviceCount());
        assertEquals("Fake CUDA device", ctx.deviceName());
        assertEquals(90, ctx.computeCapability());
        assertEquals(1L << 30, drv.deviceTotalMem(ctx.device()));
        MemorySegment h = random(new SplittableRandom(1), 100);
        try (DeviceMemory d = dev(h)) {
            assertArrayEquals(h.toArray(F), back(d, 100));
            d.zero();
            assertArrayEquals(new float[100], back(d, 100));
            drv.memsetD32(d.address(), Float.floatToRawIntBits(2.5f), 10);
            assertEquals(2.5f, back(d, 100)[9]);
            assertEquals(0f, back(d, 100)[10]);
        }
        try (PinnedHostMemory p = ctx.allocateHost(64); CudaEvent a = ctx.event(); CudaEvent b = ctx.event()) {
            assertEquals(64, p.segment().byteSize());
            a.record();
            b.record();
            assertEquals(1.5f, b.elapsedSince(a));
        }
    }

    @Test
    void driverErrorsNameTheCallAndTheDriversText() {
        CudaException e = assertThrows(CudaException.class, () -> ctx.allocate(1L << 41));
        assertEquals("cuMemAlloc_v2", e.call());
        assertEquals(2, e.status());
        assertTrue(e.getMessage().contains("CUDA_ERROR_OUT_OF_MEMORY") && e.getMessage().contains("out of memory"),
                e.getMessage());
    }

    @Test
    void contextIsBoundOnEveryThread() throws Exception {
        long[] seen = new long[1];
        Thread t = new Thread(() -> {
            try (DeviceMemory d = ctx.allocate(16)) { // fails with CUDA_ERROR_INVALID_CONTEXT when not bound
                seen[0] = ctx.driver().ctxGetCurrent();
            }
        });
        t.start();
        t.join();
        assertEquals(ctx.handle(), seen[0]);
    }

    @Test
    void moduleLaunchPassesEachArgumentAtItsSize() {
        byte[] image = "FAKEMOD fatbin".getBytes(StandardCharsets.US_ASCII);
        MemorySegment x = random(new SplittableRandom(2), 33);
        MemorySegment y = random(new SplittableRandom(3), 33);
        try (CudaModule mod = CudaModule.load(ctx, image); DeviceMemory dx = dev(x); DeviceMemory dy = dev(y)) {
            mod.launch("axpy_f32", 2, 1, 1, 32, 1, 1, 0, dy, dx.address(), 33, 0.5f);
            float[] got = back(dy, 33);
            for (int i = 0; i < 33; i++) assertEquals(y.getAtIndex(F, i) + 0.5f * x.getAtIndex(F, i), got[i], 1e-6f);
            assertEquals(2, FakeCuda.lastArg(ctx.libraries(), Library.DRIVER, 0)); // gridX
            assertEquals(32, FakeCuda.lastArg(ctx.libraries(), Library.DRIVER, 3)); // blockX
            assertEquals(ctx.stream(), FakeCuda.lastArg(ctx.libraries(), Library.DRIVER, 7));
            assertEquals(0, FakeCuda.lastArg(ctx.libraries(), Library.DRIVER, 8)); // extra == NULL
            CudaException e = assertThrows(CudaException.class, () -> mod.function("no_such_kernel"));
            assertTrue(e.getMessage().contains("CUDA_ERROR_NOT_FOUND") && e.getMessage().contains("no_such_kernel"),
                    e.getMessage());
        }
        CudaException bad = assertThrows(CudaException.class, () -> CudaModule.load(ctx, new byte[] {1, 2, 3}));
        assertTrue(bad.getMessage().contains("CUDA_ERROR_INVALID_IMAGE"), bad.getMessage());
    }

    /** Row-major reference: C = alpha op(A) op(B) + beta C. */
    static float[] reference(boolean ta, boolean tb, int m, int n, int k, float alpha, float[] a, int lda, float[] b,
                             int ldb, float beta, float[] c, int ldc) {
        float[] out = c.clone();
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int l = 0; l < k; l++) {
                    double av = ta ? a[l * lda + i] : a[i * lda + l];
                    double bv = tb ? b[j * ldb + l] : b[l * ldb + j];
                    s += av * bv;
                }
                out[i * ldc + j] = (float) (alpha * s + beta * c[i * ldc + j]);
            }
        }
        return out;
    }

    @Test
    void rowMajorSgemmMatchesTheReferenceForEveryTransposition() {
        SplittableRandom r = new SplittableRandom(4);
        int m = 5, n = 7, k = 3;
        Cublas blas = ctx.cublas();
        for (boolean ta : new boolean[] {false, true}) {
            for (boolean tb : new boolean[] {false, true}) {
                int lda = (ta ? m : k) + 2, ldb = (tb ? k : n) + 1, ldc = n + 3;
                MemorySegment a = random(r, (ta ? k : m) * lda), b = random(r, (tb ? n : k) * ldb), c = random(r, m * ldc);
                float[] want = reference(ta, tb, m, n, k, 0.75f, a.toArray(F), lda, b.toArray(F), ldb, -0.5f,
                        c.toArray(F), ldc);
                try (DeviceMemory da = dev(a); DeviceMemory db = dev(b); DeviceMemory dc = dev(c)) {
                    blas.sgemmRowMajor(ta, tb, m, n, k, 0.75f, da.address(), lda, db.address(), ldb, -0.5f,
                            dc.address(), ldc);
                    assertArrayEquals(want, back(dc, m * ldc), 1e-5f, "ta=" + ta + " tb=" + tb);
                }
                assertEquals(Cublas.op(tb), FakeCuda.lastArg(ctx.libraries(), Library.CUBLAS, 0)); // swapped
                assertEquals(n, FakeCuda.lastArg(ctx.libraries(), Library.CUBLAS, 2));
            }
        }
    }

    @Test
    void stridedBatchedAndGemmExReachTheirArguments() {
        SplittableRandom r = new SplittableRandom(5);
        int m = 4, n = 3, k = 6, batch = 3;
        Cublas blas = ctx.cublas();
        MemorySegment a = random(r, batch * m * k), b = random(r, batch * k * n), c = arena.allocate(F, batch * m * n);
        try (DeviceMemory da = dev(a); DeviceMemory db = dev(b); DeviceMemory dc = dev(c)) {
            blas.sgemmStridedBatchedRowMajor(false, false, m, n, k, 1f, da.address(), k, (long) m * k, db.address(), n,
                    (long) k * n, 0f, dc.address(), n, (long) m * n, batch);
            float[] got = back(dc, batch * m * n);
            float[] af = a.toArray(F), bf = b.toArray(F);
            for (int i = 0; i < batch; i++) {
                float[] ai = java.util.Arrays.copyOfRange(af, i * m * k, (i + 1) * m * k);
                float[] bi = java.util.Arrays.copyOfRange(bf, i * k * n, (i + 1) * k * n);
                float[] want = reference(false, false, m, n, k, 1f, ai, k, bi, n, 0f, new float[m * n], n);
                assertArrayEquals(want, java.util.Arrays.copyOfRange(got, i * m * n, (i + 1) * m * n), 1e-5f);
            }
            assertEquals(batch, FakeCuda.lastArg(ctx.libraries(), Library.CUBLAS, 11));
            blas.gemmExRowMajor(false, false, m, n, k, 1f, da.address(), Cublas.CUDA_R_32F, k, db.address(),
                    Cublas.CUDA_R_32F, n, 0f, dc.address(), Cublas.CUDA_R_32F, n, Cublas.COMPUTE_32F_FAST_TF32);
            assertEquals("cublasGemmEx", FakeCuda.lastCall(ctx.libraries(), Library.CUBLAS));
            assertEquals(77, FakeCuda.lastArg(ctx.libraries(), Library.CUBLAS, 11));
            assertEquals(-1, FakeCuda.lastArg(ctx.libraries(), Library.CUBLAS, 12));
            float[] want = reference(false, false, m, n, k, 1f, af, k, bf, n, 0f, new float[m * n], n);
            assertArrayEquals(want, java.util.Arrays.copyOf(back(dc, m * n), m * n), 1e-5f);
        }
    }

    @Test
    void bf16GemmExWidensItsInputs() {
        int m = 2, n = 2, k = 3;
        short[] a = {bf16(1f), bf16(2f), bf16(-1f), bf16(0.5f), bf16(0f), bf16(4f)}; // 2 x 3 row-major
        short[] b = {bf16(1f), bf16(0f), bf16(0f), bf16(1f), bf16(2f), bf16(3f)};   // 3 x 2 row-major
        MemorySegment ha = arena.allocateFrom(ValueLayout.JAVA_SHORT, a);
        MemorySegment hb = arena.allocateFrom(ValueLayout.JAVA_SHORT, b);
        try (DeviceMemory da = dev(ha); DeviceMemory db = dev(hb); DeviceMemory dc = ctx.allocate(16)) {
            ctx.cublas().gemmExRowMajor(false, false, m, n, k, 1f, da.address(), Cublas.CUDA_R_16BF, k, db.address(),
                    Cublas.CUDA_R_16BF, n, 0f, dc.address(), Cublas.CUDA_R_32F, n, Cublas.COMPUTE_32F);
            assertArrayEquals(new float[] {-1f, -1f, 8.5f, 12f}, back(dc, 4), 0f);
            assertEquals(14, FakeCuda.lastArg(ctx.libraries(), Library.CUBLAS, 5));
            assertEquals(68, FakeCuda.lastArg(ctx.libraries(), Library.CUBLAS, 11));
        }
    }

    static short bf16(float f) {
        return (short) (Float.floatToRawIntBits(f) >>> 16);
    }

    @Test
    void transposeAndCublasErrors() {
        MemorySegment a = random(new SplittableRandom(6), 12); // 3 x 4
        try (DeviceMemory da = dev(a); DeviceMemory dt = ctx.allocate(48)) {
            ctx.cublas().transposeRowMajor(3, 4, da.address(), dt.address());
            float[] t = back(dt, 12);
            for (int i = 0; i < 3; i++) for (int j = 0; j < 4; j++) assertEquals(a.getAtIndex(F, i * 4 + j), t[j * 3 + i]);
        }
        CudaException e = assertThrows(CudaException.class, () -> ctx.cublas().setMathMode(5));
        assertTrue(e.getMessage().contains("cublasSetMathMode") && e.getMessage().contains("CUBLAS_STATUS_INVALID_VALUE")
                && e.getMessage().contains("an invalid value was used"), e.getMessage());
        assertEquals(130000, ctx.cublas().version());
    }

    @Test
    void cusolverCallsAndDevInfo() {
        Cusolver s = ctx.cusolver();
        // symmetric 3 x 3 with known eigenvalues 1, 2, 4
        double[] sym = {2, 1, 0, 1, 2, 0, 0, 0, 4}; // eigenvalues 1, 3, 4
        MemorySegment h = arena.allocateFrom(ValueLayout.JAVA_DOUBLE, sym);
        try (DeviceMemory a = dev(h); DeviceMemory w = ctx.allocate(24)) {
            s.dsyevd(Cusolver.EIG_MODE_VECTOR, Cusolver.FILL_MODE_LOWER, 3, a.address(), 3, w.address());
            MemorySegment hw = arena.allocate(ValueLayout.JAVA_DOUBLE, 3);
            w.copyTo(hw);
            assertArrayEquals(new double[] {1, 3, 4}, hw.toArray(ValueLayout.JAVA_DOUBLE), 1e-12);
        }
        try (DeviceMemory a = ctx.allocate(4 * 7 * 3); DeviceMemory tau = ctx.allocate(12)) {
            CusolverInfoException e = assertThrows(CusolverInfoException.class,
                    () -> s.sorgqr(7, 3, 3, a.address(), 7, tau.address()));
            assertEquals(3, e.info());
            assertTrue(e.getMessage().contains("cusolverDnSorgqr") && e.getMessage().contains("info=3"), e.getMessage());
            s.sgeqrf(7, 3, a.address(), 7, tau.address());
            assertEquals(7, FakeCuda.lastArg(ctx.libraries(), Library.CUSOLVER, 0));
            assertEquals(3, FakeCuda.lastArg(ctx.libraries(), Library.CUSOLVER, 3)); // lwork = n from the fake
        }
        try (DeviceMemory a = ctx.allocate(4 * 50 * 10); DeviceMemory sv = ctx.allocate(40);
             DeviceMemory v = ctx.allocate(4 * 10 * 10)) {
            s.sgesvdrRight(50, 10, 3, 2, 2, a.address(), 50, sv.address(), v.address(), 10);
            long[] want = {'N', 'S', 50, 10, 3, 2, 2, 0, 50, 0, 0, 50, 0, 10, 0, 128, 32};
            for (int i = 0; i < want.length; i++) {
                assertEquals(want[i], FakeCuda.lastArg(ctx.libraries(), Library.CUSOLVER, i), "Xgesvdr argument " + i);
            }
            s.xgesvd(Cublas.CUDA_R_32F, 50, 10, a.address(), 50, sv.address(), a.address(), 50, v.address(), 10);
            long[] wantSvd = {'S', 'S', 50, 10, 0, 50, 0, 0, 50, 0, 10, 0, 64, 16};
            for (int i = 0; i < wantSvd.length; i++) {
                assertEquals(wantSvd[i], FakeCuda.lastArg(ctx.libraries(), Library.CUSOLVER, i), "Xgesvd argument " + i);
            }
        }
    }
}
