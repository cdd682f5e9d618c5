package dev.eva4j.cuda;

import dev.eva4j.cuda.svd.CudaSvdBackend;
import dev.eva4j.spi.SvdBackend;
import java.lang.foreign.Arena;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The cuda SVD backend and the compute backend's host linear algebra run end to end on the fake NVIDIA library
 * (its GEMM, gesvdj and syevd compute on the host): the Java side's bookkeeping (row-major/column-major, which
 * vectors are read from which output, uploads and downloads, the orthonormalisation) against planted spectra.
 */
class FakeLibrarySvdTest {
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

    @Test
    void everyModeFindsThePlantedTopK() {
        CudaSvdBackend svd = new CudaSvdBackend(ctx);
        for (int[] shape : new int[][] {{40, 24}, {24, 40}}) {
            SvdChecks.Planted pl = SvdChecks.planted(arena, 7, shape[0], shape[1]);
            SvdChecks.checkTopK(svd, SvdBackend.Mode.EXACT, pl, 5, 1e-4, 1e-6, arena);
            SvdChecks.checkTopK(svd, SvdBackend.Mode.LOWRANK, pl, 5, 1e-4, 1e-5, arena);
            SvdChecks.checkTopK(svd, SvdBackend.Mode.WARM, pl, 5, 1e-3, 1e-3, arena);
        }
    }

    @Test
    void hostLinearAlgebraSlowPaths() {
        CudaBackend b = new CudaBackend(ctx);
        SvdChecks.checkSgemm(b, 1e-6, arena);
        SvdChecks.checkHostLapack(b, arena);
    }
}
