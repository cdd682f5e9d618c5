package dev.eva4j.models.nn;

import dev.eva4j.spi.InvalidInputException;

import dev.eva4j.models.Batch;
import dev.eva4j.models.TransformerModel;
import dev.eva4j.spi.Buffer;
import dev.eva4j.spi.Kernels;
import java.util.List;
import java.util.Random;

/**
 * Sequence classification on top of a transformer: the last hidden state pooled per sequence (mean over real tokens,
 * as sentence-transformers does, or the first token, BERT's [CLS]), then a trained linear layer
 * {@code classifier.weight} [K, C], {@code classifier.bias} [K] into K logits, and softmax cross-entropy against one
 * label per sequence (-100: ignored). The head's parameters and gradients are one block each, like the adapters.
 */
public final class ClassificationHead implements AutoCloseable {
    /** How a sequence's token states become one vector. */
    public enum Pooling { MEAN, CLS }

    public static final String WEIGHT = "classifier.weight";
    public static final String BIAS = "classifier.bias";

    private final Kernels k;
    private final int hidden, labels;
    private final Pooling pooling;
    private final ParameterBlock params, grads;
    private final Workspace ws;
    private int B = -1, T = -1;
    private Buffer mask, target, pooled, logits, probs, dPooled, dHidden;

    /**
     * A head for {@code numLabels} classes over hidden size {@code hiddenSize}; the weight starts as PyTorch's
     * nn.Linear default (uniform in +-1/sqrt(C), seeded), the bias at 0.
     */
    public ClassificationHead(Kernels kernels, int hiddenSize, int numLabels, Pooling pooling, long seed) {
        if (numLabels < 2) throw new InvalidInputException("classification needs at least 2 labels, got " + numLabels);
        this.k = kernels;
        this.hidden = hiddenSize;
        this.labels = numLabels;
        this.pooling = pooling;
        var specs = List.of(new ParameterBlock.Spec(WEIGHT, numLabels, hiddenSize), new ParameterBlock.Spec(BIAS, numLabels));
        this.params = ParameterBlock.allocate(kernels, specs);
        this.grads = ParameterBlock.allocate(kernels, specs);
        this.ws = new Workspace(kernels);
        Random rnd = new Random(seed);
        float[] w = new float[numLabels * hiddenSize];
        double bound = 1 / Math.sqrt(hiddenSize);
        for (int i = 0; i < w.length; i++) w[i] = (float) ((rnd.nextDouble() * 2 - 1) * bound);
        params.write(WEIGHT, w);
    }

    public ParameterBlock params() {
        return params;
    }

    public ParameterBlock grads() {
        return grads;
    }

    public int numLabels() {
        return labels;
    }

    public Pooling pooling() {
        return pooling;
    }

    /**
     * The mean cross-entropy over the sequences whose label is not -100; with {@code backward} (training mode, LoRA
     * dropout on), adds its gradient into the head's gradients and, through the model's backward pass, the adapters'
     * gradients; without, an evaluation in inference mode.
     *
     * @param sequenceLabels one label in [0, K) (or -100) per sequence
     */
    public double loss(TransformerModel model, Batch batch, int[] sequenceLabels, Lora lora, boolean backward) {
        return loss(model, batch, sequenceLabels, lora, backward, 1f);
    }

    /** As {@link #loss(TransformerModel, Batch, int[], Lora, boolean)}, the gradient scaled by {@code gradScale}. */
    public double loss(TransformerModel model, Batch batch, int[] sequenceLabels, Lora lora, boolean backward,
                       float gradScale) {
        if (sequenceLabels.length != batch.batchSize()) {
            throw new IllegalArgumentException("classification: " + sequenceLabels.length + " labels for "
                    + batch.batchSize() + " sequences");
        }
        TrainingPass pass = backward ? model.train(batch, lora) : null;
        forwardHead(backward ? pass.hidden() : model.hidden(batch, lora), batch, sequenceLabels);
        double loss = k.crossEntropyForward(probs, logits, target, B, labels, -100);
        if (backward) {
            Buffer dLogits = logits;
            k.fill(dLogits, 0, (long) B * labels);
            k.crossEntropyBackward(dLogits, probs, target, B, labels, -100, gradScale);
            k.fill(dPooled, 0, (long) B * hidden);
            k.matmulBackward(dPooled, grads.get(WEIGHT), grads.get(BIAS), dLogits, pooled, params.get(WEIGHT), B,
                    hidden, labels);
            k.fill(dHidden, 0, (long) B * T * hidden);
            if (pooling == Pooling.MEAN) k.meanPoolBackward(dHidden, dPooled, mask, B, T, hidden);
            else k.clsPoolBackward(dHidden, dPooled, B, T, hidden);
            pass.backward(dHidden);
        }
        return loss;
    }

    /** Class probabilities [B, K] of a batch (inference with the adapters), row-major on the host. */
    public float[] probabilities(TransformerModel model, Batch batch, Lora lora) {
        int[] none = new int[batch.batchSize()];
        java.util.Arrays.fill(none, -100);
        forwardHead(model.hidden(batch, lora), batch, none);
        k.crossEntropyForward(probs, logits, target, B, labels, -100);
        float[] out = new float[B * labels];
        k.download(probs, 0, out);
        return out;
    }

    /** Class probabilities [B, K] of the last {@link #loss} call, row-major on the host. */
    public float[] lastProbabilities() {
        if (probs == null) throw new IllegalStateException("no loss computed yet");
        float[] out = new float[B * labels];
        k.download(probs, 0, out);
        return out;
    }

    private void forwardHead(Buffer hiddenState, Batch batch, int[] sequenceLabels) {
        if (batch.batchSize() != B || batch.seqLen() != T) {
            ws.close();
            B = batch.batchSize();
            T = batch.seqLen();
            mask = ws.ints(B * T);
            target = ws.ints(B);
            pooled = ws.floats((long) B * hidden);
            logits = ws.floats((long) B * labels);
            probs = ws.floats((long) B * labels);
            dPooled = ws.floats((long) B * hidden);
            dHidden = ws.floats((long) B * T * hidden);
        }
        k.upload(mask, 0, batch.attentionMask());
        k.upload(target, 0, sequenceLabels);
        if (pooling == Pooling.MEAN) k.meanPoolForward(pooled, hiddenState, mask, B, T, hidden);
        else k.clsPoolForward(pooled, hiddenState, B, T, hidden);
        k.matmulForward(logits, pooled, params.get(WEIGHT), params.get(BIAS), B, hidden, labels);
    }

    @Override
    public void close() {
        ws.close();
        params.close();
        grads.close();
    }
}
