package dev.eva4j.api.providers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.inject.Guice;
import com.google.inject.Injector;
import com.google.inject.Key;
import com.google.inject.ProvisionException;
import com.google.inject.TypeLiteral;
import dev.eva4j.spi.RankAllocator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ProviderRegistryTest {
    private final ClassLoader loader = getClass().getClassLoader();

    private ProviderRegistry registry(Map<String, String> env) {
        return ProviderRegistry.discover(loader, env::get);
    }

    @Test
    void ordersByPriorityAndKeepsBrokenProvidersAsRows() {
        ProviderRegistry r = registry(Map.of());
        // eva4j's own allocators (eva 100, uniform 10) sit between the test ones
        assertEquals(List.of("check-throws", "eva", "fast", "slow", "uniform"),
                r.all(RankAllocator.class).stream().map(RankAllocator::name).toList());
        List<ProviderStatus> rows = r.status(ProviderKind.RANK_ALLOCATOR);
        assertEquals(6, rows.size());
        ProviderStatus broken = rows.get(5);
        assertTrue(broken.broken());
        assertTrue(broken.reason().contains("constructor blew up"), broken.reason());
        ProviderStatus throwsCheck = rows.get(0);
        assertTrue(!throwsCheck.available() && throwsCheck.reason().contains("libfoo.so"), throwsCheck.reason());
    }

    @Test
    void picksTheBestAvailableWhenNothingIsNamed() {
        assertEquals("eva", registry(Map.of()).select(RankAllocator.class, Optional.empty()).name());
    }

    @Test
    void namedButUnavailableFailsWithTheWholeTable() {
        ProviderSelectionException e = assertThrows(ProviderSelectionException.class,
                () -> registry(Map.of()).select(RankAllocator.class, Optional.of("fast")));
        assertEquals("rank allocator 'fast' cannot work here: needs libmoon.so.1", e.problem());
        for (String expected : List.of("slow", "fast", "check-throws", "Explodes", "needs libmoon.so.1",
                "always works", "constructor blew up")) {
            assertTrue(e.getMessage().contains(expected), () -> expected + " missing from:\n" + e.getMessage());
        }
    }

    @Test
    void unknownNameIsNamed() {
        ProviderSelectionException e = assertThrows(ProviderSelectionException.class,
                () -> registry(Map.of()).select(RankAllocator.class, Optional.of("nope")));
        assertEquals("no rank allocator named 'nope'", e.problem());
    }

    @Test
    void environmentThenSystemPropertyThenFlag() {
        ProviderRegistry r = registry(Map.of("EVA4J_RANK_ALLOCATOR", "fast"));
        assertThrows(ProviderSelectionException.class, () -> r.select(RankAllocator.class, Optional.empty()));
        String key = ProviderKind.RANK_ALLOCATOR.systemProperty();
        System.setProperty(key, "slow");
        try {
            assertEquals("slow", r.select(RankAllocator.class, Optional.empty()).name());
            assertThrows(ProviderSelectionException.class, () -> r.select(RankAllocator.class, Optional.of("nope")));
        } finally {
            System.clearProperty(key);
        }
    }

    @Test
    void guiceBindsEveryProviderByNameAndTheChosenOne() {
        Eva4jModule module = Eva4jModule.builder().registry(registry(Map.of())).build();
        Injector injector = Guice.createInjector(module);
        Map<String, RankAllocator> byName = injector.getInstance(Key.get(new TypeLiteral<Map<String, RankAllocator>>() {}));
        assertEquals(5, byName.size());
        assertEquals("eva", injector.getInstance(RankAllocator.class).name());
        assertEquals(injector.getInstance(RankAllocator.class), injector.getInstance(RankAllocator.class));
    }

    @Test
    void guiceHonoursTheOverrideAndFailsLazily() {
        Eva4jModule module = Eva4jModule.builder().registry(registry(Map.of()))
                .use(ProviderKind.RANK_ALLOCATOR, "fast").build();
        Injector injector = Guice.createInjector(module); // no failure until someone asks
        ProvisionException e = assertThrows(ProvisionException.class, () -> injector.getInstance(RankAllocator.class));
        assertInstanceOf(ProviderSelectionException.class, e.getCause());
    }

    @Test
    void kindNamesForOverrides() {
        assertEquals("eva4j.backend", ProviderKind.COMPUTE.systemProperty());
        assertEquals("EVA4J_BACKEND", ProviderKind.COMPUTE.environmentVariable());
        assertEquals("EVA4J_SVD_BACKEND", ProviderKind.SVD.environmentVariable());
    }
}
