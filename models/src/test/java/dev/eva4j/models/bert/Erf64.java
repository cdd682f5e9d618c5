package dev.eva4j.models.bert;

/** erf in float64 to a few ulp, independent of the kernels under test (series below 3, continued fraction above). */
final class Erf64 {
    private static final double TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

    private Erf64() {}

    /** erf(x) to a few ulp (slow: a series of up to ~100 terms). */
    public static double erfReference(double x) {
        if (Double.isNaN(x)) return x;
        double ax = Math.abs(x);
        double r = ax >= 3 ? 1 - erfcContinuedFraction(ax) : erfSeries(ax);
        return x < 0 ? -r : r;
    }

    /** erfc(x) to a few ulp relative (slow). */
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
