package dev.eva4j.spi;

import java.util.Objects;

/**
 * Whether a provider can work on this machine, and if not, why — in words a person can act on
 * ("libopenblas.so.0 could not be loaded: ...", "no CUDA device").
 */
public record Availability(boolean available, String reason) {
    public Availability {
        Objects.requireNonNull(reason, "reason");
    }

    public static Availability ok(String detail) {
        return new Availability(true, detail);
    }

    public static Availability unavailable(String reason) {
        return new Availability(false, reason);
    }
}
