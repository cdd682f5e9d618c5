package dev.eva4j.testkit;

import java.util.Locale;
import org.junit.jupiter.api.Assertions;

/**
 * Norm-wise relative comparison of two arrays, with a failure message a reader can act on: the largest difference
 * with its index and both values there, the bound it broke, and the first values of both sides.
 *
 * <p>{@code actual} is close to {@code expected} when {@code max_i |actual[i] - expected[i]| <= tolerance *
 * max_i |expected[i]|}: the error is measured against the size of the whole result, not element by element, so
 * an element that is small only because of cancellation does not demand more accuracy than float32 can give. When
 * {@code expected} is all zeros, {@code actual} must be exactly zero. A NaN or infinity on either side fails.
 */
public final class Compare {
    /** How many leading values a failure message shows. */
    private static final int SHOWN = 8;

    private Compare() {}

    /** Fails unless {@code actual} (the backend) is close to {@code expected} (the reference); see the class. */
    public static void assertClose(String what, double[] expected, double[] actual, double tolerance) {
        assertClose(what, "reference", expected, "backend", actual, tolerance);
    }

    /** As {@link #assertClose(String, double[], double[], double)} with names for the two sides. */
    public static void assertClose(String what, String expectedName, double[] expected, String actualName,
                                   double[] actual, double tolerance) {
        String problem = difference(expectedName, expected, actualName, actual, tolerance);
        if (problem != null) Assertions.fail(what + ": " + problem);
    }

    /** Scalars: {@code |actual - expected| <= tolerance * |expected|}. */
    public static void assertClose(String what, double expected, double actual, double tolerance) {
        assertClose(what, new double[] {expected}, new double[] {actual}, tolerance);
    }

    /** Null when close, else the message (without the {@code what} prefix). */
    public static String difference(String expectedName, double[] expected, String actualName, double[] actual,
                                    double tolerance) {
        if (expected.length != actual.length) {
            return expectedName + " has " + expected.length + " values, " + actualName + " " + actual.length;
        }
        double scale = 0;
        double worst = -1;
        int at = -1;
        for (int i = 0; i < expected.length; i++) {
            if (!Double.isFinite(expected[i]) || !Double.isFinite(actual[i])) {
                return "not finite at index " + i + " (" + expectedName + " " + expected[i] + ", " + actualName + " "
                        + actual[i] + ")" + heads(expectedName, expected, actualName, actual);
            }
            scale = Math.max(scale, Math.abs(expected[i]));
            double d = Math.abs(actual[i] - expected[i]);
            if (d > worst) {
                worst = d;
                at = i;
            }
        }
        double bound = tolerance * scale;
        if (at < 0 || worst <= bound) return null;
        return String.format(Locale.ROOT, "largest difference %.3e at index %d (%s %.9g, %s %.9g) exceeds %.1e * max|%s|"
                        + " = %.1e * %.6g = %.3e (relative %.3e)%s",
                worst, at, expectedName, expected[at], actualName, actual[at], tolerance, expectedName, tolerance, scale,
                bound, scale == 0 ? Double.POSITIVE_INFINITY : worst / scale,
                heads(expectedName, expected, actualName, actual));
    }

    private static String heads(String expectedName, double[] expected, String actualName, double[] actual) {
        int width = Math.max(expectedName.length(), actualName.length());
        return "\n  " + pad(expectedName, width) + " " + head(expected) + "\n  " + pad(actualName, width) + " "
                + head(actual);
    }

    private static String head(double[] values) {
        StringBuilder s = new StringBuilder("[");
        for (int i = 0; i < Math.min(SHOWN, values.length); i++) {
            if (i > 0) s.append(", ");
            s.append(String.format(Locale.ROOT, "%.7g", values[i]));
        }
        if (values.length > SHOWN) s.append(", ... (").append(values.length).append(" values)");
        return s.append(']').toString();
    }

    private static String pad(String s, int width) {
        return s + " ".repeat(width - s.length()) + ":";
    }
}
