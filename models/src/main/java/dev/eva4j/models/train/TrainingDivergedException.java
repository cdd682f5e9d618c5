package dev.eva4j.models.train;

/** The loss or the gradient norm became NaN or infinite: training stopped, the last good checkpoint is kept. */
public final class TrainingDivergedException extends RuntimeException {
    private final long step;

    TrainingDivergedException(long step, String what, java.nio.file.Path lastCheckpoint) {
        super(what + " at optimiser step " + step + "; training stopped"
                + (lastCheckpoint != null ? ", last good checkpoint: " + lastCheckpoint : " before any checkpoint")
                + " (try a lower --lr, or --clip)");
        this.step = step;
    }

    /** The optimiser step (1-based) whose loss or gradient was not finite. */
    public long step() {
        return step;
    }
}
