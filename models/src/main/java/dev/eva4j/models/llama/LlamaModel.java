package dev.eva4j.models.llama;

import dev.eva4j.spi.InvalidInputException;

import dev.eva4j.models.Batch;
import dev.eva4j.models.LinearModule;
import dev.eva4j.models.TransformerModel;
import dev.eva4j.models.hf.HfFolder;
import dev.eva4j.models.nn.Linears;
import dev.eva4j.models.nn.Lora;
import dev.eva4j.models.nn.TrainingPass;
import dev.eva4j.models.nn.Workspace;
import dev.eva4j.models.ops.Rope;
import dev.eva4j.spi.Buffer;
import dev.eva4j.spi.Kernels;
import java.util.HashMap;
import java.util.Map;
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
 * computes it, through a backend's {@link Kernels} (float32 on production backends, float64 on the reference). Per layer (B batch, T time, C hidden, N = B*T):
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
    private final Kernels k;
    private final Buffer invFreq;
    private Pass inference;
    private Pass training;
    private final List<LinearModule> linears;
    private final List<List<String>> groups;

    /** A model over {@code weights} (now owned by the model: {@link #close} frees them). */
    public LlamaModel(LlamaConfig config, LlamaWeights weights) {
        this.config = Objects.requireNonNull(config, "config");
        this.weights = Objects.requireNonNull(weights, "weights");
        this.k = weights.block().kernels();
        float[] inv = Rope.inverseFrequencies(config.headDim(), config.ropeTheta(), config.ropeScaling());
        this.invFreq = k.allocateFloats(inv.length);
        k.upload(invFreq, 0, inv);
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
        return load(folder, backend.kernels());
    }

    /** As {@link #load(HfFolder, ComputeBackend)} on the given kernels (e.g. the float64 reference). */
    public static LlamaModel load(HfFolder folder, Kernels kernels) {
        LlamaConfig config;
        try {
            config = LlamaConfig.parse(folder.config());
        } catch (IllegalArgumentException e) {
            throw new InvalidInputException(folder.path() + ": config.json: " + e.getMessage(), e);
        }
        return new LlamaModel(config, LlamaWeights.load(config, folder.tensors(), kernels));
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
    public java.util.Set<dev.eva4j.spi.ModelCapability> capabilities() {
        return java.util.EnumSet.allOf(dev.eva4j.spi.ModelCapability.class);
    }

    @Override
    public dev.eva4j.models.nn.ParameterBlock parameters() {
        return weights.block();
    }

    @Override
    public Kernels kernels() {
        return k;
    }

    @Override
    public synchronized MemorySegment forward(Batch batch, Arena arena, Set<String> hooked, ActivationHook hook) {
        if (!hooked.isEmpty()) Objects.requireNonNull(hook, "hook (modules are hooked)");
        return run(batch, null, arena, hooked, hook);
    }

    @Override
    public synchronized void collect(Batch batch, Set<String> hooked, ActivationHook hook) {
        int wanted = 0;
        for (LinearModule l : linears) if (hooked.contains(l.path())) wanted++;
        if (wanted == 0) return;
        Objects.requireNonNull(hook, "hook");
        inference = reuse(inference, batch, null, false);
        inference.forward(batch, hooked, hook, wanted);
    }

    @Override
    public synchronized MemorySegment forward(Batch batch, Lora lora, Arena arena) {
        return run(batch, lora, arena, Set.of(), null);
    }

    @Override
    public synchronized Buffer hidden(Batch batch, Lora lora) {
        return infer(batch, lora, Set.of(), null);
    }

    /** An inference pass in the reused workspace; its last hidden state (valid until the next one). */
    private Buffer infer(Batch batch, Lora lora, Set<String> hooked, ActivationHook hook) {
        inference = reuse(inference, batch, lora, false);
        inference.forward(batch, hooked, hook);
        return inference.hidden();
    }

    private MemorySegment run(Batch batch, Lora lora, Arena arena, Set<String> hooked, ActivationHook hook) {
        Buffer hidden = infer(batch, lora, hooked, hook);
        MemorySegment out = arena.allocate((long) batch.tokens() * config.hiddenSize() * Float.BYTES, 64);
        k.downloadFloats(hidden, 0, out);
        return out;
    }

    @Override
    public synchronized TrainingPass train(Batch batch, Lora lora) {
        training = reuse(training, batch, lora, true);
        training.forward(batch, Set.of(), null);
        return training;
    }

    private boolean closed;

    private Pass reuse(Pass pass, Batch batch, Lora lora, boolean train) {
        if (closed) throw new IllegalStateException(this + " is closed");
        batch.requireIdsBelow(config.vocabSize(), train, IGNORE_INDEX); // labels are next-token targets in training
        if (pass != null && pass.B == batch.batchSize() && pass.T == batch.seqLen() && pass.lora == lora) return pass;
        if (pass != null) pass.close();
        return new Pass(batch.batchSize(), batch.seqLen(), lora, train);
    }

    /**
     * Next-token targets [B*T] as Hugging Face's causal-LM loss reads them: target[b, t] = labels[b, t + 1], -100 for
     * the last position; labels are the batch's labels, or else its input ids with -100 at padding.
     */
    public static int[] nextTokenTargets(Batch batch) {
        int B = batch.batchSize(), T = batch.seqLen();
        int[] labels = batch.labels();
        int[] out = new int[B * T];
        for (int b = 0; b < B; b++) {
            for (int t = 0; t < T; t++) {
                int i = b * T + t;
                if (t == T - 1) {
                    out[i] = IGNORE_INDEX;
                } else if (labels != null) {
                    out[i] = labels[i + 1];
                } else {
                    out[i] = batch.attentionMask()[i + 1] != 0 ? batch.inputIds()[i + 1] : IGNORE_INDEX;
                }
            }
        }
        return out;
    }

    /** The label value that is not predicted (padding, prompt tokens). */
    public static final int IGNORE_INDEX = -100;

    /**
     * The causal-LM loss of a batch: the mean over counted next-token predictions of the cross-entropy of the logits
     * (hidden lm_head^T), as Hugging Face computes it; with {@code backward} (training mode, LoRA dropout on), also
     * adds its gradient into the LoRA gradients; without, an evaluation in inference mode. Returns 0 when no
     * position counts.
     */
    public synchronized double causalLmLoss(Batch batch, Lora lora, boolean backward) {
        return causalLmLoss(batch, lora, backward, 1f);
    }

    /**
     * As {@link #causalLmLoss(Batch, Lora, boolean)}, the gradient scaled by {@code gradScale} (1 / the number of
     * micro-batches of an accumulated step).
     */
    public synchronized double causalLmLoss(Batch batch, Lora lora, boolean backward, float gradScale) {
        TrainingPass pass = backward ? train(batch, lora) : null;
        Buffer hiddenState = backward ? pass.hidden() : hidden(batch, lora);
        Pass p = backward ? training : inference;
        int N = batch.tokens(), V = config.vocabSize(), C = config.hiddenSize();
        if (p.logits == null) {
            p.logits = p.ws.floats((long) N * V);
            p.probs = p.ws.floats((long) N * V);
            p.targets = p.ws.ints(N);
        }
        k.upload(p.targets, 0, nextTokenTargets(batch));
        k.matmulForward(p.logits, hiddenState, weights.lmHead(), null, N, C, V);
        double loss = k.crossEntropyForward(p.probs, p.logits, p.targets, N, V, IGNORE_INDEX);
        lastLossPass = p;
        lastLossTokens = N;
        if (backward) {
            if (p.dHidden == null) p.dHidden = p.ws.floats((long) N * C);
            Buffer dLogits = p.logits;   // the logits are not needed any more: reuse their memory
            k.fill(dLogits, 0, (long) N * V);
            k.crossEntropyBackward(dLogits, p.probs, p.targets, N, V, IGNORE_INDEX, gradScale);
            k.fill(p.dHidden, 0, (long) N * C);
            k.matmulBackward(p.dHidden, null, null, dLogits, pass.hidden(), weights.lmHead(), N, C, V);
            pass.backward(p.dHidden);
        }
        return loss;
    }

    private Pass lastLossPass;
    private int lastLossTokens;

    /**
     * The most probable next token [B*T] of every position of the last {@link #causalLmLoss} call (its
     * probabilities downloaded to the host, row by row).
     */
    public synchronized int[] lastPredictions() {
        if (lastLossPass == null || lastLossPass.probs == null) throw new IllegalStateException("no loss computed yet");
        int N = lastLossTokens, V = config.vocabSize();
        int[] out = new int[N];
        float[] row = new float[V];
        for (int n = 0; n < N; n++) {
            k.download(lastLossPass.probs.slice((long) n * V, V), 0, row);
            int best = 0;
            for (int v = 1; v < V; v++) if (row[v] > row[best]) best = v;
            out[n] = best;
        }
        return out;
    }

    /** One layer's activations; in inference the fields alias a few shared buffers. */
    private static final class Acts {
        Buffer x, h, rstdA, q, k, v, att, a, mid, h2, rstdB, gate, up, m, out;
        final Map<String, Buffer> xa = new HashMap<>();
    }

    private static String[] paths(int layer) {
        String p = "model.layers." + layer + ".";
        return new String[] {p + "self_attn.q_proj", p + "self_attn.k_proj", p + "self_attn.v_proj",
                p + "self_attn.o_proj", p + "mlp.gate_proj", p + "mlp.up_proj", p + "mlp.down_proj"};
    }

    /** Activations of one (B, T) shape: a set per layer in training, one shared set in inference. */
    private final class Pass implements TrainingPass, AutoCloseable {
        final int B, T, N;
        final Lora lora;
        final boolean train;
        final Workspace ws = new Workspace(k);
        final Arena host = Arena.ofShared();
        final MemorySegment tokenMask;
        final Buffer ids, positions, mask, hidden, rstdF;
        final Acts[] acts;
        Buffer logits, probs, targets, dHidden;
        Buffer dX, dMid, dM, dGate, dUp, dH2, dA, dQr, dKr, dV, dQ, dK, dH;

        Pass(int B, int T, Lora lora, boolean train) {
            this.B = B;
            this.T = T;
            this.N = B * T;
            this.lora = lora;
            this.train = train;
            int C = config.hiddenSize(), Q = config.qDim(), KV = config.kvDim(), I = config.intermediateSize();
            int NH = config.numHeads(), L = config.numLayers();
            long n = N;
            try {
                tokenMask = host.allocate(N);
                ids = ws.ints(N);
                positions = ws.ints(N);
                mask = ws.ints(N);
                acts = new Acts[L];
                if (train) {
                    Buffer x = ws.floats(n * C);
                    for (int l = 0; l < L; l++) {
                        Acts a = new Acts();
                        a.x = x;
                        a.h = ws.floats(n * C);
                        a.rstdA = ws.floats(n);
                        a.q = ws.floats(n * Q);
                        a.k = ws.floats(n * KV);
                        a.v = ws.floats(n * KV);
                        a.att = ws.floats((long) B * NH * T * T);
                        a.a = ws.floats(n * Q);
                        a.mid = ws.floats(n * C);
                        a.h2 = ws.floats(n * C);
                        a.rstdB = ws.floats(n);
                        a.gate = ws.floats(n * I);
                        a.up = ws.floats(n * I);
                        a.m = ws.floats(n * I);
                        a.out = ws.floats(n * C);
                        if (lora != null) {
                            for (String p : paths(l)) {
                                Lora.Module m = lora.module(p);
                                if (m != null) a.xa.put(p, ws.floats(n * m.rank()));
                            }
                        }
                        acts[l] = a;
                        x = a.out;
                    }
                    hidden = ws.floats(n * C);
                    rstdF = ws.floats(n);
                } else {
                    Acts a = new Acts();
                    a.x = a.mid = a.out = ws.floats(n * C);
                    a.h = a.h2 = ws.floats(n * C);
                    a.q = ws.floats(n * Q);
                    a.k = ws.floats(n * KV);
                    a.v = ws.floats(n * KV);
                    a.a = ws.floats(n * Q);
                    a.gate = a.m = ws.floats(n * I);
                    a.up = ws.floats(n * I);
                    proj = ws.floats(n * C);
                    if (lora != null) {
                        Buffer xa = ws.floats(n * lora.maxRank());
                        for (Lora.Module m : lora.modules()) a.xa.put(m.path(), xa);
                    }
                    java.util.Arrays.fill(acts, a);
                    hidden = ws.floats(n * C);
                    rstdF = null;
                }
            } catch (RuntimeException | Error e) {
                close();
                throw e;
            }
        }

        /** Inference only: the output of o_proj / down_proj before the residual add. */
        Buffer proj;

        @Override
        public Buffer hidden() {
            return hidden;
        }

        void forward(Batch batch, Set<String> hooked, ActivationHook hook) {
            forward(batch, hooked, hook, -1);
        }

        /** Stops once {@code stopAfter} (> 0) hooked paths have been reported; -1: the whole model. */
        private int pending;

        void forward(Batch batch, Set<String> hooked, ActivationHook hook, int stopAfter) {
            pending = stopAfter;
            int C = config.hiddenSize(), Q = config.qDim(), KV = config.kvDim(), I = config.intermediateSize();
            int NH = config.numHeads(), NKV = config.numKvHeads(), HS = config.headDim();
            float eps = (float) config.rmsNormEps();
            long nc = (long) N * C;
            MemorySegment.copy(batch.tokenMask(), 0, tokenMask, ValueLayout.JAVA_BYTE, 0, N);
            k.upload(ids, 0, batch.inputIds());
            k.upload(positions, 0, positions(batch));
            k.upload(mask, 0, batch.attentionMask());
            k.embeddingForward(acts[0].x, ids, weights.embed(), N, config.vocabSize(), C, false);
            for (int l = 0; l < config.numLayers(); l++) {
                LlamaWeights.Layer w = weights.layers().get(l);
                Acts a = acts[l];
                String[] p = paths(l);
                k.rmsNormForward(a.h, a.rstdA, a.x, w.inputNorm(), N, C, eps);
                if (report(hooked, hook, p[0], a.h, C)) return;
                if (report(hooked, hook, p[1], a.h, C)) return;
                if (report(hooked, hook, p[2], a.h, C)) return;
                Linears.forward(k, lora, train, p[0], a.q, a.xa.get(p[0]), a.h, w.q(), w.qBias(), N, C, Q);
                Linears.forward(k, lora, train, p[1], a.k, a.xa.get(p[1]), a.h, w.k(), w.kBias(), N, C, KV);
                Linears.forward(k, lora, train, p[2], a.v, a.xa.get(p[2]), a.h, w.v(), w.vBias(), N, C, KV);
                k.ropeForward(a.q, a.q, positions, invFreq, N, NH, HS);
                k.ropeForward(a.k, a.k, positions, invFreq, N, NKV, HS);
                k.attentionForward(a.a, a.att, a.q, a.k, a.v, mask, B, T, NH, NKV, HS, true);
                if (report(hooked, hook, p[3], a.a, Q)) return;
                if (train) {
                    Linears.forward(k, lora, train, p[3], a.mid, a.xa.get(p[3]), a.a, w.o(), w.oBias(), N, Q, C);
                    k.residualForward(a.mid, a.x, a.mid, nc);
                } else {
                    Linears.forward(k, lora, train, p[3], proj, a.xa.get(p[3]), a.a, w.o(), w.oBias(), N, Q, C);
                    k.residualForward(a.mid, a.x, proj, nc);
                }
                k.rmsNormForward(a.h2, a.rstdB, a.mid, w.postNorm(), N, C, eps);
                if (report(hooked, hook, p[4], a.h2, C)) return;
                if (report(hooked, hook, p[5], a.h2, C)) return;
                Linears.forward(k, lora, train, p[4], a.gate, a.xa.get(p[4]), a.h2, w.gate(), null, N, C, I);
                Linears.forward(k, lora, train, p[5], a.up, a.xa.get(p[5]), a.h2, w.up(), null, N, C, I);
                k.swigluForward(a.m, a.gate, a.up, (long) N * I);
                if (report(hooked, hook, p[6], a.m, I)) return;
                if (train) {
                    Linears.forward(k, lora, train, p[6], a.out, a.xa.get(p[6]), a.m, w.down(), null, N, I, C);
                    k.residualForward(a.out, a.mid, a.out, nc);
                } else {
                    Linears.forward(k, lora, train, p[6], proj, a.xa.get(p[6]), a.m, w.down(), null, N, I, C);
                    k.residualForward(a.out, a.mid, proj, nc);
                }
            }
            k.rmsNormForward(hidden, rstdF, acts[config.numLayers() - 1].out, weights.finalNorm(), N, C, eps);
        }

        /** Reports {@code x} when {@code path} is hooked; true when the pass may stop (every wanted path reported). */
        private boolean report(Set<String> hooked, ActivationHook hook, String path, Buffer x, int in) {
            if (!hooked.contains(path)) return false;
            hook.onInput(path, x, N, in, tokenMask);
            return pending > 0 && --pending == 0;
        }

        @Override
        public void backward(Buffer dHidden) {
            if (!train) throw new IllegalStateException("backward needs a training pass");
            int C = config.hiddenSize(), Q = config.qDim(), KV = config.kvDim(), I = config.intermediateSize();
            int NH = config.numHeads(), NKV = config.numKvHeads(), HS = config.headDim();
            long n = N, nc = n * C, ni = n * I, nq = n * Q, nkv = n * KV;
            if (dX == null) {
                dX = ws.floats(nc);
                dMid = ws.floats(nc);
                dM = ws.floats(ni);
                dGate = ws.floats(ni);
                dUp = ws.floats(ni);
                dH2 = ws.floats(nc);
                dA = ws.floats(nq);
                dQr = ws.floats(nq);
                dKr = ws.floats(nkv);
                dV = ws.floats(nkv);
                dQ = ws.floats(nq);
                dK = ws.floats(nkv);
                dH = ws.floats(nc);
            }
            int L = config.numLayers();
            k.fill(dX, 0, nc);
            k.rmsNormBackward(dX, null, dHidden, acts[L - 1].out, weights.finalNorm(), rstdF, N, C);
            for (int l = L - 1; l >= 0; l--) {
                LlamaWeights.Layer w = weights.layers().get(l);
                Acts a = acts[l];
                String[] p = paths(l);
                // out = mid + down(m): dX is d(out)
                k.copy(dMid, dX, nc);
                k.fill(dM, 0, ni);
                Linears.backward(k, lora, p[6], dM, dX, a.xa.get(p[6]), a.m, w.down(), N, I, C);
                k.fill(dGate, 0, ni);
                k.fill(dUp, 0, ni);
                k.swigluBackward(dGate, dUp, dM, a.gate, a.up, ni);
                k.fill(dH2, 0, nc);
                Linears.backward(k, lora, p[4], dH2, dGate, a.xa.get(p[4]), a.h2, w.gate(), N, C, I);
                Linears.backward(k, lora, p[5], dH2, dUp, a.xa.get(p[5]), a.h2, w.up(), N, C, I);
                k.rmsNormBackward(dMid, null, dH2, a.mid, w.postNorm(), a.rstdB, N, C);
                // mid = x + o(a): dMid is d(mid)
                k.copy(dX, dMid, nc);
                k.fill(dA, 0, nq);
                Linears.backward(k, lora, p[3], dA, dMid, a.xa.get(p[3]), a.a, w.o(), N, Q, C);
                k.fill(dQr, 0, nq);
                k.fill(dKr, 0, nkv);
                k.fill(dV, 0, nkv);
                k.attentionBackward(dQr, dKr, dV, dA, a.q, a.k, a.v, a.att, B, T, NH, NKV, HS);
                k.fill(dQ, 0, nq);
                k.fill(dK, 0, nkv);
                k.ropeBackward(dQ, dQr, positions, invFreq, N, NH, HS);
                k.ropeBackward(dK, dKr, positions, invFreq, N, NKV, HS);
                boolean inputGrad = l > 0;
                if (inputGrad) k.fill(dH, 0, nc);
                Buffer dIn = inputGrad ? dH : null;
                Linears.backward(k, lora, p[0], dIn, dQ, a.xa.get(p[0]), a.h, w.q(), N, C, Q);
                Linears.backward(k, lora, p[1], dIn, dK, a.xa.get(p[1]), a.h, w.k(), N, C, KV);
                Linears.backward(k, lora, p[2], dIn, dV, a.xa.get(p[2]), a.h, w.v(), N, C, KV);
                if (inputGrad) k.rmsNormBackward(dX, null, dH, a.x, w.inputNorm(), a.rstdA, N, C);
            }
        }

        @Override
        public void close() {
            ws.close();
            if (host.scope().isAlive()) host.close();
        }
    }

    /** Logits [B, T, V] of a batch as host float32 from {@code arena}: the forward pass, then the output projection. */
    public synchronized MemorySegment logits(Batch batch, Arena arena) {
        Buffer hidden = infer(batch, null, Set.of(), null);
        int N = batch.tokens(), V = config.vocabSize();
        try (Buffer logits = k.allocateFloats((long) N * V)) {
            k.matmulForward(logits, hidden, weights.lmHead(), null, N, config.hiddenSize(), V);
            MemorySegment out = arena.allocate((long) N * V * Float.BYTES, 64);
            k.downloadFloats(logits, 0, out);
            return out;
        }
    }

    /** Frees the weights and activations. */
    @Override
    public synchronized void close() {
        if (inference != null) inference.close();
        if (training != null) training.close();
        inference = training = null;
        closed = true;
        weights.close();
        invFreq.close();
    }

    @Override
    public String toString() {
        return "LlamaModel[" + config.modelType() + ", " + config.numLayers() + " layers, C=" + config.hiddenSize()
                + ", heads=" + config.numHeads() + "/" + config.numKvHeads() + ", V=" + config.vocabSize() + "]";
    }
}
