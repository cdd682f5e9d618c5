package dev.eva4j.api.eva;

import dev.eva4j.spi.InvalidInputException;

import dev.eva4j.spi.SvdBackend;
import java.util.Objects;

/**
 * Every setting of EVA (docs/eva.md), with the reference's defaults. Invalid values are rejected with an
 * {@link IllegalArgumentException} naming the field and its allowed range.
 *
 * @param r                    LoRA rank per layer before redistribution (>= 1) [16]
 * @param alpha                LoRA alpha (> 0) [8, PEFT's default]
 * @param rho                  components tracked per layer = round(r * rho), >= 1 [2.0]
 * @param tau                  cosine-similarity threshold for convergence, in [0, 1] [0.99]
 * @param whiten               divide A's rows by sqrt(singular value) [false]
 * @param adjustScalingFactors alpha_l = alpha * rank_l / r for redistributed ranks [true]
 * @param useLabelMask         drop positions whose label equals labelMaskValue [true]
 * @param labelMaskValue       [-100]
 * @param maxSteps             cap on incremental steps (forward passes), >= 1 [1000]
 * @param acceptUnconverged    after maxSteps, keep unconverged layers as they are instead of failing [false]
 * @param seed                 seed of the randomised SVD sketches [42]
 * @param svd                  SVD mode [LOWRANK, the reference's]
 * @param precision            element type of the stacked matrix M and of the SVD [FLOAT32]; the running mean and
 *                             variance are float64 either way, and the adapter is written as float32
 */
public record EvaConfig(int r, double alpha, double rho, double tau, boolean whiten, boolean adjustScalingFactors,
                        boolean useLabelMask, int labelMaskValue, int maxSteps, boolean acceptUnconverged, long seed,
                        SvdBackend.Mode svd, Precision precision) {

    /**
     * Arithmetic of the incremental PCA. FLOAT32 (default): M, the SVD and the stored components in float32, the
     * statistics in float64. FLOAT64: all of it in float64 (twice the memory per step), for results that do not
     * depend on float32 rounding; needs an SVD backend whose {@link SvdBackend#supportsFloat64()} is true.
     */
    public enum Precision { FLOAT32, FLOAT64 }

    /** A float32 configuration (the constructor before {@code precision} existed). */
    public EvaConfig(int r, double alpha, double rho, double tau, boolean whiten, boolean adjustScalingFactors,
                     boolean useLabelMask, int labelMaskValue, int maxSteps, boolean acceptUnconverged, long seed,
                     SvdBackend.Mode svd) {
        this(r, alpha, rho, tau, whiten, adjustScalingFactors, useLabelMask, labelMaskValue, maxSteps,
                acceptUnconverged, seed, svd, Precision.FLOAT32);
    }

    public EvaConfig {
        if (r < 1) throw new InvalidInputException("r must be >= 1, got " + r);
        if (!(alpha > 0) || Double.isInfinite(alpha)) throw new InvalidInputException("alpha must be > 0 and finite, got " + alpha);
        if (!(rho >= 1) || Double.isInfinite(rho)) throw new InvalidInputException("rho must be >= 1 and finite, got " + rho);
        if (!(tau >= 0 && tau <= 1)) throw new InvalidInputException("tau must be in [0, 1], got " + tau);
        if (maxSteps < 1) throw new InvalidInputException("max_steps must be >= 1, got " + maxSteps);
        Objects.requireNonNull(svd, "svd");
        Objects.requireNonNull(precision, "precision");
    }

    public static EvaConfig defaults() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Components tracked per layer: round(r * rho), halves to even as Python's round (the reference). */
    public int components() {
        return (int) Math.rint(r * rho);
    }

    public Builder toBuilder() {
        return new Builder().r(r).alpha(alpha).rho(rho).tau(tau).whiten(whiten)
                .adjustScalingFactors(adjustScalingFactors).useLabelMask(useLabelMask).labelMaskValue(labelMaskValue)
                .maxSteps(maxSteps).acceptUnconverged(acceptUnconverged).seed(seed).svd(svd).precision(precision);
    }

    public static final class Builder {
        private int r = 16;
        private double alpha = 8;
        private double rho = 2.0;
        private double tau = 0.99;
        private boolean whiten;
        private boolean adjustScalingFactors = true;
        private boolean useLabelMask = true;
        private int labelMaskValue = -100;
        private int maxSteps = 1000;
        private boolean acceptUnconverged;
        private long seed = 42;
        private SvdBackend.Mode svd = SvdBackend.Mode.LOWRANK;
        private Precision precision = Precision.FLOAT32;

        public Builder r(int v) { r = v; return this; }
        public Builder alpha(double v) { alpha = v; return this; }
        public Builder rho(double v) { rho = v; return this; }
        public Builder tau(double v) { tau = v; return this; }
        public Builder whiten(boolean v) { whiten = v; return this; }
        public Builder adjustScalingFactors(boolean v) { adjustScalingFactors = v; return this; }
        public Builder useLabelMask(boolean v) { useLabelMask = v; return this; }
        public Builder labelMaskValue(int v) { labelMaskValue = v; return this; }
        public Builder maxSteps(int v) { maxSteps = v; return this; }
        public Builder acceptUnconverged(boolean v) { acceptUnconverged = v; return this; }
        public Builder seed(long v) { seed = v; return this; }
        public Builder svd(SvdBackend.Mode v) { svd = v; return this; }
        public Builder precision(Precision v) { precision = v; return this; }

        public EvaConfig build() {
            return new EvaConfig(r, alpha, rho, tau, whiten, adjustScalingFactors, useLabelMask, labelMaskValue,
                    maxSteps, acceptUnconverged, seed, svd, precision);
        }
    }
}
