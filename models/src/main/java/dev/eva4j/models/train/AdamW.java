package dev.eva4j.models.train;

import dev.eva4j.models.nn.ParameterBlock;
import dev.eva4j.spi.Kernels;
import java.util.ArrayList;
import java.util.List;

/**
 * AdamW over parameter blocks (the LoRA block, a head's block), each with a gradient block of the same layout and
 * first and second moments kept in two more: one kernel call per block and step. The global gradient norm spans
 * every block, as PyTorch's {@code clip_grad_norm_} computes it.
 */
public final class AdamW implements AutoCloseable {
    /** A trainable block, its gradients and its moments. */
    public record Group(String name, ParameterBlock params, ParameterBlock grads, ParameterBlock m, ParameterBlock v) {}

    private final Kernels k;
    private final TrainConfig config;
    private final List<Group> groups = new ArrayList<>();
    private int step;

    public AdamW(Kernels kernels, TrainConfig config) {
        this.k = kernels;
        this.config = config;
    }

    /** Adds a block to optimise, with zeroed moments. */
    public void add(String name, ParameterBlock params, ParameterBlock grads) {
        groups.add(new Group(name, params, grads, ParameterBlock.allocate(k, params.specs()),
                ParameterBlock.allocate(k, params.specs())));
    }

    public List<Group> groups() {
        return List.copyOf(groups);
    }

    /** Optimiser steps taken. */
    public int steps() {
        return step;
    }

    /** Restores the step count (with the moments, from a checkpoint). */
    public void restoreSteps(int steps) {
        this.step = steps;
    }

    /** Sets every gradient to zero. */
    public void zeroGrads() {
        for (Group g : groups) k.fill(g.grads().buffer(), 0, g.grads().size());
    }

    /** The L2 norm of all gradients together. */
    public double gradNorm() {
        double sq = 0;
        for (Group g : groups) {
            double n = k.norm(g.grads().buffer(), g.grads().size());
            sq += n * n;
        }
        return Math.sqrt(sq);
    }

    /** Scales every gradient so the global norm is at most {@code maxNorm} (PyTorch: coef = max / (norm + 1e-6)). */
    public void clip(double norm, double maxNorm) {
        double coef = maxNorm / (norm + 1e-6);
        if (coef >= 1) return;
        for (Group g : groups) k.scale(g.grads().buffer(), coef, g.grads().size());
    }

    /** One AdamW step at learning rate {@code lr}. */
    public void step(double lr) {
        step++;
        for (Group g : groups) {
            k.adamw(g.params().buffer(), g.grads().buffer(), g.m().buffer(), g.v().buffer(), g.params().size(),
                    (float) lr, (float) config.beta1(), (float) config.beta2(), (float) config.eps(),
                    (float) config.weightDecay(), step);
        }
    }

    @Override
    public void close() {
        for (Group g : groups) {
            g.m().close();
            g.v().close();
        }
    }
}
