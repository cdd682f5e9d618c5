package dev.eva4j.models.peft;

import dev.eva4j.spi.InvalidInputException;

import dev.eva4j.models.Batch;
import dev.eva4j.models.TransformerModel;
import dev.eva4j.models.data.BatchReader;
import dev.eva4j.models.llama.LlamaModel;
import dev.eva4j.models.nn.ClassificationHead;
import dev.eva4j.models.nn.Lora;
import dev.eva4j.spi.Buffer;
import dev.eva4j.spi.DType;
import dev.eva4j.spi.Kernels;
import java.io.IOException;
import java.util.Arrays;

/**
 * Loss and accuracy of a model with LoRA adapters (inference mode: no dropout) over a data file.
 *
 * <ul>
 *   <li>Classification: the head's cross-entropy against each record's {@code label} and the share of records whose
 *       highest-probability class is the label. Records without a label are skipped.</li>
 *   <li>Causal LM: Hugging Face's next-token cross-entropy over the counted positions (labels, or input ids, shifted
 *       by one; padding and -100 ignored) and the share of counted positions whose highest logit is the next token.</li>
 * </ul>
 * The loss is the mean over all counted sequences or positions of the file (each batch's mean weighted by its count).
 */
public final class AdapterEvaluation {

    /**
     * The result over a data file.
     *
     * @param loss    mean cross-entropy over the counted items
     * @param correct items whose prediction is right
     * @param counted sequences (classification) or next-token positions (LM) counted
     */
    public record Result(double loss, long correct, long counted, long[][] confusion) {
        public Result(double loss, long correct, long counted) {
            this(loss, correct, counted, null);
        }

        public double accuracy() {
            return counted == 0 ? 0 : (double) correct / counted;
        }

        /** F1 of class {@code c} from the confusion matrix (rows: true class, columns: predicted); NaN for lm. */
        public double f1(int c) {
            if (confusion == null) return Double.NaN;
            long tp = confusion[c][c], fp = 0, fn = 0;
            for (int k = 0; k < confusion.length; k++) {
                if (k == c) continue;
                fp += confusion[k][c];
                fn += confusion[c][k];
            }
            return tp == 0 ? 0 : 2.0 * tp / (2.0 * tp + fp + fn);
        }

        /** The mean of every class's F1; NaN for lm. */
        public double macroF1() {
            if (confusion == null) return Double.NaN;
            double s = 0;
            for (int c = 0; c < confusion.length; c++) s += f1(c);
            return s / confusion.length;
        }
    }

    private AdapterEvaluation() {}

    /**
     * Sequence classification. {@code lora} may be null (the base model, or a merged one).
     *
     * @throws IllegalArgumentException one line when the first batch has no label at all (not classification data),
     *                                  or a label is outside [0, K)
     */
    public static Result classify(TransformerModel model, Lora lora, ClassificationHead head, BatchReader batches)
            throws IOException {
        double lossSum = 0;
        long correct = 0, counted = 0;
        int K = head.numLabels();
        long[][] confusion = new long[K][K];
        boolean first = true;
        for (Batch batch; (batch = batches.next()) != null; first = false) {
            int[] labels = batch.classLabels();
            if (labels == null) {
                if (first) {
                    throw new InvalidInputException("the data has no \"label\" field; classify needs {\"text\", "
                            + "\"label\"} records (use --task lm for language modelling)");
                }
                continue;
            }
            int n = 0;
            for (int l : labels) {
                if (l == LlamaModel.IGNORE_INDEX) continue;
                if (l < 0 || l >= K) {
                    throw new InvalidInputException("label " + l + " is outside [0, " + K + "): the head has " + K + " labels");
                }
                n++;
            }
            if (n == 0) continue;
            lossSum += head.loss(model, batch, labels, lora, false) * n;
            float[] probs = head.lastProbabilities();                         // [B, K] of that pass
            for (int b = 0; b < labels.length; b++) {
                if (labels[b] == LlamaModel.IGNORE_INDEX) continue;
                int predicted = argmax(probs, b * K, K);
                confusion[labels[b]][predicted]++;
                if (predicted == labels[b]) correct++;
            }
            counted += n;
        }
        return new Result(counted == 0 ? 0 : lossSum / counted, correct, counted, confusion);
    }

    /** Causal language modelling with the model's LM head. {@code lora} may be null. */
    public static Result lm(LlamaModel model, Lora lora, BatchReader batches) throws IOException {
        Kernels k = model.kernels();
        int V = model.vocabSize(), C = model.hiddenSize();
        double lossSum = 0;
        long correct = 0, counted = 0;
        for (Batch batch; (batch = batches.next()) != null; ) {
            int N = batch.tokens();
            int[] targets = LlamaModel.nextTokenTargets(batch);
            int n = (int) Arrays.stream(targets).filter(t -> t != LlamaModel.IGNORE_INDEX).count();
            if (n == 0) continue;
            Buffer hidden = model.hidden(batch, lora);                                  // [N, C]
            try (Buffer logits = k.allocateFloats((long) N * V); Buffer probs = k.allocateFloats((long) N * V);
                 Buffer t = k.allocate(DType.I32, N)) {
                k.upload(t, 0, targets);
                k.matmulForward(logits, hidden, model.weights().lmHead(), null, N, C, V);   // [N, V]
                lossSum += k.crossEntropyForward(probs, logits, t, N, V, LlamaModel.IGNORE_INDEX) * n;
                float[] row = new float[V];
                for (int i = 0; i < N; i++) {
                    if (targets[i] == LlamaModel.IGNORE_INDEX) continue;
                    k.download(logits, (long) i * V, row);
                    if (argmax(row, 0, V) == targets[i]) correct++;
                }
            }
            counted += n;
        }
        return new Result(counted == 0 ? 0 : lossSum / counted, correct, counted);
    }

    /** The index of the largest of {@code x[from, from + n)} (the first one on ties). */
    private static int argmax(float[] x, int from, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) if (x[from + i] > x[from + best]) best = i;
        return best;
    }
}
