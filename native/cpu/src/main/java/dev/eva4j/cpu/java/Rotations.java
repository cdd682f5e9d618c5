package dev.eva4j.cpu.java;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorSpecies;

/** Float64 vector primitives for the Jacobi sweeps: dot products and plane rotations of two arrays. */
final class Rotations {
    private static final VectorSpecies<Double> S = DoubleVector.SPECIES_PREFERRED;

    private Rotations() {}

    /** x[0 .. len] . y[0 .. len] */
    static double dot(double[] x, double[] y, int len) {
        DoubleVector acc0 = DoubleVector.zero(S), acc1 = DoubleVector.zero(S);
        int i = 0, step = S.length();
        for (; i + 2 * step <= len; i += 2 * step) {
            acc0 = DoubleVector.fromArray(S, x, i).fma(DoubleVector.fromArray(S, y, i), acc0);
            acc1 = DoubleVector.fromArray(S, x, i + step).fma(DoubleVector.fromArray(S, y, i + step), acc1);
        }
        double[] lanes = acc0.add(acc1).toArray(); // in lane order: reduceLanes(ADD) rounds differently when compiled
        double sum = 0;
        for (double l : lanes) sum += l;
        for (; i < len; i++) sum = Math.fma(x[i], y[i], sum);
        return sum;
    }

    /** (x, y) <- (c x - s y, s x + c y) over [0 .. len]. */
    static void rotate(double[] x, double[] y, int len, double c, double s) {
        int i = 0, step = S.length();
        DoubleVector cv = DoubleVector.broadcast(S, c), sv = DoubleVector.broadcast(S, s);
        for (; i + step <= len; i += step) {
            DoubleVector xv = DoubleVector.fromArray(S, x, i), yv = DoubleVector.fromArray(S, y, i);
            xv.mul(cv).sub(yv.mul(sv)).intoArray(x, i);
            xv.mul(sv).add(yv.mul(cv)).intoArray(y, i);
        }
        for (; i < len; i++) {
            double xi = x[i], yi = y[i];
            x[i] = c * xi - s * yi;
            y[i] = s * xi + c * yi;
        }
    }
}
