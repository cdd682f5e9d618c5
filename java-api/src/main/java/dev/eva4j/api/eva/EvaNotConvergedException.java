package dev.eva4j.api.eva;

import java.util.List;

/** max_steps passed with layers whose components have not converged (and the user did not accept that). */
public final class EvaNotConvergedException extends IllegalStateException {
    private final transient EvaResult partial;

    EvaNotConvergedException(EvaResult partial) {
        super(message(partial.steps(), partial.unconverged()));
        this.partial = partial;
    }

    private static String message(int steps, List<String> layers) {
        String names = String.join(", ", layers.subList(0, Math.min(6, layers.size())))
                + (layers.size() > 6 ? " and " + (layers.size() - 6) + " more" : "");
        return layers.size() + " layer(s) did not converge in max_steps = " + steps + ": " + names
                + " (raise --max-steps, lower --tau, or accept them as they are with --accept-unconverged)";
    }

    /** The result as it stood, with every layer's state. */
    public EvaResult partial() {
        return partial;
    }
}
