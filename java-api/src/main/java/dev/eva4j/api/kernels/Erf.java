package dev.eva4j.api.kernels;

/**
 * The error function, which {@link Math} lacks, in double precision (the host kernels' GELU runs in float32 in
 * {@code VectorOps}; this is its oracle in tests and serves single float64 values).
 *
 * <ul>
 *   <li>{@link #erfReference}/{@link #erfcReference}: slow and accurate to a few ulp. erf by the everywhere-positive
 *       series erf(x) = 2/sqrt(pi) exp(-x^2) sum_n (2x^2)^n x / (2n+1)!!; erfc for x >= 3 by its continued fraction
 *       erfc(x) = exp(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))) (modified Lentz).</li>
 *   <li>{@link #erf}/{@link #erfc}: fast. A table of erfc on a grid of step 1/512 over [0, 10] (built with
 *       the reference), and a 4th-order Taylor step from the nearest grid point, using
 *       erf' = D = 2/sqrt(pi) exp(-x^2), erf'' = -2x D, erf''' = (4x^2 - 2) D, erf'''' = (12x - 8x^3) D.
 *       The step is at most 1/1024, so the truncated 5th-order term is below 1e-11 relative to erfc.</li>
 * </ul>
 */
public final class Erf {
    private static final double TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
    private static final int STEPS_PER_UNIT = 512;
    /** erfc(10) = 2.1e-45: beyond it erfc underflows float32 and erf is 1 in double. */
    private static final double TABLE_END = 10;
    private static final double[] ERFC_AT;
    private static final double[] DERIV_AT;

    static {
        int n = (int) (TABLE_END * STEPS_PER_UNIT) + 1;
        ERFC_AT = new double[n];
        DERIV_AT = new double[n];
        for (int i = 0; i < n; i++) {
            double x = (double) i / STEPS_PER_UNIT;
            ERFC_AT[i] = erfcReference(x);
            DERIV_AT[i] = TWO_OVER_SQRT_PI * Math.exp(-x * x);
        }
    }

    private Erf() {}

    /** erf(x), absolute error below 1e-15 (relative below 1e-14 for |x| < 0.5). */
    public static double erf(double x) {
        double ax = Math.abs(x);
        if (ax < 0.5) return erfReference(x);
        if (Double.isNaN(x)) return x;
        double r = 1 - erfcPositive(ax);
        return x < 0 ? -r : r;
    }

    /** erfc(x) = 1 - erf(x), relative error below 1e-10 for every x (fast: a table and a Taylor step). */
    public static double erfc(double x) {
        if (Double.isNaN(x)) return x;
        return x >= 0 ? erfcPositive(x) : 2 - erfcPositive(-x);
    }

    private static double erfcPositive(double x) {
        if (x >= TABLE_END) return x == Double.POSITIVE_INFINITY ? 0 : erfcReference(x);
        int i = (int) (x * STEPS_PER_UNIT + 0.5);
        double x0 = (double) i / STEPS_PER_UNIT, d = x - x0, x2 = x0 * x0;
        // erf(x0 + d) - erf(x0) = D d (1 - x0 d + (2x0^2 - 1)/3 d^2 + (3x0 - 2x0^3)/6 d^3)
        double poly = d * (1 + d * (-x0 + d * ((2 * x2 - 1) / 3 + d * (x0 * (3 - 2 * x2) / 6))));
        return ERFC_AT[i] - DERIV_AT[i] * poly;
    }

    /** erf(x) to a few ulp (slow: a series of up to ~100 terms). The oracle for {@link #erf}. */
    public static double erfReference(double x) {
        if (Double.isNaN(x)) return x;
        double ax = Math.abs(x);
        double r = ax >= 3 ? 1 - erfcContinuedFraction(ax) : erfSeries(ax);
        return x < 0 ? -r : r;
    }

    /** erfc(x) to a few ulp relative (slow). The oracle for {@link #erfc}. */
    public static double erfcReference(double x) {
        if (Double.isNaN(x)) return x;
        if (x >= 3) return erfcContinuedFraction(x);
        return 1 - erfReference(x);
    }

    /** x >= 0: 2/sqrt(pi) exp(-x^2) sum_n x (2x^2)^n / (2n+1)!!, every term positive. */
    private static double erfSeries(double x) {
        double x2 = 2 * x * x, term = x, sum = x;
        for (int n = 1; n < 500; n++) {
            term *= x2 / (2 * n + 1);
            sum += term;
            if (term < sum * 1e-17) break;
        }
        return TWO_OVER_SQRT_PI * Math.exp(-x * x) * sum;
    }

    /** x >= 3: exp(-x^2)/sqrt(pi) * 1/(x + a1/(x + a2/(x + ...))), a_n = n/2, by the modified Lentz method. */
    private static double erfcContinuedFraction(double x) {
        if (x > 27) return 0; // erfc(27) < 1e-318: below the smallest double
        double tiny = 1e-300, f = x, c = x, dd = 0;
        for (int n = 1; n < 5000; n++) {
            double a = n / 2.0;
            dd = x + a * dd;
            if (dd == 0) dd = tiny;
            c = x + a / c;
            if (c == 0) c = tiny;
            dd = 1 / dd;
            double delta = c * dd;
            f *= delta;
            if (Math.abs(delta - 1) < 1e-16) break;
        }
        return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
    }
}
