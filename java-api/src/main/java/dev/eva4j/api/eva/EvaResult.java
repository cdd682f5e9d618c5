package dev.eva4j.api.eva;

import java.util.List;
import java.util.Objects;

/** Per layer (declaration order) EVA's answer, and how the run went. */
public record EvaResult(EvaConfig config, List<LayerResult> layers, int steps, boolean converged,
                        List<String> unconverged, String allocator, Timings timings) {

    public EvaResult {
        Objects.requireNonNull(timings, "timings");
    }

    /** A result without timings (assembled elsewhere than by the engine). */
    public EvaResult(EvaConfig config, List<LayerResult> layers, int steps, boolean converged, List<String> unconverged,
                     String allocator) {
        this(config, layers, steps, converged, unconverged, allocator, Timings.NONE);
    }

    public int totalRank() {
        return layers.stream().mapToInt(LayerResult::rank).sum();
    }

    /**
     * Where the run's time went: waiting for the activation source (for a model: its forward passes), the
     * incremental SVD steps (stacking, decompositions, convergence checks), and the rest (allocation, bookkeeping);
     * the process's peak resident memory at the end; the process's CPU time during the run, the part of it the JIT
     * spent compiling (summed over its threads), and the share of the machine's CPU time that the host of a virtual
     * machine gave to other guests meanwhile (steal: on a shared machine the same run then takes longer). Each is
     * -1 where the platform does not tell.
     */
    public record Timings(double activationSeconds, double svdSeconds, double totalSeconds, long peakResidentBytes,
                          double cpuSeconds, double jitSeconds, double stealFraction) {
        public static final Timings NONE = new Timings(0, 0, 0, -1);

        /** Timings without the CPU figures. */
        public Timings(double activationSeconds, double svdSeconds, double totalSeconds, long peakResidentBytes) {
            this(activationSeconds, svdSeconds, totalSeconds, peakResidentBytes, -1, -1, -1);
        }

        public double otherSeconds() {
            return Math.max(0, totalSeconds - activationSeconds - svdSeconds);
        }
    }
}
