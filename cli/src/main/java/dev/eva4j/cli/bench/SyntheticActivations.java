package dev.eva4j.cli.bench;

import dev.eva4j.api.eva.ActivationSource;
import dev.eva4j.api.eva.Rows;
import dev.eva4j.api.eva.TargetLayer;
import dev.eva4j.spi.ComputeBackend;
import dev.eva4j.spi.Transpose;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * One layer's activations with a planted spectrum, the same sequence after every rewind: x = mu + z diag(sigma) Q^T
 * + noise, with Q a random orthonormal d x {@value #SIGNAL} basis, sigma decaying geometrically, isotropic noise.
 */
public final class SyntheticActivations implements ActivationSource {
    static final int SIGNAL = 96;
    private final int d, rows;
    private final long seed;
    private final ComputeBackend compute;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment basisT; // SIGNAL x d: sigma_j * q_j as rows
    private final float[] mu;
    private SplittableRandom rnd;
    private MemorySegment batch;

    public SyntheticActivations(int d, int rows, long seed, ComputeBackend compute) {
        this.d = d;
        this.rows = rows;
        this.seed = seed;
        this.compute = compute;
        SplittableRandom r = new SplittableRandom(seed);
        double[][] q = new double[SIGNAL][d];
        for (int c = 0; c < SIGNAL; c++) { // Gram-Schmidt, twice
            for (int j = 0; j < d; j++) q[c][j] = gaussian(r);
            for (int pass = 0; pass < 2; pass++) {
                for (int p = 0; p < c; p++) {
                    double dot = 0;
                    for (int j = 0; j < d; j++) dot += q[c][j] * q[p][j];
                    for (int j = 0; j < d; j++) q[c][j] -= dot * q[p][j];
                }
                double n = 0;
                for (int j = 0; j < d; j++) n += q[c][j] * q[c][j];
                n = Math.sqrt(n);
                for (int j = 0; j < d; j++) q[c][j] /= n;
            }
        }
        basisT = arena.allocate(ValueLayout.JAVA_FLOAT, (long) SIGNAL * d);
        for (int c = 0; c < SIGNAL; c++) {
            double sigma = 10 * Math.pow(0.93, c);
            for (int j = 0; j < d; j++) basisT.setAtIndex(ValueLayout.JAVA_FLOAT, (long) c * d + j, (float) (sigma * q[c][j]));
        }
        mu = new float[d];
        for (int j = 0; j < d; j++) mu[j] = (float) gaussian(r);
        batch = arena.allocate(ValueLayout.JAVA_FLOAT, (long) rows * d);
        rewind();
    }

    @Override
    public List<TargetLayer> layers() {
        return List.of(new TargetLayer("layer", d, d));
    }

    @Override
    public List<List<String>> groups() {
        return List.of();
    }

    @Override
    public Map<String, Rows> next() {
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment z = tmp.allocate(ValueLayout.JAVA_FLOAT, (long) rows * SIGNAL);
            for (long i = 0; i < (long) rows * SIGNAL; i++) z.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) gaussian(rnd));
            for (long i = 0; i < rows; i++) {
                for (int j = 0; j < d; j++) {
                    batch.setAtIndex(ValueLayout.JAVA_FLOAT, i * d + j, mu[j] + 0.05f * (float) gaussian(rnd));
                }
            }
            compute.sgemm(Transpose.NO, Transpose.NO, rows, d, SIGNAL, 1f, z, SIGNAL, basisT, d, 1f, batch, d);
        }
        return Map.of("layer", new Rows(batch, rows, d));
    }

    @Override
    public void rewind() {
        rnd = new SplittableRandom(seed ^ 0x9E3779B97F4A7C15L);
    }

    @Override
    public void close() {
        arena.close();
    }

    private static double gaussian(SplittableRandom r) {
        return Math.sqrt(-2 * Math.log(1 - r.nextDouble())) * Math.cos(2 * Math.PI * r.nextDouble());
    }
}
