package dev.eva4j.models.train;

import dev.eva4j.spi.InvalidInputException;

import dev.eva4j.models.Batch;
import dev.eva4j.models.TransformerModel;
import dev.eva4j.models.nn.ClassificationHead;
import dev.eva4j.models.nn.Lora;
import dev.eva4j.models.nn.ParameterBlock;
import java.util.List;

/** Sequence classification: pooled output into a trained linear head, cross-entropy against the record's label. */
public final class ClassifyTask implements Task {
    private final TransformerModel model;
    private final ClassificationHead head;
    private int[] lastLabels;

    public ClassifyTask(TransformerModel model, ClassificationHead head) {
        this.model = model;
        this.head = head;
    }

    public ClassificationHead head() {
        return head;
    }

    @Override
    public String name() {
        return "classify";
    }

    @Override
    public double loss(Batch batch, Lora lora, boolean backward, float gradScale) {
        int[] labels = batch.classLabels();
        if (labels == null) {
            throw new InvalidInputException("--task classify needs a \"label\" in every record (an integer class)");
        }
        for (int y : labels) {
            if (y != -100 && (y < 0 || y >= head.numLabels())) {
                throw new InvalidInputException("label " + y + " is outside [0, " + head.numLabels()
                        + ") (--num-labels " + head.numLabels() + ")");
            }
        }
        lastLabels = labels;
        return head.loss(model, batch, labels, lora, backward, gradScale);
    }

    @Override
    public Accuracy lastAccuracy() {
        float[] p = head.lastProbabilities();
        int K = head.numLabels();
        long correct = 0, counted = 0;
        for (int b = 0; b < lastLabels.length; b++) {
            if (lastLabels[b] == -100) continue;
            int best = 0;
            for (int c = 1; c < K; c++) if (p[b * K + c] > p[b * K + best]) best = c;
            counted++;
            if (best == lastLabels[b]) correct++;
        }
        return new Accuracy(correct, counted);
    }

    @Override
    public List<ParameterBlock[]> trainable() {
        return List.<ParameterBlock[]>of(new ParameterBlock[] {head.params(), head.grads()});
    }

    @Override
    public void close() {
        head.close();
    }
}
