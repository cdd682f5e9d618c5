package dev.eva4j.cpu.java;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eva4j.cpu.ComputeBackendContract;
import dev.eva4j.spi.ComputeBackend;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;

/** The shared backend contract, run on the pure-Java backend, plus how it is found. */
class JavaBackendTest extends ComputeBackendContract {
    private static final JavaBackend BACKEND = new JavaBackend();

    @Override
    protected ComputeBackend backend() {
        return BACKEND;
    }

    @Test
    void foundByServiceLoaderAndAlwaysAvailable() {
        JavaBackend found = ServiceLoader.load(ComputeBackend.class).stream()
                .map(ServiceLoader.Provider::get)
                .filter(b -> b instanceof JavaBackend)
                .map(JavaBackend.class::cast)
                .findFirst().orElseThrow(() -> new AssertionError("JavaBackend not registered"));
        assertEquals("java", found.name());
        assertEquals(10, found.priority());
        assertTrue(found.isAvailable(), found.unavailableReason());
        assertTrue(found.availability().reason().contains("Species"), found.availability().reason());
    }
}
