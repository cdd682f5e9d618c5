package dev.eva4j.cuda;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eva4j.spi.ComputeBackend;
import dev.eva4j.spi.Transpose;
import java.lang.foreign.MemorySegment;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;

class CudaBackendTest {
    @Test
    void isDiscoveredAndNeverClaimsToWorkWithoutOperations() {
        ComputeBackend cuda = ServiceLoader.load(ComputeBackend.class).stream().map(ServiceLoader.Provider::get)
                .filter(p -> p.name().equals("cuda")).findFirst().orElseThrow();
        assertFalse(cuda.isAvailable());
        String reason = cuda.unavailableReason();
        assertTrue(reason.contains("libcuda") || reason.contains("CUDA"), reason);
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class, () -> cuda.sgemm(
                Transpose.NO, Transpose.NO, 1, 1, 1, 1f, MemorySegment.NULL, 1, MemorySegment.NULL, 1, 0f,
                MemorySegment.NULL, 1));
        assertTrue(e.getMessage().contains(reason), e.getMessage());
    }
}
