package dev.eva4j.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.inject.Guice;
import com.google.inject.Injector;
import com.google.inject.Key;
import com.google.inject.TypeLiteral;
import dev.eva4j.api.providers.Eva4jModule;
import dev.eva4j.api.providers.ProviderKind;
import dev.eva4j.api.providers.ProviderRegistry;
import dev.eva4j.api.providers.ProviderStatus;
import dev.eva4j.api.providers.ProviderTable;
import dev.eva4j.spi.Buffer;
import dev.eva4j.spi.Capability;
import dev.eva4j.spi.ComputeBackend;
import dev.eva4j.spi.Kernels;
import dev.eva4j.spi.SvdBackend;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The compute backend example wired in this JVM the way a library user, a service and the CLI wire providers — the
 * Guice module over the providers a class loader sees — with its jar added to a class loader of its own, and without
 * it. The example is kept off this test's class path (see the pom), and nothing here names its classes.
 */
class ComputeJarWiringTest {
    private static final Path COMPUTE = Path.of(System.getProperty("eva4j.computeJar"));
    private URLClassLoader withJar;

    private ClassLoader withJar() throws Exception {
        assertTrue(Files.isRegularFile(COMPUTE), "example jar not built: " + COMPUTE);
        withJar = new URLClassLoader(new URL[] {COMPUTE.toUri().toURL()}, getClass().getClassLoader());
        return withJar;
    }

    @AfterEach
    void close() throws Exception {
        if (withJar != null) withJar.close();
    }

    @Test
    void theJarAddsAComputeBackendToTheListing() throws Exception {
        ProviderRegistry registry = Eva4jModule.builder().classLoader(withJar()).build().registry();
        ProviderStatus row = registry.status(ProviderKind.COMPUTE).stream()
                .filter(r -> r.name().equals("naive-java")).findFirst().orElseThrow();
        assertTrue(row.available() && !row.broken(), row.toString());
        assertEquals(Set.of(Capability.HOST_MEMORY), row.capabilities());
        String table = ProviderTable.format(registry.status(ProviderKind.COMPUTE));
        assertTrue(table.lines().anyMatch(l -> l.contains("naive-java") && l.contains("host-memory ")), table);

        ProviderRegistry without = Eva4jModule.builder().classLoader(getClass().getClassLoader()).build().registry();
        assertFalse(without.byName(ComputeBackend.class, "naive-java").isPresent());
    }

    @Test
    void guiceGivesTheNamedThirdPartyBackendAndItsKernelsWork() throws Exception {
        Injector injector = Guice.createInjector(Eva4jModule.builder().classLoader(withJar()).backend("naive-java")
                .build());
        ComputeBackend compute = injector.getInstance(ComputeBackend.class);
        assertEquals("naive-java", compute.name());
        assertSame(withJar, compute.getClass().getClassLoader(), "from the jar");
        Map<String, ComputeBackend> all = injector.getInstance(Key.get(new TypeLiteral<Map<String, ComputeBackend>>() {}));
        assertSame(compute, all.get("naive-java"));
        assertTrue(all.containsKey("java") && all.containsKey("openblas"), all.keySet().toString());

        // out = inp weight^T + bias through the jar's own GEMM: [1, 2] [[1, 2], [3, 4]]^T + [10, 20] = [15, 31]
        Kernels k = compute.kernels();
        try (Buffer inp = k.allocateFloats(2); Buffer w = k.allocateFloats(4); Buffer b = k.allocateFloats(2);
             Buffer out = k.allocateFloats(2)) {
            k.upload(inp, 0, new float[] {1, 2});
            k.upload(w, 0, new float[] {1, 2, 3, 4});
            k.upload(b, 0, new float[] {10, 20});
            k.matmulForward(out, inp, w, b, 1, 2, 2);
            float[] got = new float[2];
            k.download(out, 0, got);
            assertEquals(15f, got[0]);
            assertEquals(31f, got[1]);
        }

        // no host LAPACK: the cpu SVD backend keeps its own compute backend instead of failing later
        SvdBackend svd = injector.getInstance(SvdBackend.class);
        assertEquals("cpu", svd.name());
        assertSame(injector.getInstance(ProviderRegistry.class).byName(SvdBackend.class, "cpu").orElseThrow(), svd);
        assertTrue(svd.isAvailable(), svd.unavailableReason());
        assertFalse(svd.availability().reason().contains("naive-java"), svd.availability().reason());
    }

    @Test
    void unnamedTheBestBackendStaysChosen() throws Exception {
        Injector injector = Guice.createInjector(Eva4jModule.builder().classLoader(withJar()).build());
        assertNotEquals("naive-java", injector.getInstance(ComputeBackend.class).name());
    }
}
