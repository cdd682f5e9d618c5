package dev.eva4j.cli;

import dev.eva4j.models.train.Trainer;
import java.io.PrintWriter;

/**
 * The trainer's progress on stderr: step/total, loss, learning rate, tokens/s and ETA of this session (a resumed run
 * counts from where it resumed), and the latest evaluation.
 */
final class TrainProgress implements Trainer.Listener, AutoCloseable {
    private final ProgressBar bar;
    private final long startNanos = System.nanoTime();
    private final long stepsBefore, tokensBefore;
    private Trainer.StepMetrics last;
    private Trainer.EvalMetrics lastEval;

    /** {@code stepsBefore}, {@code tokensBefore}: where a resumed run starts (0, 0 for a new one). */
    TrainProgress(PrintWriter err, long stepsBefore, long tokensBefore) {
        this.bar = new ProgressBar(err, "train");
        this.stepsBefore = stepsBefore;
        this.tokensBefore = tokensBefore;
    }

    @Override
    public void onStep(Trainer.StepMetrics m) {
        last = m;
        double seconds = seconds();
        long done = m.step() - stepsBefore;
        double eta = done == 0 ? 0 : seconds / done * (m.totalSteps() - m.step());
        String eval = lastEval == null ? "" : String.format("  eval loss %.4f%s", lastEval.loss(),
                Double.isNaN(lastEval.accuracy()) ? "" : String.format(" acc %.3f", lastEval.accuracy()));
        bar.show(m.step(), m.totalSteps(), String.format("step %d/%d  loss %.4f  lr %.2e  %,.0f tok/s  ETA %s%s",
                m.step(), m.totalSteps(), m.loss(), m.lr(), tokensPerSecond(), clock(eta), eval));
    }

    @Override
    public void onEval(Trainer.EvalMetrics m) {
        lastEval = m;
    }

    /** Real tokens per second of this session's optimiser steps (0 before the first). */
    double tokensPerSecond() {
        if (last == null) return 0;
        return (last.tokens() - tokensBefore) / Math.max(1e-9, seconds());
    }

    /** Seconds since this session's training began. */
    double seconds() {
        return (System.nanoTime() - startNanos) * 1e-9;
    }

    static String clock(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format("%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String.format("%d:%02d", s / 60, s % 60);
    }

    @Override
    public void close() {
        bar.close();
    }
}
