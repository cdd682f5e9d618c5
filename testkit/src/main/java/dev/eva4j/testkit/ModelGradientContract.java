package dev.eva4j.testkit;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eva4j.models.Batch;
import dev.eva4j.models.LinearModule;
import dev.eva4j.models.TransformerModel;
import dev.eva4j.models.bert.BertConfig;
import dev.eva4j.models.bert.BertModel;
import dev.eva4j.models.hf.HfFolder;
import dev.eva4j.models.llama.LlamaModel;
import dev.eva4j.models.nn.ClassificationHead;
import dev.eva4j.models.nn.Lora;
import dev.eva4j.models.tiny.TinyModels;
import dev.eva4j.models.tiny.TinySpec;
import dev.eva4j.spi.Buffer;
import dev.eva4j.spi.Kernels;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole-model part of the contract: LoRA gradients of tiny BERT and tiny Llama models (GQA, padding, llama3
 * rope scaling, qwen2 biases, tied embeddings, LoRA dropout), computed by back-propagation through the backend's
 * kernels. Two checks per model:
 * <ol>
 *   <li>the float64 reference backend's gradients against central finite differences of its own loss (every LoRA
 *       parameter of a few modules and random directions over all of them): relative error <= 1e-6, which proves the
 *       model's backward composition right, independently of any backend;</li>
 *   <li>the backend under test (float32) against those reference gradients, norm-wise relative error
 *       <= {@link #gradientTolerance()}, and its loss against the reference loss.</li>
 * </ol>
 * A subclass supplies {@link #kernels()}; the tiny models are generated with fixed seeds.
 */
public abstract class ModelGradientContract {
    /** Finite differences in float64 vs the reference's analytic gradients. */
    public static final double FD_TOLERANCE = 1e-6;

    @TempDir
    Path dir;

    /** The backend under test. */
    protected abstract Kernels kernels();

    /** Norm-wise relative tolerance of the float32 backend's whole-model gradients against the float64 reference. */
    protected double gradientTolerance() {
        return 1e-5;
    }

    /** The oracle. */
    protected Kernels reference() {
        return new ReferenceKernels();
    }

    private static TinySpec small(TinySpec s) {
        return s.withSize(40, 12, 20, 2, 3);
    }

    @Test
    void bertClassifierWithMeanPooling() throws IOException {
        check(small(TinySpec.bert()), ClassificationHead.Pooling.MEAN, 0f);
    }

    @Test
    void bertClassifierWithClsPoolingAndDropout() throws IOException {
        check(small(TinySpec.bert()).withSeed(7), ClassificationHead.Pooling.CLS, 0.25f);
    }

    @Test
    void llamaWithGroupedQueryAttention() throws IOException {
        check(TinySpec.llama().withSize(40, 16, 24, 2, 4).withKvHeads(2), null, 0f);
    }

    @Test
    void qwen2BiasesRopeScalingAndTiedEmbeddings() throws IOException {
        check(TinySpec.llama().withSize(40, 16, 24, 2, 4).withKvHeads(1).withQwen2Biases(true)
                .withLlama3RopeScaling(true).withTiedEmbeddings(true).withSeed(3), null, 0.2f);
    }

    /** The loss of one model with its adapters (and head), optionally back-propagated. */
    private record Setup(TransformerModel model, Lora lora, ClassificationHead head, Batch batch, int[] labels)
            implements AutoCloseable {
        double loss(boolean backward) {
            if (backward) {
                lora.zeroGrads();
                if (head != null) head.grads().kernels().fill(head.grads().buffer(), 0, head.grads().size());
            }
            if (head != null) return head.loss(model, batch, labels, lora, backward);
            return ((LlamaModel) model).causalLmLoss(batch, lora, backward);
        }

        @Override
        public void close() {
            lora.close();
            if (head != null) head.close();
            model.close();
        }
    }

    private Setup setup(Path folder, TinySpec spec, Kernels k, ClassificationHead.Pooling pooling, float dropout)
            throws IOException {
        TransformerModel model;
        try (HfFolder f = HfFolder.open(folder)) {
            model = spec.arch() == TinySpec.Arch.BERT
                    ? BertModel.create(BertConfig.fromJson(f.config(), folder.toString()), f.tensors(), k)
                    : LlamaModel.load(f, k);
        }
        List<Lora.Module> modules = new ArrayList<>();
        for (LinearModule m : model.linears()) {
            modules.add(new Lora.Module(m.path(), m.inFeatures(), m.outFeatures(), 2, 0.75f));
        }
        Lora lora = new Lora(k, modules, dropout, 11);
        lora.step(5);
        Random rnd = new Random(spec.seed() + 1);
        for (var s : lora.params().specs()) {
            float[] v = new float[(int) s.length()];
            for (int i = 0; i < v.length; i++) v[i] = (float) (0.3 * rnd.nextGaussian());
            lora.params().write(s.name(), v);
        }
        int B = 3, T = 6;
        int[] ids = new int[B * T], mask = new int[B * T];
        Random data = new Random(99);
        int[] lengths = {T, 4, 1};
        for (int b = 0; b < B; b++) {
            for (int t = 0; t < T; t++) {
                boolean real = t < lengths[b];
                ids[b * T + t] = real ? 5 + data.nextInt(spec.vocabSize() - 5) : 0;
                mask[b * T + t] = real ? 1 : 0;
            }
        }
        Batch batch = Batch.of(B, T, ids, mask);
        ClassificationHead head = pooling == null ? null
                : new ClassificationHead(k, model.hiddenSize(), 3, pooling, 17);
        return new Setup(model, lora, head, batch, new int[] {2, 0, 1});
    }

    private void check(TinySpec spec, ClassificationHead.Pooling pooling, float dropout) throws IOException {
        Path folder = dir.resolve("model");
        TinyModels.write(folder, spec);
        Kernels ref = reference();
        Kernels tested = kernels();
        try (Setup r = setup(folder, spec, ref, pooling, dropout); Setup t = setup(folder, spec, tested, pooling, dropout)) {
            double refLoss = r.loss(true);
            double[] refGrad = download(ref, r.lora.grads().buffer(), r.lora.grads().size());
            String what = spec.arch() + (pooling != null ? " " + pooling : "") + " kv=" + spec.kvHeads()
                    + (spec.qwen2Biases() ? " qwen2" : "") + (spec.llama3RopeScaling() ? " rope-scaling" : "")
                    + " dropout=" + dropout;
            finiteDifferences(what, r, ref, refGrad);

            double loss = t.loss(true);
            double[] grad = download(tested, t.lora.grads().buffer(), t.lora.grads().size());
            Compare.assertClose(what + ": loss on " + tested.name(), refLoss, loss, gradientTolerance());
            Compare.assertClose(what + ": LoRA gradients on " + tested.name(), refGrad, grad, gradientTolerance());
            if (r.head != null) {
                Compare.assertClose(what + ": head gradients on " + tested.name(),
                        download(ref, r.head.grads().buffer(), r.head.grads().size()),
                        download(tested, t.head.grads().buffer(), t.head.grads().size()), gradientTolerance());
            }
        }
    }

    /**
     * Central differences of the reference loss: single parameters spread over the block, and random directions.
     * The loss is evaluated in training mode (the same dropout masks as the gradients), so each evaluation also runs
     * a backward pass whose gradients are not used.
     */
    private static void finiteDifferences(String what, Setup r, Kernels ref, double[] grad) {
        Buffer params = r.lora.params().buffer();
        int n = grad.length;
        double[] p = download(ref, params, n);
        double gradNorm = 0;
        for (double g : grad) gradNorm = Math.max(gradNorm, Math.abs(g));
        assertTrue(gradNorm > 1e-6, what + ": the reference gradients are all ~0, the check would prove nothing");
        Random rnd = new Random(123);
        int singles = Math.min(n, 48);
        double[] expected = new double[singles + 3], actual = new double[singles + 3];
        for (int s = 0; s < singles; s++) {
            int i = (int) ((long) s * n / singles) + rnd.nextInt(Math.max(1, n / singles));
            i = Math.min(i, n - 1);
            double h = 1e-6 * Math.max(1, Math.abs(p[i]));
            ref.upload(params, i, new double[] {p[i] + h});
            double up = r.loss(true);
            ref.upload(params, i, new double[] {p[i] - h});
            double down = r.loss(true);
            ref.upload(params, i, new double[] {p[i]});
            expected[s] = (up - down) / (2 * h);
            actual[s] = grad[i];
        }
        for (int d = 0; d < 3; d++) {
            double[] dir = new double[n];
            double dot = 0;
            for (int i = 0; i < n; i++) {
                dir[i] = rnd.nextGaussian();
                dot += dir[i] * grad[i];
            }
            double h = 1e-6;
            double[] moved = new double[n];
            for (int i = 0; i < n; i++) moved[i] = p[i] + h * dir[i];
            ref.upload(params, 0, moved);
            double up = r.loss(true);
            for (int i = 0; i < n; i++) moved[i] = p[i] - h * dir[i];
            ref.upload(params, 0, moved);
            double down = r.loss(true);
            ref.upload(params, 0, p);
            expected[singles + d] = (up - down) / (2 * h);
            actual[singles + d] = dot;
        }
        Compare.assertClose(what + ": single LoRA parameters, reference", "finite differences",
                java.util.Arrays.copyOf(expected, singles), "back-propagation", java.util.Arrays.copyOf(actual, singles),
                FD_TOLERANCE);
        Compare.assertClose(what + ": random directions, reference", "finite differences",
                java.util.Arrays.copyOfRange(expected, singles, singles + 3), "back-propagation",
                java.util.Arrays.copyOfRange(actual, singles, singles + 3), FD_TOLERANCE);
    }

    private static double[] download(Kernels k, Buffer b, long n) {
        double[] out = new double[Math.toIntExact(n)];
        k.download(b, 0, out);
        return out;
    }
}
