package dev.eva4j.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eva4j.spi.Transpose;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Status names and messages, and the argument checks that run before any native call (no library needed). */
class StatusAndArgumentTest {

    static void rejects(String fragment, Executable e) {
        IllegalArgumentException x = assertThrows(IllegalArgumentException.class, e);
        assertTrue(x.getMessage().contains(fragment), "'" + x.getMessage() + "' should mention '" + fragment + "'");
    }

    @Test
    void statusNames() {
        assertEquals("CUDA_ERROR_OUT_OF_MEMORY", CudaStatus.resultName(2));
        assertEquals("CUDA_ERROR_NO_DEVICE", CudaStatus.resultName(100));
        assertEquals("CUDA_ERROR_NO_BINARY_FOR_GPU", CudaStatus.resultName(209));
        assertEquals("CUDA_ERROR_ILLEGAL_ADDRESS", CudaStatus.resultName(700));
        assertEquals("CUDA_ERROR_LAUNCH_FAILED", CudaStatus.resultName(719));
        assertEquals("CUresult 12345", CudaStatus.resultName(12345));
        assertEquals("CUBLAS_STATUS_INVALID_VALUE", CudaStatus.cublasStatusName(7));
        assertEquals("CUBLAS_STATUS_EXECUTION_FAILED", CudaStatus.cublasStatusName(13));
        assertEquals("CUBLAS_STATUS_NOT_SUPPORTED", CudaStatus.cublasStatusName(15));
        assertEquals("cublasStatus 99", CudaStatus.cublasStatusName(99));
        assertEquals("CUSOLVER_STATUS_INVALID_VALUE", CudaStatus.cusolverStatusName(3));
        assertEquals("CUSOLVER_STATUS_EXECUTION_FAILED", CudaStatus.cusolverStatusName(6));
        assertEquals("CUSOLVER_STATUS_NOT_SUPPORTED", CudaStatus.cusolverStatusName(9));
    }

    @Test
    void exceptionsNameLibraryCallStatusAndText() {
        CudaException b = CudaStatus.cublas("cublasSgemm_v2", 7, "an invalid value was used as an argument");
        assertEquals("cuBLAS call cublasSgemm_v2 failed: CUBLAS_STATUS_INVALID_VALUE (7): an invalid value was used "
                + "as an argument", b.getMessage());
        assertEquals("cublasSgemm_v2", b.call());
        assertEquals(7, b.status());
        CudaException s = CudaStatus.cusolver("cusolverDnSsyevd", 3);
        assertTrue(s.getMessage().startsWith("cuSOLVER call cusolverDnSsyevd failed: CUSOLVER_STATUS_INVALID_VALUE (3)"),
                s.getMessage());
        CusolverInfoException i = new CusolverInfoException("cusolverDnSgesvdj", 5);
        assertEquals(5, i.info());
        assertTrue(i.getMessage().contains("cusolverDnSgesvdj") && i.getMessage().contains("did not converge"));
        assertTrue(new CusolverInfoException("cusolverDnSgeqrf", -4).getMessage().contains("parameter 4"));
        CudaException d = new CudaException("cuInit", 100, "CUDA_ERROR_NO_DEVICE", "no CUDA-capable device is detected");
        assertEquals("CUDA driver call cuInit failed: CUDA_ERROR_NO_DEVICE (100): no CUDA-capable device is detected",
                d.getMessage());
    }

    @Test
    void gemmChecks() {
        rejects("m, n and k", () -> Cublas.checkGemm(0, 0, -1, 2, 2, 1, 1, 1, 2, 1, 1));
        rejects("lda", () -> Cublas.checkGemm(0, 0, 4, 2, 3, 1, 3, 1, 3, 1, 4));   // A m x k: lda >= m
        rejects("lda", () -> Cublas.checkGemm(1, 0, 4, 2, 3, 1, 2, 1, 3, 1, 4));   // A^T stored k x m: lda >= k
        rejects("ldb", () -> Cublas.checkGemm(0, 1, 4, 2, 3, 1, 4, 1, 1, 1, 4));   // B^T stored n x k: ldb >= n
        rejects("ldc", () -> Cublas.checkGemm(0, 0, 4, 2, 3, 1, 4, 1, 3, 1, 3));
        rejects("A is a null", () -> Cublas.checkGemm(0, 0, 4, 2, 3, 0, 4, 1, 3, 1, 4));
        rejects("C is a null", () -> Cublas.checkGemm(0, 0, 4, 2, 3, 1, 4, 1, 3, 0, 4));
        rejects("transa", () -> Cublas.checkGemm(2, 0, 4, 2, 3, 1, 4, 1, 3, 1, 4));
        Cublas.checkGemm(0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 1); // empty: null pointers allowed
        rejects("overlap", () -> Cublas.checkBatch(0, 0, 3, 2, 4, 2, 4));
        rejects("batch count", () -> Cublas.checkBatch(0, 0, 8, -1, 4, 2, 4));
        rejects("CUDA_R_32F", () -> Cublas.checkTypes(1, 0, 0, Cublas.COMPUTE_32F));
        rejects("compute type", () -> Cublas.checkTypes(0, 0, 0, 70));
        rejects("FAST_TF32 takes CUDA_R_32F", () -> Cublas.checkTypes(Cublas.CUDA_R_16BF, 0, 0, Cublas.COMPUTE_32F_FAST_TF32));
        Cublas.checkTypes(Cublas.CUDA_R_16BF, Cublas.CUDA_R_16BF, Cublas.CUDA_R_32F, Cublas.COMPUTE_32F);
    }

