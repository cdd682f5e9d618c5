package dev.eva4j.cpu.svd;

import static dev.eva4j.cpu.svd.SvdFixtures.F;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.eva4j.cpu.openblas.OpenBlasBackend;
import dev.eva4j.cpu.svd.SvdFixtures.Reference;
import dev.eva4j.spi.Availability;
import dev.eva4j.spi.ComputeBackend;
import dev.eva4j.spi.SvdBackend;
import dev.eva4j.spi.SvdBackend.Mode;
import dev.eva4j.spi.TopKProblem;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.reflect.Proxy;
import java.util.List;
import java.util.Locale;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class CpuSvdBackendTest {

    @Test
    void registeredAsServiceUnderItsName() {
        SvdBackend found = ServiceLoader.load(SvdBackend.class).stream().map(ServiceLoader.Provider::get)
                .filter(b -> b.name().equals("cpu")).findFirst().orElseThrow();
        assertInstanceOf(CpuSvdBackend.class, found);
        assertEquals(100, found.priority());
        assertEquals(true, found.supportsFloat64(), "ComputeSvd solves float64 problems in float64");
    }

    @Test
    void wrapsOpenBlasAndIsAvailableWhereOpenBlasIs() {
        CpuSvdBackend backend = new CpuSvdBackend();
        assertInstanceOf(OpenBlasBackend.class, backend.compute());
        assertEquals(new OpenBlasBackend().isAvailable(), backend.isAvailable());
        boolean bundled = System.getProperty("os.name").toLowerCase(Locale.ROOT).startsWith("linux")
                && System.getProperty("os.arch").equals("amd64");
        if (bundled) assertTrue(backend.isAvailable(), backend.unavailableReason());
    }

    /** An unavailable compute backend makes the SVD backend unavailable, saying which compute backend and why. */
    @Test
    void unavailableComputeMakesItUnavailableWithTheReason() {
        ComputeBackend missing = (ComputeBackend) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {ComputeBackend.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "availability" -> Availability.unavailable("libopenblas.so.0 not found");
                    case "name" -> "openblas";
                    default -> throw new AssertionError("called " + method.getName());
                });
        CpuSvdBackend backend = new CpuSvdBackend(missing);
        assertFalse(backend.isAvailable());
        assertTrue(backend.unavailableReason().contains("compute backend"), backend.unavailableReason());
        assertTrue(backend.unavailableReason().contains("libopenblas.so.0 not found"), backend.unavailableReason());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> backend.topK(List.of(), Mode.EXACT));
        assertEquals(backend.unavailableReason(), e.getMessage());
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void solvesABatch(Mode mode) {
        CpuSvdBackend backend = new CpuSvdBackend();
        assumeTrue(backend.isAvailable(), backend::unavailableReason);
        ComputeBackend blas = backend.compute();
        try (Arena arena = Arena.ofConfined()) {
            Reference r1 = SvdFixtures.planted(blas, arena, 300, 128, SvdFixtures.gappedSpectrum(128, 8), 1);
            Reference r2 = SvdFixtures.planted(blas, arena, 64, 500, SvdFixtures.gappedSpectrum(64, 4), 2);
            TopKProblem p1 = SvdFixtures.problem(arena, 300, 128, 8, r1.a(), mode == Mode.WARM
                    ? SvdFixtures.perturbedComponents(arena, r1, 8, 0.05, 3) : MemorySegment.NULL, 5);
            TopKProblem p2 = SvdFixtures.problem(arena, 64, 500, 4, r2.a(), MemorySegment.NULL, 6);
            backend.topK(List.of(p1, p2), mode);
            int[] checked = new int[1];
            List<String> f1 = SvdFixtures.compare(r1, p1, mode == Mode.WARM ? SvdFixtures.WARM_SV_TOL : SvdFixtures.SV_TOL,
                    mode == Mode.WARM ? SvdFixtures.WARM_COS_MIN : SvdFixtures.COS_MIN, checked);
            assertTrue(f1.isEmpty() && checked[0] == 8, f1::toString);
            List<String> f2 = SvdFixtures.compare(r2, p2, SvdFixtures.SV_TOL, SvdFixtures.COS_MIN, checked);
            assertTrue(f2.isEmpty() && checked[0] == 4, f2::toString);
        }
    }

    /** The TopKProblem contract allows heap segments; OpenBLAS does not take them, so they must be copied. */
    @ParameterizedTest
    @EnumSource(Mode.class)
    void heapSegmentsGiveTheSameAnswer(Mode mode) {
        CpuSvdBackend backend = new CpuSvdBackend();
        assumeTrue(backend.isAvailable(), backend::unavailableReason);
        int m = 300, n = 128, k = 8;
        try (Arena arena = Arena.ofConfined()) {
            Reference r = SvdFixtures.planted(backend.compute(), arena, m, n, SvdFixtures.gappedSpectrum(n, k), 1);
            MemorySegment warmNative = mode == Mode.WARM ? SvdFixtures.perturbedComponents(arena, r, k, 0.05, 3) : MemorySegment.NULL;
            TopKProblem onNative = SvdFixtures.problem(arena, m, n, k, r.a(), warmNative, 5);
            MemorySegment warmHeap = mode == Mode.WARM ? MemorySegment.ofArray(warmNative.toArray(F)) : MemorySegment.NULL;
            TopKProblem onHeap = new TopKProblem(m, n, k, MemorySegment.ofArray(r.a().toArray(F)),
                    MemorySegment.ofArray(new float[k]), MemorySegment.ofArray(new float[k * n]), warmHeap, 5);
            backend.topK(List.of(onNative), mode);
            backend.topK(List.of(onHeap), mode);
            assertArrayEquals(onNative.singularValues().toArray(F), onHeap.singularValues().toArray(F));
            assertArrayEquals(onNative.vt().toArray(F), onHeap.vt().toArray(F));
        }
    }
}
