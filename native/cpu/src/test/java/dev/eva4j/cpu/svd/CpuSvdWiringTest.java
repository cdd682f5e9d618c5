package dev.eva4j.cpu.svd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.inject.Guice;
import com.google.inject.Injector;
import dev.eva4j.api.providers.Eva4jModule;
import dev.eva4j.cpu.java.JavaBackend;
import dev.eva4j.cpu.svd.SvdFixtures.Reference;
import dev.eva4j.spi.Capability;
import dev.eva4j.spi.ComputeBackend;
import dev.eva4j.spi.SvdBackend;
import dev.eva4j.spi.SvdBackend.Mode;
import dev.eva4j.spi.TopKProblem;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** The cpu SVD backend follows the compute backend it is given ({@link SvdBackend#using}), alone and through Guice. */
class CpuSvdWiringTest {

    /** The pure-Java backend seen through a proxy that counts calls and may replace some of them. */
    private static ComputeBackend java(Map<String, Integer> calls, Map<String, Function<Object[], Object>> replaced) {
        JavaBackend inner = new JavaBackend();
        return (ComputeBackend) Proxy.newProxyInstance(CpuSvdWiringTest.class.getClassLoader(),
                new Class<?>[] {ComputeBackend.class}, (proxy, method, args) -> {
                    calls.merge(method.getName(), 1, Integer::sum);
                    Function<Object[], Object> r = replaced.get(method.getName());
                    if (r != null) return r.apply(args);
                    if (method.isDefault() && inner.getClass().getMethod(method.getName(), method.getParameterTypes())
                            .getDeclaringClass().isInterface()) {
                        return InvocationHandler.invokeDefault(proxy, method, args); // through the replacements
                    }
                    try {
                        return method.invoke(inner, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    @Test
    void usingAHostBackendComputesThere() {
        Map<String, Integer> calls = new ConcurrentHashMap<>();
        ComputeBackend counted = java(calls, Map.of("name", args -> "counted"));
        SvdBackend svd = new CpuSvdBackend().using(counted);
        CpuSvdBackend cpu = assertInstanceOf(CpuSvdBackend.class, svd);
        assertSame(counted, cpu.compute());
        assertTrue(cpu.description().endsWith("on the counted compute backend"), cpu.description());
        assertTrue(cpu.isAvailable(), cpu.unavailableReason());
        assertSame(cpu, cpu.using(counted), "already there");
        calls.clear();
        try (Arena arena = Arena.ofConfined()) {
            Reference r = SvdFixtures.planted(new JavaBackend(), arena, 60, 40, SvdFixtures.gappedSpectrum(40, 4), 1);
            TopKProblem p = SvdFixtures.problem(arena, 60, 40, 4, r.a(), MemorySegment.NULL, 5);
            cpu.topK(List.of(p), Mode.LOWRANK);
            int[] checked = new int[1];
            List<String> failures = SvdFixtures.compare(r, p, SvdFixtures.SV_TOL, SvdFixtures.COS_MIN, checked);
            assertTrue(failures.isEmpty() && checked[0] == 4, failures::toString);
        }
        assertTrue(calls.getOrDefault("sgemm", 0) > 0 && calls.getOrDefault("sgesdd", 0) > 0, calls::toString);
    }

    @Test
    void aBackendWithoutHostLapackIsNotFollowed() {
        ComputeBackend noLapack = java(new ConcurrentHashMap<>(), Map.of("name", args -> "naive", "sgesdd", args -> {
            throw new UnsupportedOperationException("naive: no host LAPACK (sgesdd)");
        }));
        CpuSvdBackend own = new CpuSvdBackend();
        assertSame(own, own.using(noLapack));
        String why = CpuSvdBackend.cannotRunOn(noLapack).orElseThrow();
        assertEquals("compute backend 'naive' has no host linear algebra for the SVDs (naive: no host LAPACK (sgesdd))",
                why);
    }

    @Test
    void aBackendWithoutHostMemoryIsNotFollowed() {
        ComputeBackend device = java(new ConcurrentHashMap<>(), Map.of("name", args -> "gpu",
                "capabilities", args -> Set.of(Capability.ACCELERATOR)));
        CpuSvdBackend own = new CpuSvdBackend();
        assertSame(own, own.using(device));
        assertEquals("compute backend 'gpu' does not work on host memory", CpuSvdBackend.cannotRunOn(device).orElseThrow());
    }

    @Test
    void guiceBindsTheSvdBackendToTheNamedComputeBackend() {
        Injector injector = Guice.createInjector(Eva4jModule.builder().backend("java").build());
        ComputeBackend compute = injector.getInstance(ComputeBackend.class);
        assertInstanceOf(JavaBackend.class, compute);
        CpuSvdBackend svd = assertInstanceOf(CpuSvdBackend.class, injector.getInstance(SvdBackend.class));
        assertSame(compute, svd.compute());
        assertTrue(svd.availability().reason().startsWith("over the java compute backend"), svd.unavailableReason());
    }

    @Test
    void guiceBindsTheSvdBackendToTheBestComputeBackend() {
        Injector injector = Guice.createInjector(Eva4jModule.builder().build());
        CpuSvdBackend svd = (CpuSvdBackend) injector.getInstance(SvdBackend.class);
        assertSame(injector.getInstance(ComputeBackend.class), svd.compute());
    }

    @Test
    void aNamedSvdBackendKeepsItsOwnComputeBackend() {
        Injector injector = Guice.createInjector(Eva4jModule.builder().backend("java").svdBackend("cpu").build());
        CpuSvdBackend svd = (CpuSvdBackend) injector.getInstance(SvdBackend.class);
        assertNotSame(injector.getInstance(ComputeBackend.class), svd.compute());
        assertEquals(CpuSvdBackend.chooseCompute().name(), svd.compute().name());
    }
}
