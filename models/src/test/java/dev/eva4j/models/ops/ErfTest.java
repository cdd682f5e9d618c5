package dev.eva4j.models.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ErfTest {
    /** Values from CPython's math.erf / math.erfc (correctly rounded libm). */
    private static final double[][] ERF = {
            {0.1, 0.1124629160182849}, {0.5, 0.5204998778130465}, {1, 0.8427007929497149},
            {1.5, 0.9661051464753108}, {2, 0.9953222650189527}, {3, 0.9999779095030014}};
    private static final double[][] ERFC = {
            {3, 2.2090496998585438e-05}, {4, 1.541725790028002e-08}, {5, 1.5374597944280351e-12},
            {6, 2.1519736712498916e-17}, {10, 2.088487583762545e-45}, {20, 5.3958656116079005e-176}};

    @Test
    void knownValues() {
        for (double[] p : ERF) {
            assertEquals(p[1], Erf.erfReference(p[0]), 1e-15, "erfReference(" + p[0] + ")");
            assertEquals(p[1], Erf.erf(p[0]), 1e-15, "erf(" + p[0] + ")");
            assertEquals(-p[1], Erf.erf(-p[0]), 1e-15, "erf(-" + p[0] + ")");
            assertEquals(1 - p[1], Erf.erfc(p[0]), 1e-15, "erfc(" + p[0] + ")");
        }
        for (double[] p : ERFC) {
            assertEquals(p[1], Erf.erfcReference(p[0]), 1e-13 * p[1], "erfcReference(" + p[0] + ")");
            assertEquals(p[1], Erf.erfc(p[0]), 1e-10 * p[1], "erfc(" + p[0] + ")");
            assertEquals(2 - p[1], Erf.erfc(-p[0]), 1e-15, "erfc(-" + p[0] + ")");
        }
        assertEquals(0.0, Erf.erf(0.0));
        assertEquals(1.0, Erf.erf(Double.POSITIVE_INFINITY));
        assertEquals(0.0, Erf.erfc(Double.POSITIVE_INFINITY));
        assertTrue(Double.isNaN(Erf.erf(Double.NaN)));
    }

    @Test
    void tinyArgumentsKeepRelativeAccuracy() {
        // erf(x) = 2x/sqrt(pi) (1 - x^2/3 + ...) for small x
        double x = 1e-9;
        assertEquals(2 * x / Math.sqrt(Math.PI), Erf.erf(x), 1e-15 * x);
    }

    @Test
    void fastMatchesReferenceOnADenseGrid() {
        double worstErf = 0, worstErfcRel = 0;
        for (double x = -12; x <= 12; x += 0.000731) {
            worstErf = Math.max(worstErf, Math.abs(Erf.erf(x) - Erf.erfReference(x)));
            double ref = Erf.erfcReference(x);
            if (ref > 0) worstErfcRel = Math.max(worstErfcRel, Math.abs(Erf.erfc(x) - ref) / ref);
        }
        assertTrue(worstErf < 1e-14, "erf absolute error " + worstErf);
        assertTrue(worstErfcRel < 1e-10, "erfc relative error " + worstErfcRel);
    }

    @Test
    void geluOfKnownPoints() {
        // gelu(1) = 0.5 (1 + erf(1/sqrt 2)) = Phi(1) = 0.8413447460685429; gelu(-1) = -(1 - Phi(1))
        assertEquals(0.8413447460685429, Activations.gelu(1f), 1e-7);
        assertEquals(-0.15865525393145707, Activations.gelu(-1f), 1e-8);
        assertEquals(0f, Activations.gelu(0f));
        // deep negative tail keeps its relative accuracy: gelu(-6) = -6 * Phi(-6) = -5.9196...e-9
        assertEquals(-6 * 9.865876450377012e-10, Activations.gelu(-6f), 1e-15);
    }
}
