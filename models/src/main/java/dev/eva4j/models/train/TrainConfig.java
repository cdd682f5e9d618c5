package dev.eva4j.models.train;

import dev.eva4j.spi.InvalidInputException;

/**
 * How to train (defaults in brackets, as Hugging Face's Trainer and PEFT examples use them): peak learning rate
 * [2e-4], AdamW betas [0.9, 0.999], eps [1e-8], weight decay [0], schedule [linear] with a warm-up ratio [0],
 * gradient accumulation [1 micro-batch per step], gradient-norm clipping [1.0; 0 = off], length as epochs [1] or
 * max optimiser steps [-1 = from epochs], batch size [16], max sequence length [128], shuffling per epoch with
 * {@code seed + epoch} [on], the seed [42] (shuffling, initialisation, dropout masks), evaluation [every 0 = at the
 * end only] and checkpoints [every 0 = at the end only] in optimiser steps.
 */
public record TrainConfig(double lr, double beta1, double beta2, double eps, double weightDecay, LrSchedule schedule,
                          double warmupRatio, int gradAccum, double clip, int epochs, long maxSteps, int batchSize,
                          int maxLength, boolean shuffle, long seed, long evalEvery, long checkpointEvery) {
    public TrainConfig {
        check(lr > 0 && Double.isFinite(lr), "--lr must be > 0, got " + lr);
        check(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1, "AdamW betas must be in [0, 1)");
        check(eps > 0, "AdamW eps must be > 0");
        check(weightDecay >= 0, "--weight-decay must be >= 0, got " + weightDecay);
        check(schedule != null, "schedule is null");
        check(warmupRatio >= 0 && warmupRatio < 1, "--warmup must be in [0, 1), got " + warmupRatio);
        check(gradAccum >= 1, "--grad-accum must be >= 1, got " + gradAccum);
        check(clip >= 0, "--clip must be >= 0 (0 = off), got " + clip);
        check(epochs >= 1, "--epochs must be >= 1, got " + epochs);
        check(maxSteps == -1 || maxSteps >= 1, "--max-steps must be >= 1, got " + maxSteps);
        check(batchSize >= 1, "--batch-size must be >= 1, got " + batchSize);
        check(maxLength >= 2, "--max-length must be >= 2, got " + maxLength);
        check(evalEvery >= 0, "--eval-every must be >= 0, got " + evalEvery);
        check(checkpointEvery >= 0, "--checkpoint-every must be >= 0, got " + checkpointEvery);
    }

    private static void check(boolean ok, String message) {
        if (!ok) throw new InvalidInputException(message);
    }

    public static TrainConfig defaults() {
        return new TrainConfig(2e-4, 0.9, 0.999, 1e-8, 0, LrSchedule.LINEAR, 0, 1, 1.0, 1, -1, 16, 128, true, 42, 0, 0);
    }

    public TrainConfig withLr(double v) {
        return new TrainConfig(v, beta1, beta2, eps, weightDecay, schedule, warmupRatio, gradAccum, clip, epochs,
                maxSteps, batchSize, maxLength, shuffle, seed, evalEvery, checkpointEvery);
    }

    public TrainConfig withSteps(int epochs, long maxSteps) {
        return new TrainConfig(lr, beta1, beta2, eps, weightDecay, schedule, warmupRatio, gradAccum, clip, epochs,
                maxSteps, batchSize, maxLength, shuffle, seed, evalEvery, checkpointEvery);
    }

    public TrainConfig withBatch(int batchSize, int maxLength, int gradAccum) {
        return new TrainConfig(lr, beta1, beta2, eps, weightDecay, schedule, warmupRatio, gradAccum, clip, epochs,
                maxSteps, batchSize, maxLength, shuffle, seed, evalEvery, checkpointEvery);
    }

    public TrainConfig withSchedule(LrSchedule s, double warmup) {
        return new TrainConfig(lr, beta1, beta2, eps, weightDecay, s, warmup, gradAccum, clip, epochs, maxSteps,
                batchSize, maxLength, shuffle, seed, evalEvery, checkpointEvery);
    }

    public TrainConfig withOptimizer(double weightDecay, double clip) {
        return new TrainConfig(lr, beta1, beta2, eps, weightDecay, schedule, warmupRatio, gradAccum, clip, epochs,
                maxSteps, batchSize, maxLength, shuffle, seed, evalEvery, checkpointEvery);
    }

    public TrainConfig withShuffle(boolean on, long seed) {
        return new TrainConfig(lr, beta1, beta2, eps, weightDecay, schedule, warmupRatio, gradAccum, clip, epochs,
                maxSteps, batchSize, maxLength, on, seed, evalEvery, checkpointEvery);
    }

    public TrainConfig withEvery(long evalEvery, long checkpointEvery) {
        return new TrainConfig(lr, beta1, beta2, eps, weightDecay, schedule, warmupRatio, gradAccum, clip, epochs,
                maxSteps, batchSize, maxLength, shuffle, seed, evalEvery, checkpointEvery);
    }

    /** Optimiser steps of the run: max steps when set, else epochs times the steps of one pass over the data. */
    public long totalSteps(long batchesPerEpoch) {
        if (maxSteps > 0) return maxSteps;
        return epochs * Math.max(1, (batchesPerEpoch + gradAccum - 1) / gradAccum);
    }
}
