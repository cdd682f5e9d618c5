package dev.eva4j.api.providers;

import dev.eva4j.spi.Capability;
import java.util.Set;

/**
 * One row of the provider table: a provider found on the class path, or one that failed to even construct
 * ({@code broken}), with whether it can work here and why (not), and for a compute backend its capabilities (empty
 * for other kinds, and when a backend cannot tell them here).
 */
public record ProviderStatus(ProviderKind kind, String name, int priority, boolean available, String reason,
                             String implementation, boolean broken, Set<Capability> capabilities) {
    public ProviderStatus {
        capabilities = Set.copyOf(capabilities);
    }
}
