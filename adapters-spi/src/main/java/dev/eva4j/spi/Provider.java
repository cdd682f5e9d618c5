package dev.eva4j.spi;

/**
 * What every eva4j plug-in has in common. Providers are found with {@link java.util.ServiceLoader}; a provider that
 * cannot work on this machine must still load and say why through {@link #availability()} — it never throws at
 * start-up. Native libraries are loaded lazily, on the first call of {@code availability()} or of an operation.
 */
public interface Provider {
    /** Short unique name within its kind, lower-case, used on the command line ({@code --backend NAME}). */
    String name();

    /** Higher wins when the user names none. Reference implementations are low, native ones high. */
    int priority();

    /** A one-line description for {@code eva4j backends}. */
    default String description() {
        return getClass().getName();
    }

    /** Whether this provider can work here; computed once and cached by implementations. Never throws. */
    Availability availability();

    default boolean isAvailable() {
        return availability().available();
    }

    /** Why the provider cannot work, or an empty string when it can. */
    default String unavailableReason() {
        Availability a = availability();
        return a.available() ? "" : a.reason();
    }
}
