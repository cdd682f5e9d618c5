package dev.eva4j.api.providers;

/**
 * One row of the provider table: a provider found on the class path, or one that failed to even construct
 * ({@code broken}), with whether it can work here and why (not).
 */
public record ProviderStatus(ProviderKind kind, String name, int priority, boolean available, String reason,
                             String implementation, boolean broken) {
}
