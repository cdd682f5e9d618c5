package dev.eva4j.models.nn;

import dev.eva4j.spi.Buffer;

/**
 * A forward pass that kept what its backward pass needs (per-layer activations, norm statistics, attention
 * probabilities, LoRA branch inputs). Owned by the model that made it and reused for the next batch of the same
 * shape: valid until the model's next training forward pass or {@code close}.
 */
public interface TrainingPass {

    /** The last hidden state [B*T, C]. */
    Buffer hidden();

    /**
     * Back-propagates {@code dHidden} [B*T, C] through the whole model, adding into the LoRA gradients (the base
     * weights are frozen).
     */
    void backward(Buffer dHidden);
}