    @Test
    void solverChecks() {
        rejects("n must be", () -> Cusolver.checkSquare(-1, 1, 1, 1));
        rejects("lda", () -> Cusolver.checkSquare(4, 1, 3, 1));
        rejects("A is a null", () -> Cusolver.checkSquare(4, 0, 4, 1));
        rejects("jobz", () -> Cusolver.checkJobz(2));
        rejects("uplo", () -> Cusolver.checkUplo(2));
        rejects("orgqr needs n <= m", () -> Cusolver.checkOrgqr(3, 4, 2, 1, 3, 1));
        rejects("k must be", () -> Cusolver.checkOrgqr(5, 4, 5, 1, 5, 1));
        rejects("ldu", () -> Cusolver.checkGesvdj(6, 4, 1, 6, 1, 1, 5, 1, 4));
        rejects("ldv", () -> Cusolver.checkGesvdj(6, 4, 1, 6, 1, 1, 6, 1, 3));
    }

    @Test
    void launchChecksAndKernelParameterLayout() {
        rejects("kernel function is null", () -> CudaDriver.checkLaunch(0, 1, 1, 1, 1, 1, 1, 0));
        rejects("grid dimensions", () -> CudaDriver.checkLaunch(1, 0, 1, 1, 1, 1, 1, 0));
        rejects("at most 1024 threads", () -> CudaDriver.checkLaunch(1, 1, 1, 1, 64, 32, 1, 0));
        rejects("65535", () -> CudaDriver.checkLaunch(1, 1, 70000, 1, 1, 1, 1, 0));
        rejects("shared memory", () -> CudaDriver.checkLaunch(1, 1, 1, 1, 1, 1, 1, -1));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment p = CudaModule.kernelParams(arena, 0x1234_5678_9abcL, 7, 2.5f, 1.5, (short) 3, (byte) 4, true);
            MemorySegment[] slots = new MemorySegment[7];
            for (int i = 0; i < 7; i++) slots[i] = p.getAtIndex(ValueLayout.ADDRESS, i).reinterpret(8);
            assertEquals(0x1234_5678_9abcL, slots[0].get(ValueLayout.JAVA_LONG, 0));
            assertEquals(7, slots[1].get(ValueLayout.JAVA_INT, 0));
            assertEquals(2.5f, slots[2].get(ValueLayout.JAVA_FLOAT, 0));
            assertEquals(1.5, slots[3].get(ValueLayout.JAVA_DOUBLE, 0));
            assertEquals((short) 3, slots[4].get(ValueLayout.JAVA_SHORT, 0));
            assertEquals((byte) 4, slots[5].get(ValueLayout.JAVA_BYTE, 0));
            assertEquals((byte) 1, slots[6].get(ValueLayout.JAVA_BYTE, 0));
            assertEquals(MemorySegment.NULL, CudaModule.kernelParams(arena));
            rejects("unsupported type java.lang.String", () -> CudaModule.kernelParams(arena, "x"));
            rejects("argument 1 is null", () -> CudaModule.kernelParams(arena, 1L, null));
        }
    }

    @Test
    void hostGemmChecksNameTheOperand() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment six = arena.allocate(ValueLayout.JAVA_FLOAT, 6);
            MemorySegment four = arena.allocate(ValueLayout.JAVA_FLOAT, 4);
            CudaBackend.checkGemm(Transpose.NO, Transpose.NO, 2, 2, 3, six, 3, six, 2, four, 2, 0, 0, 0, 1);
            rejects("A holds 4 floats, needs 6", () -> CudaBackend.checkGemm(Transpose.NO, Transpose.NO, 2, 2, 3, four, 3,
                    six, 2, four, 2, 0, 0, 0, 1));
            rejects("B: leading dimension 1", () -> CudaBackend.checkGemm(Transpose.NO, Transpose.NO, 2, 2, 3, six, 3,
                    six, 1, four, 2, 0, 0, 0, 1));
            rejects("C holds", () -> CudaBackend.checkGemm(Transpose.NO, Transpose.NO, 2, 2, 3, six, 3, six, 2, four, 2,
                    0, 0, 4, 2));
            rejects("m, n and k", () -> CudaBackend.checkGemm(Transpose.NO, Transpose.NO, -2, 2, 3, six, 3, six, 2,
                    four, 2, 0, 0, 0, 1));
            assertEquals(0, CudaBackend.span(0, 5, 5));
            assertEquals(11, CudaBackend.span(3, 3, 4));
        }
    }
}
