package dev.eva4j.spi;

import java.util.List;

/**
 * Top-k singular value decompositions for EVA's incremental PCA: one call takes every layer group's problem of one
 * forward pass as a batch (one launch sequence on a GPU, not one per layer). Also serves thin top-k SVDs of weight
 * matrices (PiSSA-style baselines).
 */
public interface SvdBackend extends Provider {

    /** How the top-k triplets are found. */
    enum Mode {
        /** A full thin SVD (LAPACK gesdd on the CPU), truncated to k. */
        EXACT,
        /** Randomised: q = 2k Gaussian sketch columns (fixed seed), 4 power iterations — the reference's choice. */
        LOWRANK,
        /**
         * Subspace iteration started from the previous components ({@link TopKProblem#warmStart()}) plus k random
         * columns, without power iterations (a Rayleigh-Ritz step on that span); falls back to {@link #LOWRANK} when a problem has no warm start.
         */
        WARM
    }

    /**
     * Solves every problem of the batch: fills each problem's singular values (descending) and right-singular
     * vectors (unit rows). Signs are not normalised here. A backend whose {@link #supportsFloat64()} is false
     * throws an {@link IllegalArgumentException} for a {@link DType#F64} problem (it never reads one as float32).
     */
    void topK(List<TopKProblem> batch, Mode mode);

    /**
     * Whether {@link #topK} solves {@link DType#F64} problems in double precision throughout. False by default:
     * a backend that computes in float32 only must leave it false, and callers that ask for float64 (EVA's
     * {@code precision = F64}) refuse such a backend with an error instead of silently computing in float32.
     */
    default boolean supportsFloat64() {
        return false;
    }

    /**
     * This SVD backend computing on {@code compute}, the compute backend the run was given (the user's
     * {@code --backend}, or the best available one), or this backend unchanged when it cannot compute there or has
     * no use for a compute backend (the default). The Guice wiring calls it unless the user named an SVD backend,
     * so that the SVDs follow the chosen compute backend. Must not throw for an available {@code compute}.
     */
    default SvdBackend using(ComputeBackend compute) {
        return this;
    }
}
