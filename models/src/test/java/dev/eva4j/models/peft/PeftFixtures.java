package dev.eva4j.models.peft;

import dev.eva4j.cpu.java.JavaBackend;
import dev.eva4j.cpu.openblas.OpenBlasBackend;
import dev.eva4j.models.Batch;
import dev.eva4j.models.TransformerModel;
import dev.eva4j.models.llama.LlamaModel;
import dev.eva4j.models.nn.ClassificationHead;
import dev.eva4j.models.nn.Lora;
import dev.eva4j.models.nn.ParameterBlock;
import dev.eva4j.spi.Buffer;
import dev.eva4j.spi.ComputeBackend;
import dev.eva4j.spi.Kernels;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.util.Random;

/** Shared pieces of the PEFT tests: a backend, seeded adapters with non-zero B, batches, outputs, comparisons. */
final class PeftFixtures {
    static final ComputeBackend BACKEND = cpuBackend();

    private PeftFixtures() {}

    private static ComputeBackend cpuBackend() {
        ComputeBackend b = new OpenBlasBackend();
        return b.isAvailable() ? b : new JavaBackend();
    }

    /** Every A and B of {@code lora} drawn N(0, std^2) from {@code seed} (B non-zero, so the adapter does something). */
    static void randomise(Lora lora, double std, long seed) {
        Random rnd = new Random(seed);
        for (ParameterBlock.Spec s : lora.params().specs()) {
            float[] v = new float[Math.toIntExact(s.length())];
            for (int i = 0; i < v.length; i++) v[i] = (float) (std * rnd.nextGaussian());
            lora.params().write(s.name(), v);
        }
    }

    /** The head's weight and bias drawn N(0, 0.5^2). */
    static void randomise(ClassificationHead head, long seed) {
        Random rnd = new Random(seed);
        for (ParameterBlock.Spec s : head.params().specs()) {
            float[] v = new float[Math.toIntExact(s.length())];
            for (int i = 0; i < v.length; i++) v[i] = (float) (0.5 * rnd.nextGaussian());
            head.params().write(s.name(), v);
        }
    }

    /** B sequences of random ids in [4, vocab), right-padded: sequence b has T - b real tokens. */
    static Batch batch(int vocab, int B, int T, long seed) {
        Random rnd = new Random(seed);
        int[] ids = new int[B * T], mask = new int[B * T];
        for (int b = 0; b < B; b++) {
            for (int t = 0; t < T; t++) {
                boolean real = t < T - b;
                ids[b * T + t] = real ? 4 + rnd.nextInt(vocab - 4) : 0;
                mask[b * T + t] = real ? 1 : 0;
            }
        }
        return Batch.of(B, T, ids, mask);
    }

    /** The last hidden state [B*T*C] with the adapters (null: none). */
    static float[] hidden(TransformerModel model, Batch batch, Lora lora) {
        try (Arena arena = Arena.ofConfined()) {
            return model.forward(batch, lora, arena).toArray(ValueLayout.JAVA_FLOAT);
        }
    }

    /** Llama logits [B*T*V] with the adapters (null: none): the hidden state times lm_head. */
    static float[] logits(LlamaModel model, Batch batch, Lora lora) {
        Kernels k = model.kernels();
        int N = batch.tokens(), V = model.vocabSize(), C = model.hiddenSize();
        Buffer h = model.hidden(batch, lora);
        try (Buffer logits = k.allocateFloats((long) N * V)) {
            k.matmulForward(logits, h, model.weights().lmHead(), null, N, C, V);
            float[] out = new float[N * V];
            k.download(logits, 0, out);
            return out;
        }
    }

    /** ||a - b|| / ||b||. */
    static double relativeNormDiff(float[] a, float[] b) {
        if (a.length != b.length) throw new AssertionError("lengths " + a.length + " and " + b.length);
        double d = 0, n = 0;
        for (int i = 0; i < a.length; i++) {
            d += (a[i] - (double) b[i]) * (a[i] - (double) b[i]);
            n += (double) b[i] * b[i];
        }
        return Math.sqrt(d / n);
    }

    /** max |a - b|. */
    static double maxAbsDiff(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - (double) b[i]));
        return m;
    }
}
