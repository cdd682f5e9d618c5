package dev.eva4j.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.eva4j.cuda.svd.CudaSvdBackend;
import dev.eva4j.spi.Availability;
import dev.eva4j.spi.SvdBackend;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The bindings on a real GPU with NVIDIA's libraries: cuBLAS against a float64 reference (fp32 1e-5, TF32 2e-3,
 * BF16 1e-2 relative to the sum of |products|), the cuda SVD backend against planted spectra, the host linear
 * algebra, a PTX kernel launched through {@link CudaModule}, and an error status from the driver. Skipped, with the
 * reason, where CUDA cannot work (no driver, no device, or a library missing).
 */
class CudaGpuTest {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
    private CudaContext ctx;
    private Arena arena;

    private static Availability gpu;

    @BeforeAll
    static void probe() {
        gpu = CudaRuntime.probe(CudaLibraries.system(), CudaLibraries.Library.CUBLAS, CudaLibraries.Library.CUSOLVER);
    }

    @BeforeEach
    void open() {
        assumeTrue(gpu.available(), () -> "no usable GPU here: " + gpu.reason());
        ctx = CudaRuntime.context();
        arena = Arena.ofConfined();
    }

    @AfterEach
    void close() {
        if (arena != null) arena.close();
        if (ctx != null) ctx.synchronize();
    }

    @Test
    void hostSgemmMatchesTheReferenceInFp32() {
        SvdChecks.checkSgemm(new CudaBackend(ctx), 1e-5, arena);
    }

    private float[] gemmEx(float[] a, float[] b, int m, int n, int k, int type, int compute) {
        int e = type == Cublas.CUDA_R_16BF ? 2 : 4;
        MemorySegment ha = arena.allocate((long) a.length * e), hb = arena.allocate((long) b.length * e);
        for (int i = 0; i < a.length; i++) {
            if (e == 2) ha.setAtIndex(ValueLayout.JAVA_SHORT, i, bf16(a[i]));
            else ha.setAtIndex(F, i, a[i]);
        }
        for (int i = 0; i < b.length; i++) {
            if (e == 2) hb.setAtIndex(ValueLayout.JAVA_SHORT, i, bf16(b[i]));
            else hb.setAtIndex(F, i, b[i]);
        }
        MemorySegment hc = arena.allocate(F, (long) m * n);
        try (DeviceMemory da = ctx.allocate(ha.byteSize()); DeviceMemory db = ctx.allocate(hb.byteSize());
             DeviceMemory dc = ctx.allocate(hc.byteSize())) {
            da.copyFrom(ha);
            db.copyFrom(hb);
            ctx.cublas().gemmExRowMajor(false, false, m, n, k, 1f, da.address(), type, k, db.address(), type, n, 0f,
                    dc.address(), Cublas.CUDA_R_32F, n, compute);
            dc.copyTo(hc);
        }
        return hc.toArray(F);
    }

    /** Round to nearest even bfloat16. */
    static short bf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        bits += 0x7fff + ((bits >>> 16) & 1);
        return (short) (bits >>> 16);
    }

    @Test
    void tf32AndBf16GemmExWithinTheirTolerances() {
        SplittableRandom r = new SplittableRandom(12);
        int m = 96, n = 80, k = 256;
        float[] a = SvdChecks.rnd(r, m * k), b = SvdChecks.rnd(r, k * n);
        float[] tf32 = gemmEx(a, b, m, n, k, Cublas.CUDA_R_32F, Cublas.COMPUTE_32F_FAST_TF32);
        float[] bf = gemmEx(a, b, m, n, k, Cublas.CUDA_R_16BF, Cublas.COMPUTE_32F);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double want = 0, mag = 0;
                for (int l = 0; l < k; l++) {
                    want += (double) a[i * k + l] * b[l * n + j];
                    mag += Math.abs((double) a[i * k + l] * b[l * n + j]);
                }
                assertEquals(want, tf32[i * n + j], 2e-3 * mag, "TF32 (" + i + "," + j + ")");
                assertEquals(want, bf[i * n + j], 1e-2 * mag, "BF16 (" + i + "," + j + ")");
            }
        }
    }

    @Test
    void svdBackendFindsThePlantedTopK() {
        CudaSvdBackend svd = new CudaSvdBackend(ctx);
        for (int[] shape : new int[][] {{512, 256}, {256, 512}}) {
            SvdChecks.Planted pl = SvdChecks.planted(arena, 13, shape[0], shape[1]);
            SvdChecks.checkTopK(svd, SvdBackend.Mode.EXACT, pl, 16, 1e-4, 1e-5, arena);
            SvdChecks.checkTopK(svd, SvdBackend.Mode.LOWRANK, pl, 16, 1e-4, 1e-5, arena);
            SvdChecks.checkTopK(svd, SvdBackend.Mode.WARM, pl, 16, 1e-3, 1e-3, arena);
        }
    }

    @Test
    void hostLinearAlgebra() {
        SvdChecks.checkHostLapack(new CudaBackend(ctx), arena);
    }

    @Test
    void ptxKernelThroughCudaModule() throws IOException {
        byte[] ptx;
        try (InputStream in = CudaGpuTest.class.getResourceAsStream("axpy_test.ptx")) {
            ptx = in.readAllBytes();
        }
        int n = 1000;
        float[] x = SvdChecks.rnd(new SplittableRandom(14), n), y = SvdChecks.rnd(new SplittableRandom(15), n);
        MemorySegment hy = arena.allocateFrom(F, y);
        try (CudaModule mod = CudaModule.load(ctx, ptx); DeviceMemory dx = ctx.allocate(4L * n);
             DeviceMemory dy = ctx.allocate(4L * n)) {
            dx.copyFrom(arena.allocateFrom(F, x));
            dy.copyFrom(hy);
            mod.launch("axpy_f32", (n + 255) / 256, 1, 1, 256, 1, 1, 0, dy, dx, n, 0.25f);
            ctx.synchronize();
            dy.copyTo(hy);
        }
        for (int i = 0; i < n; i++) assertEquals(y[i] + 0.25f * x[i], hy.getAtIndex(F, i), 1e-6f);
    }

    @Test
    void driverErrorsCarryTheDriversText() {
        CudaException e = assertThrows(CudaException.class, () -> ctx.allocate(1L << 50));
        assertEquals("cuMemAlloc_v2", e.call());
        assertTrue(e.getMessage().contains("CUDA_ERROR_OUT_OF_MEMORY"), e.getMessage());
        CudaException img = assertThrows(CudaException.class, () -> CudaModule.load(ctx, new byte[] {1, 2, 3, 4}));
        assertTrue(img.getMessage().contains("cuModuleLoadData"), img.getMessage());
    }

    @Test
    void contextWorksFromAnotherThread() throws Exception {
        Throwable[] failure = new Throwable[1];
        Thread t = new Thread(() -> {
            try (DeviceMemory d = ctx.allocate(1024)) {
                d.zero();
                ctx.synchronize();
            } catch (Throwable x) {
                failure[0] = x;
            }
        });
        t.start();
        t.join();
        assertEquals(null, failure[0]);
    }
}
