package dev.eva4j.api.providers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.inject.Guice;
import com.google.inject.Injector;
import com.google.inject.Key;
import com.google.inject.ProvisionException;
import com.google.inject.TypeLiteral;
import dev.eva4j.spi.Capability;
import dev.eva4j.spi.ComputeBackend;
import dev.eva4j.spi.SvdBackend;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The Guice module with the fake compute and SVD backends of {@link FakeBackends}. */
class WiringTest {
    private final ProviderRegistry registry = ProviderRegistry.discover(getClass().getClassLoader(), name -> null);

    private Injector injector(Eva4jModule.Builder builder) {
        return Guice.createInjector(builder.registry(registry).build());
    }

    @Test
    void theSvdBackendFollowsTheBestComputeBackend() {
        Injector injector = injector(Eva4jModule.builder());
        ComputeBackend compute = injector.getInstance(ComputeBackend.class);
        assertEquals("host", compute.name());
        FakeBackends.Follower svd = assertInstanceOf(FakeBackends.Follower.class, injector.getInstance(SvdBackend.class));
        assertSame(compute, svd.compute());
        assertSame(svd, injector.getInstance(SvdBackend.class));
    }

    @Test
    void theSvdBackendFollowsTheNamedComputeBackend() {
        Injector injector = injector(Eva4jModule.builder().backend("other"));
        ComputeBackend compute = injector.getInstance(ComputeBackend.class);
        assertEquals("other", compute.name());
        FakeBackends.Follower svd = (FakeBackends.Follower) injector.getInstance(SvdBackend.class);
        assertSame(compute, svd.compute());
    }

    @Test
    void aNamedSvdBackendIsUsedAsItIs() {
        Injector injector = injector(Eva4jModule.builder().backend("other").svdBackend("follower"));
        FakeBackends.Follower svd = (FakeBackends.Follower) injector.getInstance(SvdBackend.class);
        assertNull(svd.compute(), "named: not bound to the chosen compute backend");
        Map<String, SvdBackend> byName = injector.getInstance(Key.get(new TypeLiteral<Map<String, SvdBackend>>() {}));
        assertSame(byName.get("follower"), svd);
    }

    @Test
    void anSvdBackendNamedByItsPropertyIsUsedAsItIsToo() {
        String key = ProviderKind.SVD.systemProperty();
        System.setProperty(key, "follower");
        try {
            Eva4jModule module = Eva4jModule.builder().registry(registry).build();
            assertEquals(Optional.of("follower"), module.requested(ProviderKind.SVD));
            SvdBackend svd = Guice.createInjector(module).getInstance(SvdBackend.class);
            assertNull(((FakeBackends.Follower) svd).compute());
        } finally {
            System.clearProperty(key);
        }
    }

    @Test
    void anSvdBackendWithNothingToFollowStaysItself() {
        Injector injector = injector(Eva4jModule.builder().use(ProviderKind.SVD, "loner"));
        assertEquals("loner", injector.getInstance(SvdBackend.class).name());
        // SvdBackend.using's default: the same instance
        SvdBackend loner = registry.byName(SvdBackend.class, "loner").orElseThrow();
        assertSame(loner, loner.using(injector.getInstance(ComputeBackend.class)));
    }

    @Test
    void anUnusableComputeBackendFailsTheSvdBackendThatFollowsIt() {
        Injector injector = injector(Eva4jModule.builder().backend("mute"));
        ProvisionException e = assertThrows(ProvisionException.class, () -> injector.getInstance(SvdBackend.class));
        ProviderSelectionException cause = assertInstanceOf(ProviderSelectionException.class, e.getCause());
        assertEquals("compute backend 'mute' cannot work here: no device", cause.problem());
    }

    @Test
    void computeBackendsAreListedWithTheirCapabilities() {
        List<ProviderStatus> rows = registry.status(ProviderKind.COMPUTE);
        assertEquals(List.of("host", "other", "mute"), rows.stream().map(ProviderStatus::name).toList());
        assertEquals(Set.of(Capability.HOST_MEMORY, Capability.NATIVE_LINEAR_ALGEBRA), rows.get(0).capabilities());
        assertEquals(Set.of(), rows.get(2).capabilities(), "kernels() throws: no capabilities, no failure");
        assertEquals(Set.of(), registry.status(ProviderKind.SVD).getFirst().capabilities());
        String table = ProviderTable.format(rows, r -> r.name().equals("other"));
        List<String> lines = table.lines().toList();
        assertTrue(lines.get(0).contains("capabilities"), table);
        assertTrue(lines.get(1).startsWith("  compute backend  host") && lines.get(1).contains("host-memory,native-linear-algebra"), table);
        assertTrue(lines.get(2).startsWith("* compute backend  other") && lines.get(2).contains("host-memory "), table);
        assertTrue(lines.get(3).contains("unavailable") && lines.get(3).contains(" - ") && lines.get(3).contains("no device"), table);
        assertTrue(!ProviderTable.format(registry.status(ProviderKind.SVD)).contains("capabilities"));
    }

    @Test
    void theMapOfEachKindHoldsEveryProviderBestFirst() {
        Injector injector = injector(Eva4jModule.builder());
        Map<String, ComputeBackend> compute = injector.getInstance(Key.get(new TypeLiteral<Map<String, ComputeBackend>>() {}));
        assertEquals(List.of("host", "other", "mute"), List.copyOf(compute.keySet()));
        assertSame(registry, injector.getInstance(ProviderRegistry.class));
    }
}
