package dev.eva4j.cli;

import java.io.PrintWriter;

/**
 * A one-line progress bar on stderr: redrawn in place on a terminal, a line every few seconds otherwise (logs, CI).
 */
final class ProgressBar implements AutoCloseable {
    private static final long QUIET_INTERVAL_NANOS = 5_000_000_000L;
    private final PrintWriter err;
    private final String label;
    private final boolean terminal = System.console() != null;
    private final long start = System.nanoTime();
    private long lastPrint;
    private String last = "";

    ProgressBar(PrintWriter err, String label) {
        this.err = err;
        this.label = label;
    }

    void update(int step, int maxSteps, int done, int total, long tokens) {
        double seconds = Math.max(1e-9, (System.nanoTime() - start) * 1e-9);
        show(done, total, String.format("step %d/%d  layers converged %d/%d  %,d tokens  %,.0f tok/s", step, maxSteps,
                done, total, tokens, tokens / seconds));
    }

    /** Draws the bar filled {@code done / total}, followed by {@code detail}. */
    void show(long done, long total, String detail) {
        int width = 24, filled = total <= 0 ? width : (int) (width * Math.min(done, total) / total);
        last = String.format("%s [%s%s] %s", label, "#".repeat(filled), ".".repeat(width - filled), detail);
        long now = System.nanoTime();
        if (terminal) {
            err.print("\r" + last);
            err.flush();
        } else if (now - lastPrint >= QUIET_INTERVAL_NANOS) {
            err.println(last);
            err.flush();
            lastPrint = now;
        }
    }

    @Override
    public void close() {
        if (terminal) err.println();
        else if (!last.isEmpty()) err.println(last);
        err.flush();
    }
}
