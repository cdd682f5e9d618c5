package dev.eva4j.cli;

import dev.eva4j.api.eva.EvaConfig;
import dev.eva4j.api.eva.EvaEngine;
import dev.eva4j.api.eva.EvaRankAllocator;
import dev.eva4j.api.eva.EvaResult;
import dev.eva4j.cli.bench.SyntheticActivations;
import dev.eva4j.spi.ComputeBackend;
import dev.eva4j.spi.SvdBackend;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code eva4j bench eva}: seconds per incremental step and to convergence for each SVD mode, on one layer of
 * synthetic activations with a planted spectrum, and each mode's subspace error against EXACT on the same batches.
 */
@Command(name = "eva", mixinStandardHelpOptions = true,
        description = "Seconds per EVA step and to convergence for each SVD mode (exact, lowrank, warm), with each mode's "
                + "subspace error against exact after the same batches.")
final class BenchEvaCommand implements Callable<Integer> {

    @Option(names = "--dims", split = ",", defaultValue = "1024,4096", description = "input features d (default ${DEFAULT-VALUE})")
    List<Integer> dims;

    @Option(names = "--rows", defaultValue = "2048", description = "rows per step (default ${DEFAULT-VALUE})")
    int rows;

    @Option(names = "--components", defaultValue = "32", description = "k, components tracked (default ${DEFAULT-VALUE})")
    int k;

    @Option(names = "--steps", defaultValue = "6", description = "steps timed per mode (default ${DEFAULT-VALUE})")
    int steps;

    @Option(names = "--tau", defaultValue = "0.99", description = "tau for the time-to-convergence run (default ${DEFAULT-VALUE})")
    double tau;

    @Option(names = "--backend", description = "compute backend of the synthetic batches and the SVDs (default: best "
            + "available)")
    String backendName;

    @Option(names = "--svd-backend", description = "SVD backend (default: the best available, on the compute backend)")
    String svdBackendName;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        if (rows < k || k < 1 || steps < 2) throw new UserException("need rows >= components >= 1 and steps >= 2");
        Providers providers = Providers.of(backendName, svdBackendName, null);
        ComputeBackend compute = providers.compute();
        SvdBackend svd = providers.svd();
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        out.printf("EVA incremental PCA, one layer, %d rows/step, k = %d, SVD backend %s; subspace error = 1 - min_i |cos(v_i, v_i exact)| "
                + "over the top %d components after %d steps%n", rows, k,
                svd.name() + providers.svdCompute().map(c -> " (on " + c.name() + ")").orElse(""), k / 2, steps);
        out.printf("%6s  %-8s  %10s  %10s  %10s  %12s  %12s%n", "d", "mode", "SVD s/step", "s/step", "error",
                "steps to tau", "SVD s to tau");
        for (int d : dims) {
            if (d < k) throw new UserException("--dims: d must be >= components, got " + d);
            Map<SvdBackend.Mode, float[]> finals = new EnumMap<>(SvdBackend.Mode.class);
            for (SvdBackend.Mode mode : List.of(SvdBackend.Mode.EXACT, SvdBackend.Mode.LOWRANK, SvdBackend.Mode.WARM)) {
                err.printf("  d=%d %s ...%n", d, mode);
                err.flush();
                // fixed steps, tau = 1: nothing converges, every step runs
                EvaConfig fixed = EvaConfig.builder().r(k).rho(1).tau(1).maxSteps(steps).acceptUnconverged(true)
                        .svd(mode).build();
                double perStep, svdPerStep;
                try (SyntheticActivations src = new SyntheticActivations(d, rows, 7, compute)) {
                    TimedSvd timed = new TimedSvd(svd);
                    long t0 = System.nanoTime();
                    EvaResult r = new EvaEngine(fixed, timed, new EvaRankAllocator()).run(src);
                    perStep = (System.nanoTime() - t0) * 1e-9 / steps;
                    svdPerStep = timed.nanos * 1e-9 / steps;
                    finals.put(mode, r.layers().getFirst().a());
                }
                EvaConfig conv = fixed.toBuilder().tau(tau).maxSteps(200).build();
                int toTau;
                double secondsToTau;
                try (SyntheticActivations src = new SyntheticActivations(d, rows, 7, compute)) {
                    TimedSvd timed = new TimedSvd(svd);
                    EvaResult r = new EvaEngine(conv, timed, new EvaRankAllocator()).run(src);
                    secondsToTau = timed.nanos * 1e-9;
                    toTau = r.converged() ? r.steps() : -1;
                }
                double error = subspaceError(finals.get(SvdBackend.Mode.EXACT), finals.get(mode), k / 2, d);
                out.printf("%6d  %-8s  %10.3f  %10.3f  %10.2e  %12s  %12.2f%n", d, mode.name().toLowerCase(), svdPerStep,
                        perStep, error,
                        toTau < 0 ? "not in 200" : Integer.toString(toTau), secondsToTau);
                out.flush();
            }
        }
        out.println("(SVD s/step: time inside the SVD backend; s/step: the whole step, including generating the synthetic"
                + " batch and building M, the same for every mode)");
        return 0;
    }

    /** Counts the time spent inside the SVD backend. */
    static final class TimedSvd implements SvdBackend {
        final SvdBackend inner;
        long nanos;

        TimedSvd(SvdBackend inner) {
            this.inner = inner;
        }

        public String name() { return inner.name(); }
        public int priority() { return inner.priority(); }
        public dev.eva4j.spi.Availability availability() { return inner.availability(); }
        public boolean supportsFloat64() { return inner.supportsFloat64(); }

        public void topK(List<dev.eva4j.spi.TopKProblem> batch, Mode mode) {
            long t0 = System.nanoTime();
            inner.topK(batch, mode);
            nanos += System.nanoTime() - t0;
        }
    }

    static double subspaceError(float[] exact, float[] other, int top, int d) {
        double worst = 0;
        for (int i = 0; i < top; i++) {
            double dot = 0;
            for (int j = 0; j < d; j++) dot += (double) exact[i * d + j] * other[i * d + j];
            worst = Math.max(worst, 1 - Math.abs(dot));
        }
        return worst;
    }
}
