package dev.eva4j.models.llama;

import dev.eva4j.models.Batch;
import dev.eva4j.models.LinearModule;
import dev.eva4j.models.TransformerModel;
import dev.eva4j.models.hf.HfFolder;
import dev.eva4j.models.ops.Activations;
import dev.eva4j.models.ops.Attention;
import dev.eva4j.models.ops.Embedding;
import dev.eva4j.models.ops.Floats;
import dev.eva4j.models.ops.Linear;
import dev.eva4j.models.ops.Norms;
import dev.eva4j.models.ops.Rope;
import dev.eva4j.spi.ActivationHook;
import dev.eva4j.spi.ComputeBackend;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * A Llama-family decoder (Llama 2/3, Mistral, Qwen2, SmolLM, TinyLlama) as Hugging Face's {@code LlamaModel}
 * computes it, in float32 on a {@link ComputeBackend}. Per layer (B batch, T time, C hidden, N = B*T):
 * <pre>
 *   h = rmsnorm(x)                        hooks: q_proj, k_proj, v_proj (one input)
 *   q, k, v = h Wq^T (+bq), h Wk^T, h Wv^T; RoPE on q and k
 *   a = causal attention(q, k, v)         hook: o_proj
 *   x = x + a Wo^T
 *   h = rmsnorm(x)                        hooks: gate_proj, up_proj (one input)
 *   m = silu(h Wg^T) * (h Wu^T)           hook: down_proj
 *   x = x + m Wd^T
 * </pre>
 * then a final RMSNorm. Padding: a padded position is never attended to, and RoPE positions count the real tokens
 * of each sequence from its first one ({@code position_ids = cumsum(attention_mask) - 1}, as Hugging Face's
 * {@code generate} does), so left and right padding leave the real tokens' outputs unchanged.
 */
public final class LlamaModel implements TransformerModel {
    private final LlamaConfig config;
    private final LlamaWeights weights;
    private final ComputeBackend backend;
    private final float[] invFreq;
    private final List<LinearModule> linears;
    private final List<List<String>> groups;

    /** A model over {@code weights} (now owned by the model: {@link #close} frees them). */
    public LlamaModel(LlamaConfig config, LlamaWeights weights, ComputeBackend backend) {
        this.config = Objects.requireNonNull(config, "config");
        this.weights = Objects.requireNonNull(weights, "weights");
        this.backend = Objects.requireNonNull(backend, "backend");
        this.invFreq = Rope.inverseFrequencies(config.headDim(), config.ropeTheta(), config.ropeScaling());
        var lin = new ArrayList<LinearModule>();
        var grp = new ArrayList<List<String>>();
        int c = config.hiddenSize(), q = config.qDim(), kv = config.kvDim(), in = config.intermediateSize();
        for (int i = 0; i < config.numLayers(); i++) {
            String p = "model.layers." + i + ".";
            lin.add(new LinearModule(p + "self_attn.q_proj", c, q));
            lin.add(new LinearModule(p + "self_attn.k_proj", c, kv));
            lin.add(new LinearModule(p + "self_attn.v_proj", c, kv));
            lin.add(new LinearModule(p + "self_attn.o_proj", q, c));
            lin.add(new LinearModule(p + "mlp.gate_proj", c, in));
            lin.add(new LinearModule(p + "mlp.up_proj", c, in));
            lin.add(new LinearModule(p + "mlp.down_proj", in, c));
            grp.add(List.of(p + "self_attn.q_proj", p + "self_attn.k_proj", p + "self_attn.v_proj"));
            grp.add(List.of(p + "mlp.gate_proj", p + "mlp.up_proj"));
        }
        this.linears = List.copyOf(lin);
        this.groups = List.copyOf(grp);
    }

    /**
     * Loads a Hugging Face model folder: {@code config.json} and {@code model.safetensors} (or the shards of
     * {@code model.safetensors.index.json}); weights are widened to float32 in native memory owned by the model.
     *
     * @throws IllegalArgumentException one line for a missing or invalid config.json, a missing tensor, or a
     *                                  tensor whose shape disagrees with the config
     */
    public static LlamaModel load(Path dir, ComputeBackend backend) throws IOException {
        try (HfFolder folder = HfFolder.open(dir)) {
            return load(folder, backend);
        }
    }

    /** Builds the model from an open folder (the {@code hf} loader's factory for llama, mistral and qwen2). */
    public static LlamaModel load(HfFolder folder, ComputeBackend backend) {
        LlamaConfig config;
        try {
            config = LlamaConfig.parse(folder.config());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(folder.path() + ": config.json: " + e.getMessage(), e);
        }
        return new LlamaModel(config, LlamaWeights.load(config, folder.tensors()), backend);
    }

    public LlamaConfig config() {
        return config;
    }

    public LlamaWeights weights() {
        return weights;
    }

    @Override
    public String modelType() {
        return config.modelType();
    }

    @Override
    public int hiddenSize() {
        return config.hiddenSize();
    }

    /** Vocabulary size V. */
    public int vocabSize() {
        return config.vocabSize();
    }

    @Override
    public List<LinearModule> linears() {
        return linears;
    }

    @Override
    public List<List<String>> equalInputGroups() {
        return groups;
    }

    /**
     * RoPE positions [B, T]: for each sequence, 0, 1, 2, ... over its real tokens (attention mask non-zero), counted
     * from its first real token; padded positions get 0 (they are never attended to).
     */
    public static int[] positions(Batch batch) {
        int B = batch.batchSize(), T = batch.seqLen();
        int[] mask = batch.attentionMask();
        int[] pos = new int[B * T];
        for (int b = 0; b < B; b++) {
            int next = 0;
            for (int t = 0; t < T; t++) {
                pos[b * T + t] = mask[b * T + t] != 0 ? next++ : 0;
            }
        }
        return pos;
    }

