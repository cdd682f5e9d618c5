package dev.eva4j.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import dev.eva4j.spi.ComputeBackend;
import dev.eva4j.spi.SvdBackend;
import dev.eva4j.spi.Transpose;
import java.lang.foreign.MemorySegment;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;

class CudaBackendTest {
    static ComputeBackend cuda() {
        return ServiceLoader.load(ComputeBackend.class).stream().map(ServiceLoader.Provider::get)
                .filter(p -> p.name().equals("cuda")).findFirst().orElseThrow();
    }

    @Test
    void bothProvidersAreDiscovered() {
        assertEquals("cuda", cuda().name());
        SvdBackend svd = ServiceLoader.load(SvdBackend.class).stream().map(ServiceLoader.Provider::get)
                .filter(p -> p.name().equals("cuda")).findFirst().orElseThrow();
        assertEquals(200, svd.priority());
    }

    @Test
    void withoutCudaTheReasonIsActionableAndOperationsRefuse() {
        ComputeBackend cuda = cuda();
        assumeFalse(cuda.isAvailable(), "this machine can run CUDA: " + cuda.availability().reason());
        String reason = cuda.unavailableReason();
        assertTrue(reason.contains("libcuda.so.1") || reason.contains("no CUDA device") || reason.contains("not found")
                || reason.contains("kernels"), reason);
        assertThrows(IllegalStateException.class, cuda::kernels);
        if (!CudaRuntime.probe(CudaLibraries.system(), CudaLibraries.Library.CUBLAS, CudaLibraries.Library.CUSOLVER)
                .available()) {
            UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class, () -> cuda.sgemm(
                    Transpose.NO, Transpose.NO, 1, 1, 1, 1f, MemorySegment.ofArray(new float[1]), 1,
                    MemorySegment.ofArray(new float[1]), 1, 0f, MemorySegment.ofArray(new float[1]), 1));
            assertTrue(e.getMessage().contains(reason), e.getMessage());
        }
    }

    @Test
    void theMachinesLibraryReportListsEveryPlace() {
        CudaLibraries libs = CudaLibraries.system();
        String report = libs.report();
        assertTrue(report.contains("searched:") && report.contains("dynamic loader"), report);
    }
}
