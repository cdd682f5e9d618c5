package dev.eva4j.models.train;

import dev.eva4j.models.Batch;
import dev.eva4j.models.llama.LlamaModel;
import dev.eva4j.models.nn.Lora;
import dev.eva4j.models.nn.ParameterBlock;
import java.util.List;

/**
 * Causal language modelling (Llama family): labels are the input ids, or the record's {@code labels} when given;
 * padding and -100 positions are not predicted; the loss is the mean over counted next-token predictions.
 */
public final class LmTask implements Task {
    private final LlamaModel model;
    private Batch last;

    public LmTask(LlamaModel model) {
        this.model = model;
    }

    @Override
    public String name() {
        return "lm";
    }

    @Override
    public double loss(Batch batch, Lora lora, boolean backward, float gradScale) {
        last = batch;
        return model.causalLmLoss(batch, lora, backward, gradScale);
    }

    @Override
    public Accuracy lastAccuracy() {
        int[] targets = LlamaModel.nextTokenTargets(last);
        int[] predicted = model.lastPredictions();
        long correct = 0, counted = 0;
        for (int i = 0; i < targets.length; i++) {
            if (targets[i] == LlamaModel.IGNORE_INDEX) continue;
            counted++;
            if (predicted[i] == targets[i]) correct++;
        }
        return new Accuracy(correct, counted);
    }

    @Override
    public List<ParameterBlock[]> trainable() {
        return List.of();
    }
}
