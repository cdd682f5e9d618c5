package dev.eva4j.models.train;

import dev.eva4j.spi.InvalidInputException;

import java.util.Locale;

/**
 * Learning-rate schedules as Hugging Face's {@code get_scheduler} computes them per optimiser step s (0-based) of
 * {@code total} steps with {@code warmup} warm-up steps: linear warm-up from 0 to the peak over the first
 * {@code warmup} steps, then constant, linear decay to 0, or cosine decay to 0 (half a period).
 */
public enum LrSchedule {
    CONSTANT, LINEAR, COSINE;

    public static LrSchedule parse(String s) {
        try {
            return valueOf(s.strip().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new InvalidInputException("--schedule must be constant, linear or cosine, got '" + s + "'");
        }
    }

    /** The factor (0..1] of the peak learning rate at step {@code step}. */
    public double factor(long step, long total, long warmup) {
        if (step < warmup) return (double) step / Math.max(1, warmup);
        double progress = (double) (step - warmup) / Math.max(1, total - warmup);
        return switch (this) {
            case CONSTANT -> 1.0;
            case LINEAR -> Math.max(0.0, 1.0 - progress);
            case COSINE -> Math.max(0.0, 0.5 * (1.0 + Math.cos(Math.PI * progress)));
        };
    }

    /** Warm-up steps for a ratio of the total, as Hugging Face rounds it (ceil). */
    public static long warmupSteps(double ratio, long total) {
        return (long) Math.ceil(ratio * total);
    }

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