    @Override
    public MemorySegment forward(Batch batch, Arena arena, Set<String> hooked, ActivationHook hook) {
        int B = batch.batchSize(), T = batch.seqLen(), N = batch.tokens();
        int C = config.hiddenSize(), Q = config.qDim(), KV = config.kvDim(), I = config.intermediateSize();
        int NH = config.numHeads(), NKV = config.numKvHeads(), HS = config.headDim();
        float eps = (float) config.rmsNormEps();
        if (!hooked.isEmpty()) Objects.requireNonNull(hook, "hook (modules are hooked)");
        int[] pos = positions(batch);
        int[] attentionMask = batch.attentionMask();
        MemorySegment out = Floats.allocate(arena, (long) N * C);
        try (Arena scratch = Arena.ofShared()) {
            MemorySegment x = Floats.allocate(scratch, (long) N * C);   // the residual stream [N, C]
            MemorySegment h = Floats.allocate(scratch, (long) N * C);   // normalised input of a block [N, C]
            MemorySegment q = Floats.allocate(scratch, (long) N * Q);   // [B, T, NH, HS]
            MemorySegment k = Floats.allocate(scratch, (long) N * KV);  // [B, T, NKV, HS]
            MemorySegment v = Floats.allocate(scratch, (long) N * KV);  // [B, T, NKV, HS]
            MemorySegment att = Floats.allocate(scratch, (long) N * Q); // attention output [N, Q]
            MemorySegment proj = Floats.allocate(scratch, (long) N * C);
            MemorySegment gate = Floats.allocate(scratch, (long) N * I);
            MemorySegment up = Floats.allocate(scratch, (long) N * I);
            MemorySegment tokenMask = scratch.allocate(N);
            MemorySegment.copy(batch.tokenMask(), 0, tokenMask, ValueLayout.JAVA_BYTE, 0, N);
            Embedding.gather(x, batch.inputIds(), weights.embed(), config.vocabSize(), C);
            for (int l = 0; l < config.numLayers(); l++) {
                LlamaWeights.Layer w = weights.layers().get(l);
                String p = "model.layers." + l + ".";
                Norms.rmsNorm(h, x, w.inputNorm(), N, C, eps);
                report(hooked, hook, p + "self_attn.q_proj", h, N, C, tokenMask);
                report(hooked, hook, p + "self_attn.k_proj", h, N, C, tokenMask);
                report(hooked, hook, p + "self_attn.v_proj", h, N, C, tokenMask);
                Linear.forward(backend, q, h, w.q(), w.qBias(), N, C, Q);
                Linear.forward(backend, k, h, w.k(), w.kBias(), N, C, KV);
                Linear.forward(backend, v, h, w.v(), w.vBias(), N, C, KV);
                Rope.apply(q, B, T, NH, HS, pos, invFreq);
                Rope.apply(k, B, T, NKV, HS, pos, invFreq);
                Attention.forward(backend, att, q, k, v, attentionMask, B, T, NH, NKV, HS, true);
                report(hooked, hook, p + "self_attn.o_proj", att, N, Q, tokenMask);
                Linear.forward(backend, proj, att, w.o(), w.oBias(), N, Q, C);
                Activations.add(x, x, proj, (long) N * C);
                Norms.rmsNorm(h, x, w.postNorm(), N, C, eps);
                report(hooked, hook, p + "mlp.gate_proj", h, N, C, tokenMask);
                report(hooked, hook, p + "mlp.up_proj", h, N, C, tokenMask);
                Linear.forward(backend, gate, h, w.gate(), null, N, C, I);
                Linear.forward(backend, up, h, w.up(), null, N, C, I);
                Activations.siluMul(gate, gate, up, (long) N * I);
                report(hooked, hook, p + "mlp.down_proj", gate, N, I, tokenMask);
                Linear.forward(backend, proj, gate, w.down(), null, N, I, C);
                Activations.add(x, x, proj, (long) N * C);
            }
            Norms.rmsNorm(out, x, weights.finalNorm(), N, C, eps);
        }
        return out;
    }

    private static void report(Set<String> hooked, ActivationHook hook, String module, MemorySegment x, int tokens,
                               int dIn, MemorySegment tokenMask) {
        if (hooked.contains(module)) hook.onInput(module, x, tokens, dIn, tokenMask);
    }

    /** Logits [B, T, V] of a batch, allocated from {@code arena}: the forward pass, then the output projection. */
    public MemorySegment logits(Batch batch, Arena arena) {
        try (Arena scratch = Arena.ofShared()) {
            MemorySegment hidden = forward(batch, scratch, Set.of(), null);
            return logits(hidden, batch.tokens(), arena);
        }
    }

    /**
     * Logits [N, V] = hidden [N, C] lm_head^T (the embedding matrix when tied), allocated from {@code arena}.
     */
    public MemorySegment logits(MemorySegment hidden, int rows, Arena arena) {
        MemorySegment out = Floats.allocate(arena, (long) rows * config.vocabSize());
        Linear.forward(backend, out, hidden, weights.lmHead(), null, rows, config.hiddenSize(), config.vocabSize());
        return out;
    }

    /** Frees the weights. */
    @Override
    public void close() {
        weights.close();
    }

    @Override
    public String toString() {
        return "LlamaModel[" + config.modelType() + ", " + config.numLayers() + " layers, C=" + config.hiddenSize()
                + ", heads=" + config.numHeads() + "/" + config.numKvHeads() + ", V=" + config.vocabSize() + "]";
    }
}
