package dev.eva4j.models.bert;

import dev.eva4j.models.Batch;
import dev.eva4j.models.LinearModule;
import dev.eva4j.models.TransformerModel;
import dev.eva4j.models.hf.HfFolder;
import dev.eva4j.models.hf.TensorSource;
import dev.eva4j.models.ops.Activations;
import dev.eva4j.models.ops.Attention;
import dev.eva4j.models.ops.Embedding;
import dev.eva4j.models.ops.Floats;
import dev.eva4j.models.ops.Linear;
import dev.eva4j.models.ops.Norms;
import dev.eva4j.spi.ActivationHook;
import dev.eva4j.spi.ComputeBackend;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * A BERT encoder (Hugging Face's BertModel without the pooler): embeddings (word + position + token type 0),
 * LayerNorm, then per layer bidirectional self-attention with the padding mask, dense + residual + LayerNorm,
 * GELU MLP + residual + LayerNorm. Weights live in native memory owned by the model until {@link #close()}.
 * Thread-safe for concurrent {@link #forward} calls if the backend is.
 */
public final class BertModel implements TransformerModel {
    /** One encoder layer's weights (HF names under {@code encoder.layer.N.}); W [out, in], b [out]. */
    private record Layer(MemorySegment qW, MemorySegment qB, MemorySegment kW, MemorySegment kB, MemorySegment vW,
                         MemorySegment vB, MemorySegment oW, MemorySegment oB, MemorySegment ln1W, MemorySegment ln1B,
                         MemorySegment iW, MemorySegment iB, MemorySegment dW, MemorySegment dB, MemorySegment ln2W,
                         MemorySegment ln2B, String query, String key, String value, String attnOut,
                         String intermediate, String output) {}

    private final BertConfig config;
    private final ComputeBackend backend;
    private final Arena weights;
    private final MemorySegment wordEmb, posEmb, typeEmb, embLnW, embLnB;
    private final List<Layer> layers;
    private final List<LinearModule> linears;
    private final List<List<String>> groups;

    private BertModel(BertConfig config, ComputeBackend backend, Arena weights, MemorySegment wordEmb,
                      MemorySegment posEmb, MemorySegment typeEmb, MemorySegment embLnW, MemorySegment embLnB,
                      List<Layer> layers) {
        this.config = config;
        this.backend = backend;
        this.weights = weights;
        this.wordEmb = wordEmb;
        this.posEmb = posEmb;
        this.typeEmb = typeEmb;
        this.embLnW = embLnW;
        this.embLnB = embLnB;
        this.layers = List.copyOf(layers);
        int C = config.hiddenSize(), I = config.intermediateSize();
        var lin = new ArrayList<LinearModule>();
        var grp = new ArrayList<List<String>>();
        for (Layer l : layers) {
            lin.add(new LinearModule(l.query(), C, C));
            lin.add(new LinearModule(l.key(), C, C));
            lin.add(new LinearModule(l.value(), C, C));
            lin.add(new LinearModule(l.attnOut(), C, C));
            lin.add(new LinearModule(l.intermediate(), C, I));
            lin.add(new LinearModule(l.output(), I, C));
            grp.add(List.of(l.query(), l.key(), l.value()));
        }
        this.linears = List.copyOf(lin);
        this.groups = List.copyOf(grp);
    }

    /** Reads config.json and the weights of a Hugging Face BERT folder. */
    public static BertModel load(HfFolder folder, ComputeBackend backend) {
        return create(BertConfig.fromJson(folder.config(), folder.path().toString()), folder.tensors(), backend);
    }

    /**
     * Copies the weights from {@code tensors} (Hugging Face names, optionally under {@code bert.}) into native memory.
     *
     * @throws IllegalArgumentException one line naming a missing tensor, or a tensor with its expected and actual shape
     */
    public static BertModel create(BertConfig config, TensorSource tensors, ComputeBackend backend) {
        Objects.requireNonNull(backend, "backend");
        String prefix;
        if (tensors.contains("embeddings.word_embeddings.weight")) prefix = "";
        else if (tensors.contains("bert.embeddings.word_embeddings.weight")) prefix = "bert.";
        else throw new IllegalArgumentException("weight embeddings.word_embeddings.weight (or bert.embeddings."
                + "word_embeddings.weight) is missing: not a BERT checkpoint?");
        int C = config.hiddenSize(), I = config.intermediateSize();
        Arena arena = Arena.ofShared();
        try {
            MemorySegment word = tensors.require(prefix + "embeddings.word_embeddings.weight", arena, config.vocabSize(), C);
            MemorySegment pos = tensors.require(prefix + "embeddings.position_embeddings.weight", arena,
                    config.maxPositions(), C);
            MemorySegment type = tensors.require(prefix + "embeddings.token_type_embeddings.weight", arena,
                    config.typeVocabSize(), C);
            MemorySegment lnW = tensors.require(prefix + "embeddings.LayerNorm.weight", arena, C);
            MemorySegment lnB = tensors.require(prefix + "embeddings.LayerNorm.bias", arena, C);
            var layers = new ArrayList<Layer>();
            for (int i = 0; i < config.numLayers(); i++) {
                String p = "encoder.layer." + i + ".";
                String w = prefix + p;
                layers.add(new Layer(
                        tensors.require(w + "attention.self.query.weight", arena, C, C),
                        tensors.require(w + "attention.self.query.bias", arena, C),
                        tensors.require(w + "attention.self.key.weight", arena, C, C),
                        tensors.require(w + "attention.self.key.bias", arena, C),
                        tensors.require(w + "attention.self.value.weight", arena, C, C),
                        tensors.require(w + "attention.self.value.bias", arena, C),
                        tensors.require(w + "attention.output.dense.weight", arena, C, C),
                        tensors.require(w + "attention.output.dense.bias", arena, C),
                        tensors.require(w + "attention.output.LayerNorm.weight", arena, C),
                        tensors.require(w + "attention.output.LayerNorm.bias", arena, C),
                        tensors.require(w + "intermediate.dense.weight", arena, I, C),
                        tensors.require(w + "intermediate.dense.bias", arena, I),
                        tensors.require(w + "output.dense.weight", arena, C, I),
                        tensors.require(w + "output.dense.bias", arena, C),
                        tensors.require(w + "output.LayerNorm.weight", arena, C),
                        tensors.require(w + "output.LayerNorm.bias", arena, C),
                        p + "attention.self.query", p + "attention.self.key", p + "attention.self.value",
                        p + "attention.output.dense", p + "intermediate.dense", p + "output.dense"));
            }
            return new BertModel(config, backend, arena, word, pos, type, lnW, lnB, layers);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    public BertConfig config() {
        return config;
    }

    public ComputeBackend backend() {
        return backend;
    }

    @Override
    public String modelType() {
        return "bert";
    }

    @Override
    public int hiddenSize() {
        return config.hiddenSize();
    }

    @Override
    public List<LinearModule> linears() {
        return linears;
    }

    @Override
    public List<List<String>> equalInputGroups() {
        return groups;
    }

    /** The last hidden state [B, T, C], without hooks. */
    public MemorySegment forward(Batch batch, Arena arena) {
        return forward(batch, arena, Set.of(), null);
    }

    /**
     * The last hidden state [B, T, C] (see {@link TransformerModel#forward}). Positions count from 0 in every
     * sequence (right padding); token_type_ids are all 0; padded keys get no attention weight, so a real token's
     * output does not depend on the padding or on the other sequences of the batch.
     */
    @Override
    public MemorySegment forward(Batch batch, Arena arena, Set<String> hooked, ActivationHook hook) {
        int B = batch.batchSize(), T = batch.seqLen(), N = B * T;
        int C = config.hiddenSize(), I = config.intermediateSize(), NH = config.numHeads(), HS = config.headSize();
        float eps = (float) config.layerNormEps();
        if (T > config.maxPositions()) {
            throw new IllegalArgumentException("sequence length " + T + " exceeds max_position_embeddings "
                    + config.maxPositions());
        }
        if (!hooked.isEmpty()) Objects.requireNonNull(hook, "hook");
        int[] mask = batch.attentionMask();
        try (Arena work = Arena.ofShared()) {
            MemorySegment tokenMask = work.allocate(N);
            MemorySegment.copy(batch.tokenMask(), 0, tokenMask, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, N);
            MemorySegment x = Floats.allocate(work, (long) N * C);   // residual stream [N, C]
            MemorySegment q = Floats.allocate(work, (long) N * C);
            MemorySegment k = Floats.allocate(work, (long) N * C);
            MemorySegment v = Floats.allocate(work, (long) N * C);
            MemorySegment ctx = Floats.allocate(work, (long) N * C);
            MemorySegment h = Floats.allocate(work, (long) N * C);
            MemorySegment inter = Floats.allocate(work, (long) N * I);

            Embedding.gather(x, batch.inputIds(), wordEmb, config.vocabSize(), C);
            Embedding.addPositions(x, B, T, C, posEmb, config.maxPositions(), 0);
            Embedding.addTokenTypes(x, N, C, null, typeEmb, config.typeVocabSize());
            Norms.layerNorm(x, x, embLnW, embLnB, N, C, eps);

            for (Layer l : layers) {
                report(hooked, hook, l.query(), x, N, C, tokenMask);
                report(hooked, hook, l.key(), x, N, C, tokenMask);
                report(hooked, hook, l.value(), x, N, C, tokenMask);
                Linear.forward(backend, q, x, l.qW(), l.qB(), N, C, C);
                Linear.forward(backend, k, x, l.kW(), l.kB(), N, C, C);
                Linear.forward(backend, v, x, l.vW(), l.vB(), N, C, C);
                Attention.forward(backend, ctx, q, k, v, mask, B, T, NH, NH, HS, false);

                report(hooked, hook, l.attnOut(), ctx, N, C, tokenMask);
                Linear.forward(backend, h, ctx, l.oW(), l.oB(), N, C, C);
                Activations.add(h, h, x, (long) N * C);
                Norms.layerNorm(x, h, l.ln1W(), l.ln1B(), N, C, eps);

                report(hooked, hook, l.intermediate(), x, N, C, tokenMask);
                Linear.forward(backend, inter, x, l.iW(), l.iB(), N, C, I);
                Activations.gelu(inter, inter, (long) N * I);

                report(hooked, hook, l.output(), inter, N, I, tokenMask);
                Linear.forward(backend, h, inter, l.dW(), l.dB(), N, I, C);
                Activations.add(h, h, x, (long) N * C);
                Norms.layerNorm(x, h, l.ln2W(), l.ln2B(), N, C, eps);
            }
            MemorySegment out = Floats.allocate(arena, (long) N * C);
            MemorySegment.copy(x, 0, out, 0, (long) N * C * Float.BYTES);
            return out;
        }
    }

    private static void report(Set<String> hooked, ActivationHook hook, String path, MemorySegment x, int N, int in,
                               MemorySegment tokenMask) {
        if (hooked.contains(path)) hook.onInput(path, Floats.head(x, (long) N * in), N, in, tokenMask);
    }

    @Override
    public void close() {
        if (weights.scope().isAlive()) weights.close();
    }

    @Override
    public String toString() {
        return "BertModel[" + config.numLayers() + " layers, C=" + config.hiddenSize() + ", " + config.numHeads()
                + " heads]";
    }
}
