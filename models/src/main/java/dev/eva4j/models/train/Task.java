package dev.eva4j.models.train;

import dev.eva4j.models.Batch;
import dev.eva4j.models.nn.Lora;
import dev.eva4j.models.nn.ParameterBlock;
import java.util.List;

/** What the model is trained to do: sequence classification or causal language modelling. */
public interface Task extends AutoCloseable {

    /** "classify" or "lm". */
    String name();

    /**
     * The loss of one batch; with {@code backward} (training mode), adds {@code gradScale} times its gradient into the
     * adapters' and the task's own gradients.
     *
     * @throws IllegalArgumentException one line when the batch does not fit the task (no labels for classification)
     */
    double loss(Batch batch, Lora lora, boolean backward, float gradScale);

    /** Counted predictions of the last {@link #loss} call and how many of them were right. */
    Accuracy lastAccuracy();

    /** Real tokens of a batch (for tokens/s). */
    static long tokens(Batch batch) {
        long n = 0;
        for (int m : batch.attentionMask()) if (m != 0) n++;
        return n;
    }

    /** Trainable parameters of the task itself (a classification head), with their gradients; none for lm. */
    List<ParameterBlock[]> trainable();

    @Override
    default void close() {}

    /** Right predictions out of counted ones. */
    record Accuracy(long correct, long counted) {
        public double value() {
            return counted == 0 ? Double.NaN : (double) correct / counted;
        }
    }
}
