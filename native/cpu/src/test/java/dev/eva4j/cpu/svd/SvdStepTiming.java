package dev.eva4j.cpu.svd;

import static dev.eva4j.cpu.svd.SvdFixtures.F;

import dev.eva4j.api.svd.ComputeSvd;
import dev.eva4j.cpu.openblas.OpenBlasBackend;
import dev.eva4j.cpu.svd.SvdFixtures.Reference;
import dev.eva4j.spi.SvdBackend.Mode;
import dev.eva4j.spi.TopKProblem;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Times one top-k step of EVA's incremental PCA per mode (not a unit test, not a benchmark: JMH lives in
 * benchmarks/). The matrix has m = 2048 + k + 1 rows (a 2048-token batch, the k old components and the mean
 * correction row) and d columns, with an activation-like spectrum (a few large directions, then a slow power-law
 * decay, with a 30% drop after the k-th value so that the top-k subspace is well defined). WARM starts from the exact answer perturbed by 1e-2 (a step that moved the subspace a little).
 * Prints, per d and mode, the best and median of {@code repeats} timed calls after 2 warm-ups, and the sine of the
 * largest principal angle between the mode's top-k subspace and EXACT's (float64 dgesdd of the same matrix).
 * Usage: {@code SvdStepTiming [threads] [repeats]}.
 */
public final class SvdStepTiming {
    private SvdStepTiming() {}

    public static void main(String[] args) {
        OpenBlasBackend blas = new OpenBlasBackend();
        if (!blas.isAvailable()) throw new IllegalStateException(blas.unavailableReason());
        if (args.length > 0) blas.setThreads(Integer.parseInt(args[0]));
        int repeats = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        int k = 32;
        ComputeSvd svd = new ComputeSvd(blas);
        System.out.printf(Locale.ROOT, "OpenBLAS threads %d, k = %d, %d timed calls after 2 warm-ups%n", blas.threads(), k, repeats);
        for (int d : new int[] {1024, 4096}) {
            int m = 2048 + k + 1, p = Math.min(m, d);
            double[] sigma = new double[p];
            for (int i = 0; i < p; i++) sigma[i] = (i < 8 ? 20 * Math.pow(0.7, i) : Math.pow(i - 7, -0.5)) * (i < k ? 1 : 0.7);
            try (Arena arena = Arena.ofConfined()) {
                long t0 = System.nanoTime();
                Reference ref = SvdFixtures.planted(blas, arena, m, d, sigma, d);
                System.out.printf(Locale.ROOT, "d = %d, m = %d (fixture %.1f s)%n", d, m, (System.nanoTime() - t0) / 1e9);
                double[] refTop = Arrays.copyOf(ref.vt(), k * d);
                MemorySegment warm = SvdFixtures.perturbedComponents(arena, ref, k, 1e-2, 1);
                for (Mode mode : Mode.values()) {
                    TopKProblem prob = SvdFixtures.problem(arena, m, d, k, ref.a(), mode == Mode.WARM ? warm : MemorySegment.NULL, 42);
                    for (int i = 0; i < 2; i++) svd.topK(List.of(prob), mode);
                    double[] sec = new double[repeats];
                    for (int i = 0; i < repeats; i++) {
                        long s = System.nanoTime();
                        svd.topK(List.of(prob), mode);
                        sec[i] = (System.nanoTime() - s) / 1e9;
                    }
                    Arrays.sort(sec);
                    double err = SvdFixtures.subspaceError(blas, prob.vt(), refTop, k, d);
                    double svErr = 0;
                    for (int i = 0; i < k; i++) {
                        svErr = Math.max(svErr, Math.abs(prob.singularValues().getAtIndex(F, i) - ref.s()[i]) / ref.s()[i]);
                    }
                    System.out.printf(Locale.ROOT, "  %-8s best %.4f s  median %.4f s  subspace sin %.2e  max sigma rel err %.2e%n",
                            mode, sec[0], sec[repeats / 2], err, svErr);
                }
            }
        }
    }
}
